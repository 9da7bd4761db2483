#!/bin/sh
# Pods as VMs: the libvirt class next to the oci class, on one cribd, loopback-only CNI;
# then the libvirt class again on a CNI network whose eth0 the VM takes over (its NIC).
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
pid="" reg_pid=""
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
cleanup() {
	kill $pid $reg_pid 2>/dev/null || true
	wait $pid $reg_pid 2>/dev/null || true
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

# The boot of each VM, as the backend logged it in LOG; medians, as LABEL.  "Before the
# kernel" is the agent's answer on the host's clock less the guest's own boot time to it.
boot_breakdown() {
	grep 'VM started by libvirt in' "$2" | sed 's/.*libvirt in \([0-9]*\) ms, its agent answered \([0-9]*\) ms later (guest: PID 1 at \([0-9]*\) ms of boot, modules loaded at \([0-9]*\) ms, Hello answered at \([0-9]*\) ms).*/\1 \2 \3 \4 \5/' |
		/usr/bin/python3 -c '
import statistics, sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
if rows:
    med = [statistics.median(c) for c in zip(*rows)]
    print("%s vms=%d libvirt_start_p50_ms=%.0f agent_answer_p50_ms=%.0f "
          "guest_pid1_p50_ms=%.0f guest_modules_p50_ms=%.0f guest_hello_p50_ms=%.0f "
          "before_kernel_p50_ms=%.0f"
          % (sys.argv[1], len(rows), med[0], med[1], med[2], med[3], med[4], med[1] - med[4]))' "$1"
}
boot_breakdown libvirt-boot "$work/crib.log"

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

# The VM's NIC: the same pods on a CNI network whose eth0 the VM takes over (a veth with
# both ends in the pod's namespace, as the conformance set-up's bench-isolated plugin: no
# traffic leaves it).  A second cribd, once the first is gone.
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
mkdir -p "$work/cnibin" "$work/cninet"
cat >"$work/cnibin/vethpod" <<'PLUGIN'
#!/bin/sh
set -eu
cat >/dev/null
case "$CNI_COMMAND" in
VERSION) echo '{"cniVersion": "1.0.0", "supportedVersions": ["1.0.0"]}'; exit 0 ;;
ADD) ;;
*) exit 0 ;;
esac
n=$(printf %s "$CNI_CONTAINERID" | cksum | cut -d' ' -f1)
ip4="10.99.$((n / 256 % 256)).$((n % 254 + 1))"
nsenter --net="$CNI_NETNS" sh -c "ip link add eth0 type veth peer name peer0 &&
	ip addr add $ip4/16 dev eth0 && ip link set peer0 up && ip link set eth0 up &&
	ip route add default via 10.99.0.1" >&2
printf '{"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "%s"}], "ips": [{"address": "%s/16", "interface": 0}]}\n' \
	"$CNI_NETNS" "$ip4"
PLUGIN
chmod +x "$work/cnibin/vethpod"
printf '{"cniVersion": "1.0.0", "name": "bench-veth", "plugins": [{"type": "loopback"}, {"type": "vethpod"}]}\n' \
	>"$work/cninet/10-veth.conflist"
start_cribd cribnet "$work/cninet" vm info "cni_bin_dirs = $work/cnibin:/usr/lib/cni:/opt/cni/bin"
ep=unix://$work/cribnet.sock
"$bench" "$ep" pod-ready "$pods" - vm | sed 's/^/libvirt-nic-sandbox /' | tee -a "$work/results"
"$bench" "$ep" pod-ready "$pods" crib-test/busybox vm | sed 's/^/libvirt-nic /' |
	tee -a "$work/results"
boot_breakdown libvirt-nic-boot "$work/cribnet.log"

# The ratios: pod-ready p50 of the libvirt class against the oci class's.
p50() { awk -v l="$1" '$1 == l && $2 == "pod-ready" {
	for (i = 3; i <= NF; i++) if (index($i, "p50_ms=") == 1) print substr($i, 8) }' \
	"$work/results"; }
awk -v a="$(p50 libvirt)" -v b="$(p50 oci)" -v c="$(p50 libvirt-sandbox)" \
	-v d="$(p50 oci-sandbox)" -v e="$(p50 libvirt-nic)" 'BEGIN {
	printf "ratio pod-ready p50, libvirt class vs oci class: %.1fx\n", a / b
	printf "ratio sandbox-ready p50, libvirt class vs oci class: %.1fx\n", c / d
	printf "ratio pod-ready p50, libvirt class with a NIC vs without: %.2fx\n", e / a }'
