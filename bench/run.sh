#!/bin/sh
# CRI round-trip latency of cribd (and of containerd when it runs here), same client,
# same machine, same run.
#   bench/run.sh [BUILD_DIR]     (default: build; needs cribd, cri-bench, plugins)
# Measures Version over 5000 calls, then ListPodSandbox and ListContainers over 2000 calls
# each with 100 pods and 100 containers in cribd's store (on the testproc class: the
# broker answers lists from memory, whatever the backend), then PullImage of a ~5 MB image
# (crib-test/big from tests/images/build.py) cold and warm, 5 rounds each, and what it
# takes on disk.  The images come from a docker-registry this script starts on loopback.
# Then real pods on the oci backend's runc class: pod-ready latency (RunPodSandbox +
# CreateContainer + StartContainer) and teardown over 20 pods, 20 pods from 8 parallel
# clients, ListContainers with 100 live containers, cribd's RSS with 100 pods; the same
# against containerd when it runs here, and a bare `runc run -d` of the same rootfs; then
# pod-ready on the docker class (a dockerd of the bench's own) next to `docker run -d`,
# and on the lxc class next to the oci class, on an lxc class whose pods are one system
# container each with the CRI container attached into it (attach = true), and on an lxc
# class whose pods each have a user namespace (idmap).
# Pods get the CNI network containerd's set-up uses (its plugin is a shell script, tens of
# ms per pod); pod-ready is measured once more on loopback-only CNI, the network work a
# bare runc does, for the ratio against it.  The last lines are the ratios.
set -eu

# The measurements run in a child whose output is kept, to print the ratios after it.
if [ -z "${CRIB_BENCH_RESULTS:-}" ]; then
	CRIB_BENCH_RESULTS=$(mktemp /tmp/crib-bench-results-XXXXXX)
	export CRIB_BENCH_RESULTS
	"$0" "$@" | tee "$CRIB_BENCH_RESULTS"
	# get LABEL KIND KEY: the value of KEY= on the line "LABEL KIND ...".
	get() { awk -v l="$1" -v k="$2" -v f="$3" '$1 == l && $2 == k {
		for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) }' \
		"$CRIB_BENCH_RESULTS" | head -1; }
	ratio() { # WHAT A B: A/B when both were measured
		[ -n "$2" ] && [ -n "$3" ] && awk -v w="$1" -v a="$2" -v b="$3" \
			'BEGIN {printf "ratio %s: %.2fx (%s / %s)\n", w, a / b, a, b}' || true; }
	echo "== ratios (cribd / peer; below 1 is better for cribd)"
	ratio "pod-ready p50 vs containerd" "$(get cribd pod-ready p50_ms)" \
		"$(get containerd pod-ready p50_ms)"
	bare=$(sed -n 's/^bare runc run -d: p50_ms=\([0-9.]*\).*/\1/p' "$CRIB_BENCH_RESULTS")
	ratio "pod-ready p50 (loopback CNI) vs bare runc run -d" \
		"$(get cribd-lo-cni pod-ready p50_ms)" "$bare"
	bare_docker=$(sed -n 's/^bare docker run -d: p50_ms=\([0-9.]*\).*/\1/p' "$CRIB_BENCH_RESULTS")
	ratio "pod-ready p50, docker class vs oci class (both loopback CNI)" \
		"$(get cribd-docker pod-ready p50_ms)" "$(get cribd-lo-cni pod-ready p50_ms)"
	ratio "pod-ready p50, docker class vs bare docker run -d" \
		"$(get cribd-docker pod-ready p50_ms)" "$bare_docker"
	ratio "pod-ready p50, lxc class vs oci class (both loopback CNI)" \
		"$(get cribd-lxc pod-ready p50_ms)" "$(get cribd-lo-cni pod-ready p50_ms)"
	ratio "pod-ready p50, lxc class vs oci class with infra containers" \
		"$(get cribd-lxc pod-ready p50_ms)" "$(get cribd-runc-infra pod-ready p50_ms)"
	ratio "pod-ready p50, lxc attach class vs lxc class" \
		"$(get cribd-lxc-attach pod-ready p50_ms)" "$(get cribd-lxc pod-ready p50_ms)"
	ratio "pod-ready p50, lxc idmap class vs lxc class" \
		"$(get cribd-lxc-idmap pod-ready p50_ms)" "$(get cribd-lxc pod-ready p50_ms)"
	ratio "pod-teardown p50 vs containerd" "$(get cribd pod-teardown p50_ms)" \
		"$(get containerd pod-teardown p50_ms)"
	ratio "20 pods / 8 clients wall vs containerd" "$(get cribd parallel-pods wall_ms)" \
		"$(get containerd parallel-pods wall_ms)"
	ratio "RSS with 100 pods vs containerd" "$(get cribd rss kb)" "$(get containerd rss kb)"
	ratio "pull cold p50 vs containerd" "$(get cribd pull-cold p50_ms)" \
		"$(get containerd pull-cold p50_ms)"
	ratio "pull warm p50 vs containerd" "$(get cribd pull-warm p50_ms)" \
		"$(get containerd pull-warm p50_ms)"
	grep -q '^bench: done$' "$CRIB_BENCH_RESULTS" || { rm -f "$CRIB_BENCH_RESULTS"; exit 1; }
	rm -f "$CRIB_BENCH_RESULTS"
	exit 0
fi

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
build=$(cd "${1:-$top/build}" && pwd)
bench=$build/cri-bench
work=$(mktemp -d /tmp/crib-bench-XXXXXX)
pid="" reg_pid=""
cleanup() {
	kill $pid $reg_pid 2>/dev/null || true
	wait $pid $reg_pid 2>/dev/null || true
	stop_dockerd
	for root in "$work/run/backends/oci/roots/runc" "$work/run-lo/backends/oci/roots/runc" \
		"$work/bare-root"; do
		for id in $(runc --root "$root" list -q 2>/dev/null); do
			runc --root "$root" delete --force "$id" 2>/dev/null || true
		done
	done
	# LXC containers outlive cribd, each held by its liblxc monitor.
	for d in "$work"/run-lxc/backends/lxc/lxcpath/lxc*/*/; do
		[ -d "$d" ] && "$build/plugins/crib-lxc" --root "${d%/*/}" delete --force \
			"$(basename "$d")" 2>/dev/null
	done
	for k in $(cat "$work"/state/backends/testproc/containers/*/keeper.pid 2>/dev/null); do
		kill -USR2 "$k" 2>/dev/null || true
	done
	unmount_under "$work"
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/conf.d" "$work/registry"

# A registry of our own on a free loopback port, filled with the test images.
start_registry

# The CNI network containerd's set-up uses (shared/conformance), else loopback only.
lo_cni=$work/cni-lo
mkdir -p "$lo_cni"
echo '{"cniVersion":"1.0.0","name":"bench-lo","plugins":[{"type":"loopback"}]}' \
	> "$lo_cni/10-lo.conflist"
cni_dir=$lo_cni
if ls /etc/cni/net.d/*.conf* >/dev/null 2>&1; then
	cni_dir=/etc/cni/net.d
fi
printf '[runtime.proc]\nbackend = testproc\n\n[runtime.runc]\nbackend = oci\nbinary = %s\n' \
	"$(command -v runc)" > "$work/conf.d/10.conf"

start_cribd crib "$cni_dir"
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

pods() { # ENDPOINT PID LABEL IMAGE HANDLER
	"$bench" "$1" pod-ready 20 "$4" "$5" | sed "s/^/$3 /"
	"$bench" "$1" parallel-pods 20 8 "$4" "$5" | sed "s/^/$3 /"
	"$bench" "$1" list-live 100 "$4" "$5" "$2" | sed "s/^/$3 /"
}
pods "$ep" "$pid" cribd crib-test/busybox runc
kill "$pid" && wait "$pid" || true

# Pod-ready once more on loopback-only CNI: what is left when the network costs what a
# bare runc's does (a new namespace with lo).
start_cribd crib-lo "$lo_cni"
"$bench" "unix://$work/crib-lo.sock" pull 0 crib-test/busybox
"$bench" "unix://$work/crib-lo.sock" pod-ready 20 crib-test/busybox runc | sed 's/^/cribd-lo-cni /'
kill "$pid" && wait "$pid" || true
pid=""

# The docker class on a dockerd of our own (no bridge, no iptables), loopback CNI: pod-ready
# next to the oci class's just above, and a plain `docker run -d` of the same image (one
# container with no network: a pod is a sandbox container, CNI and the app container).
start_dockerd
printf '[runtime.docker]\nbackend = docker\nsocket = %s\n' "$dsock" > "$work/conf.d/20.conf"
start_cribd crib-dk "$lo_cni" docker
"$bench" "unix://$work/crib-dk.sock" pull 0 crib-test/busybox
"$bench" "unix://$work/crib-dk.sock" pod-ready 20 crib-test/busybox docker |
	sed 's/^/cribd-docker /'
kill "$pid" && wait "$pid" || true
pid=""
for i in $(seq 1 20); do
	t0=$(date +%s%N)
	docker -H "unix://$dsock" run -d --network none --name "bare$i" crib-test/busybox \
		sleep 3600 >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
	docker -H "unix://$dsock" rm -f "bare$i" >/dev/null 2>&1
done | sort -n | awk '{v[NR] = $1} END {printf "bare docker run -d: p50_ms=%.1f p99_ms=%.1f (20 runs)\n", v[int(NR/2)+1]/1000, v[NR]/1000}'
stop_dockerd

# The lxc class (every pod an LXC infra container plus one per CRI container), loopback CNI:
# pod-ready next to the oci class's, whose pods pin their namespaces without an infra
# container, and next to the oci class with pod_sandbox = container (infra containers too).
# Then an attach class: each pod one system container (busybox init on an overlay of a
# directory) with the CRI container a process attached into it.
sysroot=$work/sysroot
mkdir -p "$sysroot/bin" "$sysroot/sbin" "$sysroot/etc" "$sysroot/proc" "$sysroot/sys" \
	"$sysroot/dev" "$sysroot/tmp"
cp /bin/busybox "$sysroot/bin/busybox"
for a in sh sleep; do ln -s busybox "$sysroot/bin/$a"; done
ln -s /bin/busybox "$sysroot/sbin/init"
echo '::sysinit:/bin/true' > "$sysroot/etc/inittab"
printf '[runtime.lxc]\nbackend = lxc\n[runtime.runc-infra]\nbackend = oci\nbinary = %s\npod_sandbox = container\n' \
	"$(command -v runc)" > "$work/conf.d/30.conf"
printf '[runtime.lxc-attach]\nbackend = lxc\nsystem = true\nrootfs = %s\nattach = true\n' \
	"$sysroot" >> "$work/conf.d/30.conf"
# And an idmap class: each pod in a user namespace of its own, whose root (host uid
# 100000) must reach its lxcpath under the run directory.
printf '[runtime.lxc-idmap]\nbackend = lxc\nidmap = 100000:65536\n' >> "$work/conf.d/30.conf"
chmod 0711 "$work"
start_cribd crib-lxc "$lo_cni" lxc
"$bench" "unix://$work/crib-lxc.sock" pull 0 crib-test/busybox
"$bench" "unix://$work/crib-lxc.sock" pod-ready 20 crib-test/busybox lxc | sed 's/^/cribd-lxc /'
"$bench" "unix://$work/crib-lxc.sock" pod-ready 20 crib-test/busybox runc-infra |
	sed 's/^/cribd-runc-infra /'
"$bench" "unix://$work/crib-lxc.sock" pod-ready 20 crib-test/busybox lxc-attach |
	sed 's/^/cribd-lxc-attach /'
"$bench" "unix://$work/crib-lxc.sock" pod-ready 20 crib-test/busybox lxc-idmap |
	sed 's/^/cribd-lxc-idmap /'
kill "$pid" && wait "$pid" || true
pid=""
rm -f "$work/conf.d/30.conf"

# A bare runc of the same busybox rootfs: create + start, as pod-ready's floor.
mkdir -p "$work/bare/rootfs/bin" "$work/bare-root"
cp /bin/busybox "$work/bare/rootfs/bin/busybox"
ln -s busybox "$work/bare/rootfs/bin/sleep"
(cd "$work/bare" && runc spec && sed -i 's/"sh"/"sleep", "3600"/; s/"terminal": true/"terminal": false/' config.json)
for i in $(seq 1 20); do
	t0=$(date +%s%N)
	runc --root "$work/bare-root" run -d --bundle "$work/bare" "bare$i" </dev/null >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
	runc --root "$work/bare-root" delete --force "bare$i" >/dev/null 2>&1
done | sort -n | awk '{v[NR] = $1} END {printf "bare runc run -d: p50_ms=%.1f p99_ms=%.1f (20 runs)\n", v[int(NR/2)+1]/1000, v[NR]/1000}'

if [ -S /run/containerd/containerd.sock ]; then
	"$bench" unix:///run/containerd/containerd.sock version 5000 | sed 's/^/containerd /'
	# containerd's registry config (setup-env.sh) sends every registry to 127.0.0.1:5000.
	if http_ok http://127.0.0.1:5000/v2/; then
		/usr/bin/python3 "$top/tests/images/build.py" http://127.0.0.1:5000 >/dev/null
		"$bench" unix:///run/containerd/containerd.sock pull 5 docker.io/crib-test/big:latest |
			sed 's/^/containerd /'
		"$bench" unix:///run/containerd/containerd.sock pull 0 docker.io/crib-test/busybox:latest
		# The containerd serving that socket: dockerd may run a containerd of its own.
		ctrd=$(ss -xlpn src /run/containerd/containerd.sock | grep -o 'pid=[0-9]*' | head -1 |
			cut -d= -f2)
		pods unix:///run/containerd/containerd.sock "$ctrd" \
			containerd docker.io/crib-test/busybox:latest -
	fi
else
	echo "containerd: not running here (shared/conformance/setup-env.sh starts one)"
fi
echo "bench: done"
