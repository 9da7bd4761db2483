#!/bin/sh
# CRI round-trip latency of cribd (and of containerd when it runs here), same client,
# same machine, same run.
#   bench/run.sh [BUILD_DIR]     (default: build; needs cribd, cri-bench, tests/backends)
# Measures Version over 5000 calls, then ListPodSandbox and ListContainers over 2000 calls
# each with 100 pods and 100 containers in cribd's store (on the testproc class: the
# broker answers lists from memory, whatever the backend), then PullImage of a ~5 MB image
# (crib-test/big from tests/images/build.py) cold and warm, 5 rounds each, and what it
# takes on disk.  The images come from a docker-registry this script starts on loopback.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bench=$build/cri-bench
work=$(mktemp -d /tmp/crib-bench-XXXXXX)
pid="" reg_pid=""
cleanup() {
	kill $pid $reg_pid 2>/dev/null || true
	wait $pid $reg_pid 2>/dev/null || true
	for k in $(cat "$work"/state/backends/testproc/containers/*/keeper.pid 2>/dev/null); do
		kill -USR2 "$k" 2>/dev/null || true
	done
	# Container root filesystems outlive cribd: detach them, deepest first.
	awk -v w="$work/" 'index($2, w) == 1 {print length($2), $2}' /proc/self/mounts |
		sort -rn | cut -d' ' -f2 | xargs -r -n1 umount -l
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/conf.d" "$work/registry"

http_ok() { /usr/bin/python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null; }

# A registry of our own on a free loopback port, filled with the test images.
reg_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$reg_port
cat > "$work/registry/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry/data
  delete:
    enabled: true
http:
  addr: $reg
YML
docker-registry serve "$work/registry/config.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 200); do http_ok "http://$reg/v2/" && break; sleep 0.05; done
/usr/bin/python3 "$top/tests/images/build.py" "http://$reg" >/dev/null
printf '[registry.*]\nmirror = http://%s\nmirror_only = true\n' "$reg" > "$work/conf.d/05-registries.conf"

cat > "$work/crib.conf" <<CONF
[daemon]
cri_socket = $work/crib.sock
state_dir = $work/state
run_dir = $work/run
plugin_dir = $build/tests/backends
conf_dir = $work/conf.d
default_runtime_class = proc
log_level = warning
CONF
printf '[runtime.proc]\nbackend = testproc\n' > "$work/conf.d/10.conf"
"$build/cribd" --config "$work/crib.conf" 2>"$work/cribd.log" &
pid=$!
for _ in $(seq 1 100); do [ -S "$work/crib.sock" ] && break; sleep 0.05; done
[ -S "$work/crib.sock" ] || { echo "bench: cribd did not start:" >&2; cat "$work/cribd.log" >&2; exit 1; }

ep=unix://$work/crib.sock
echo "cribd $("$build/cribd" --version | head -1 | cut -d' ' -f2), build $build"
"$bench" "$ep" version 5000 | sed 's/^/cribd /'
"$bench" "$ep" pull 0 busybox
"$bench" "$ep" populate 100 >/dev/null
"$bench" "$ep" list-pods 2000 | sed 's/^/cribd /'
"$bench" "$ep" list-containers 2000 | sed 's/^/cribd /'
echo "cribd RSS with 100 pods and 100 containers: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
"$bench" "$ep" pull 5 crib-test/big | sed 's/^/cribd /'
echo "cribd on disk for crib-test/big + busybox: blobs $(du -sb "$work/state/images/blobs" | cut -f1) B," \
	"unpacked layers $(du -sb "$work/state/images/layers" | cut -f1) B"

if [ -S /run/containerd/containerd.sock ]; then
	"$bench" unix:///run/containerd/containerd.sock version 5000 | sed 's/^/containerd /'
	# containerd's registry config (setup-env.sh) sends every registry to 127.0.0.1:5000.
	if http_ok http://127.0.0.1:5000/v2/; then
		/usr/bin/python3 "$top/tests/images/build.py" http://127.0.0.1:5000 >/dev/null
		"$bench" unix:///run/containerd/containerd.sock pull 5 docker.io/crib-test/big:latest |
			sed 's/^/containerd /'
	fi
else
	echo "containerd: not running here (shared/conformance/setup-env.sh starts one)"
fi
