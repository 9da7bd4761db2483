#!/bin/sh
# Installs the Debian 12 packages crib needs that are missing.
#   deps.sh [build|test]   build: to build and run cribd (default); test: also to test it
set -eu
what=${1:-build}
build="build-essential cmake pkg-config libuv1-dev libgrpc-dev protobuf-c-compiler
libprotobuf-c-dev libinih-dev libsqlite3-dev libjansson-dev uthash-dev libcurl4-openssl-dev
libssl-dev libarchive-dev zlib1g-dev libmicrohttpd-dev libwslay-dev libhttp-parser-dev runc
containernetworking-plugins docker.io lxc lxc-dev libmount-dev libvirt-dev libxml2-dev libseccomp-dev
libnl-route-3-dev libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-cloud-amd64 cpio"
test="libcmocka-dev clang libclang-rt-14-dev clang-format protobuf-compiler
protobuf-compiler-grpc python3-grpcio python3-protobuf python3-pytest golang-go
docker-registry busybox-static python3-zstandard python3-websocket runsc crun
python3-yaml python3-jsonschema prometheus openssl wrk"
pkgs=$build
[ "$what" = test ] && pkgs="$build $test"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
