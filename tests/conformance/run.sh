#!/bin/sh
# critest v1.26.1 against this build's cribd on one runtime class, offline.
#   tests/conformance/run.sh BUILD_DIR [CLASS [OUTDIR]]
#     CLASS: runc (default), docker, lxc, lxc-idmap (lxc in a user namespace per pod) or
#     libvirt (pods as VMs, on the libvirtd scripts/libvirtd.sh starts)
# Needs what ../shared/conformance sets up (scripts/test.sh runs it): crictl and critest
# on PATH, the local registry on 127.0.0.1:5000 with critest's stand-in images, and the
# bench-isolated CNI network in /etc/cni/net.d.  The docker class runs on a dockerd this
# script starts with its own socket, data root and containerd namespace (no bridge, no
# iptables), so that the node's Docker is never touched.  Fails when a spec listed in
# passing-CLASS.txt does not pass; prints specs that pass beyond the list.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
class=${2:-runc}
shared=${CRIB_SHARED:-$top/../shared}
work=$(mktemp -d /tmp/crib-critest-XXXXXX)
out=${3:-$work/out}
keep=${3:+yes}
pid="" dockerd_pid=""
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	root=$work/run/backends/oci/roots/runc
	for id in $(runc --root "$root" list -q 2>/dev/null); do
		runc --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	done
	# LXC containers outlive cribd too (each held by its own liblxc monitor).
	for lxcpath in "$work"/run/backends/lxc/lxcpath/*/; do
		for d in "$lxcpath"*/; do
			[ -d "$d" ] && "$build/plugins/crib-lxc" --root "$lxcpath" delete --force \
				"$(basename "$d")" >/dev/null 2>&1
		done
	done
	stop_dockerd
	# Pod VMs outlive cribd too: the domains whose pod directory is under our run_dir.
	if [ "$class" = libvirt ]; then
		for name in $(virsh -q -c qemu:///system list --name 2>/dev/null); do
			case $name in crib-*) ;; *) continue ;; esac
			id=$(echo "${name#crib-}" | cut -c1-16)
			[ -d "$work/run/backends/libvirt/pods/$id" ] &&
				virsh -q -c qemu:///system destroy "$name" >/dev/null 2>&1
		done
	fi
	awk -v w="$work/" 'index($2, w) == 1 {print length($2), $2}' /proc/self/mounts |
		sort -rn | cut -d' ' -f2 | xargs -r -n1 umount -l
	[ -z "$keep" ] && rm -rf "$work"
	return 0
}
trap cleanup EXIT
mkdir -p "$work/conf.d"
cat > "$work/crib.conf" <<CONF
[daemon]
cri_socket = $work/crib.sock
state_dir = $work/state
run_dir = $work/run
plugin_dir = $build/plugins
conf_dir = $work/conf.d
cni_conf_dir = /etc/cni/net.d
default_runtime_class = $class
log_level = info
CONF
case $class in
runc)
	printf '[runtime.runc]\nbackend = oci\nbinary = %s\n' "$(command -v runc)" > "$work/conf.d/10.conf"
	;;
docker)
	start_dockerd
	printf '[runtime.docker]\nbackend = docker\nsocket = %s\n' "$dsock" > "$work/conf.d/10.conf"
	;;
lxc)
	printf '[runtime.lxc]\nbackend = lxc\n' > "$work/conf.d/10.conf"
	;;
lxc-idmap)
	printf '[runtime.lxc-idmap]\nbackend = lxc\nidmap = 100000:65536\n' > "$work/conf.d/10.conf"
	# The containers' root (host uid 100000) reaches its lxcpath under the run directory.
	chmod 0711 "$work"
	;;
libvirt)
	"$top/scripts/libvirtd.sh"
	printf '[runtime.libvirt]\nbackend = libvirt\n' > "$work/conf.d/10.conf"
	;;
*)
	echo "run.sh: unknown class '$class' (runc, docker, lxc, lxc-idmap or libvirt)" >&2
	exit 2
	;;
esac
cat >> "$work/conf.d/10.conf" <<CONF

[registry.*]
mirror = http://127.0.0.1:5000
mirror_only = true
CONF
"$build/cribd" --config "$work/crib.conf" >"$work/cribd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -S "$work/crib.sock" ] && break; sleep 0.05; done
"$shared/conformance/run-critest.sh" "unix://$work/crib.sock" "$out" >/dev/null
cat "$out/summary.txt"
/usr/bin/python3 - "$out/report.json" "$here/passing-$class.txt" <<'PY'
import json, sys
passed = set()
for suite in json.load(open(sys.argv[1])):
    for r in suite.get("SpecReports", []):
        if r.get("LeafNodeType") == "It" and r.get("State") == "passed":
            passed.add(" ".join(r.get("ContainerHierarchyTexts") or []) + " " + r["LeafNodeText"])
want = [l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
lost = [w for w in want if w not in passed]
for w in sorted(passed - set(want)):
    print(f"NEW PASS (add it to {sys.argv[2]}):", w)
for w in lost:
    print("REGRESSION:", w)
print(f"critest: {len(want) - len(lost)} of the {len(want)} listed specs pass")
sys.exit(1 if lost else 0)
PY
