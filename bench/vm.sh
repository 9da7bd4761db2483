#!/bin/sh
# Pods as VMs: the libvirt class next to the oci class, on one cribd, loopback-only CNI.
#   bench/vm.sh [BUILD_DIR] [PODS]     (default: build, 10; needs cribd, cri-bench, plugins)
# Pod-ready latency (RunPodSandbox + CreateContainer + StartContainer of busybox from a
# registry this script starts) and sandbox-ready (RunPodSandbox alone) over PODS pods one
# after the other on each class; where a VM's boot goes, from the line
# the backend logs per pod (libvirt's start, then the agent's answer, with the guest's own
# boot times); and the host memory of 3 VMs held up together: QEMU's resident set, the
# part of it that is guest RAM (the mapping the size of the guest's memory, from smaps) and
# the rest, QEMU's own overhead.  libvirtd is started by scripts/libvirtd.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
pods=${2:-10}
bench=$build/cri-bench
work=$(mktemp -d /tmp/crib-vm-bench-XXXXXX)
pid=""
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	unmount_under "$work"
	rm -rf "$work"
}
trap cleanup EXIT
"$top/scripts/libvirtd.sh" "$work"

mkdir -p "$work/conf.d" "$work/cni"
start_registry
printf '{"cniVersion": "1.0.0", "name": "bench-lo", "plugins": [{"type": "loopback"}]}\n' \
	>"$work/cni/10-lo.conflist"
printf '[runtime.vm]\nbackend = libvirt\n\n[runtime.runc]\nbackend = oci\nbinary = %s\n' \
	"$(command -v runc)" >"$work/conf.d/10.conf"
start_cribd crib "$work/cni" vm info
ep=unix://$work/crib.sock
echo "cribd $("$build/cribd" --version | head -1 | cut -d' ' -f2), build $build"
grep -o 'KVM [^:]*work[^)]*)*[^"]*' "$work/crib.log" | head -1

"$bench" "$ep" pod-ready "$pods" - runc | sed 's/^/oci-sandbox /' | tee -a "$work/results"
"$bench" "$ep" pod-ready "$pods" - vm | sed 's/^/libvirt-sandbox /' | tee -a "$work/results"
"$bench" "$ep" pod-ready "$pods" crib-test/busybox runc | sed 's/^/oci /' | tee -a "$work/results"
"$bench" "$ep" pod-ready "$pods" crib-test/busybox vm | sed 's/^/libvirt /' | tee -a "$work/results"

# The boot of each VM, as the backend logged it (both libvirt runs); medians.
grep 'VM started by libvirt in' "$work/crib.log" | sed 's/.*libvirt in \([0-9]*\) ms, its agent answered \([0-9]*\) ms later (guest: PID 1 at \([0-9]*\) ms of boot, serving at \([0-9]*\) ms).*/\1 \2 \3 \4/' |
	/usr/bin/python3 -c '
import statistics, sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
if rows:
    cols = list(zip(*rows))
    med = [statistics.median(c) for c in cols]
    print("libvirt-boot vms=%d libvirt_start_p50_ms=%.0f agent_answer_p50_ms=%.0f "
          "guest_pid1_p50_ms=%.0f guest_serving_p50_ms=%.0f before_kernel_p50_ms=%.0f"
          % (len(rows), med[0], med[1], med[2], med[3], med[1] - med[3]))'

# Three VMs up together: QEMU's memory on the host.
"$bench" "$ep" hold 3 - vm "$work/done" >"$work/hold.out" &
hold=$!
for _ in $(seq 1 600); do grep -q '^up' "$work/hold.out" 2>/dev/null && break; sleep 0.1; done
for f in /run/libvirt/qemu/crib-*.pid; do
	name=$(basename "$f" .pid)
	[ -d "$work/run/backends/libvirt/pods/$(echo "$name" | cut -c6-21)" ] || continue
	/usr/bin/python3 - "$(cat "$f")" "$(virsh -q -c qemu:///system dominfo "$name" |
		awk '/^Max memory:/ {print $3}')" <<'PY'
import sys
pid, guest_kib = sys.argv[1], int(sys.argv[2] or 0)
rss = ram = size = 0
with open(f"/proc/{pid}/smaps") as f:
    for line in f:
        parts = line.split()
        if not parts[0].endswith(":"):  # a mapping's first line: its address range
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            size = (hi - lo) // 1024
        elif parts[0] == "Rss:":
            rss += int(parts[1])
            # Guest RAM is the mapping of the guest's size (TCG's code cache is 1 GiB).
            if guest_kib and guest_kib <= size < guest_kib * 1.1:
                ram += int(parts[1])
print("libvirt-vm-memory guest_mib=%d qemu_rss_mib=%.1f guest_ram_resident_mib=%.1f "
      "qemu_overhead_mib=%.1f" % (guest_kib // 1024, rss / 1024, ram / 1024, (rss - ram) / 1024))
PY
done
touch "$work/done"
wait "$hold"

# The ratios: pod-ready p50 of the libvirt class against the oci class's.
p50() { awk -v l="$1" '$1 == l && $2 == "pod-ready" {
	for (i = 3; i <= NF; i++) if (index($i, "p50_ms=") == 1) print substr($i, 8) }' \
	"$work/results"; }
awk -v a="$(p50 libvirt)" -v b="$(p50 oci)" -v c="$(p50 libvirt-sandbox)" \
	-v d="$(p50 oci-sandbox)" 'BEGIN {
	printf "ratio pod-ready p50, libvirt class vs oci class: %.1fx\n", a / b
	printf "ratio sandbox-ready p50, libvirt class vs oci class: %.1fx\n", c / d }'
