#!/bin/sh
# Streaming figures of cribd (and of containerd when it runs here), same client, same
# machine, same run: the round trip of `crictl exec -s CID true` (ExecSync) and of
# `crictl exec CID true` (a streaming session: Exec URL, SPDY upgrade, exit code), p50/p99
# over 100 calls each, and port-forward throughput: crictl port-forward to busybox httpd in
# the pod, 256 MiB fetched by curl on loopback, the median of 3.  For each oci runtime class
# present (runc, runsc), on loopback-only CNI.
#   bench/stream.sh [BUILD_DIR]      (default: build; needs cribd and plugins)
# Images come from the registry on 127.0.0.1:5000 that shared/conformance/setup-env.sh
# starts (scripts/up.sh and scripts/test.sh run it).  The last lines are the ratios.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
build=$(cd "${1:-$top/build}" && pwd)
calls=${CRIB_BENCH_CALLS:-100}
work=$(mktemp -d /tmp/crib-stream-bench-XXXXXX)
results=$work/results
pid="" fwd=""
cleanup() {
	[ -n "$fwd" ] && kill "$fwd" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for root in "$work"/run/backends/oci/roots/*; do
		for id in $(runc --root "$root" list -q 2>/dev/null); do
			runc --root "$root" delete --force "$id" 2>/dev/null || true
		done
	done
	awk -v w="$work/" 'index($2, w) == 1 {print length($2), $2}' /proc/self/mounts |
		sort -rn | cut -d' ' -f2 | xargs -r -n1 umount -l
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/conf.d" "$work/cni" "$work/logs"

/usr/bin/python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=2)' ||
	{ echo "bench: no registry on 127.0.0.1:5000 (run shared/conformance/setup-env.sh)" >&2; exit 1; }
/usr/bin/python3 "$top/tests/images/build.py" http://127.0.0.1:5000 >/dev/null
echo '{"cniVersion":"1.0.0","name":"bench-lo","plugins":[{"type":"loopback"}]}' \
	>"$work/cni/10-lo.conflist"
classes=""
for rt in runc runsc; do
	bin=$(command -v "$rt" || true)
	[ -n "$bin" ] || continue
	extra=""
	# runsc cannot start its own network stack here (see tests/integration/test_oci.py).
	[ "$rt" = runsc ] && extra="runtime_args = --network=host"
	printf '[runtime.%s]\nbackend = oci\nbinary = %s\n%s\n\n' "$rt" "$bin" "$extra" >>"$work/conf.d/10.conf"
	classes="$classes $rt"
done
printf '[registry.*]\nmirror = http://127.0.0.1:5000\nmirror_only = true\n' >"$work/conf.d/05-registries.conf"
start_cribd crib "$work/cni" runc

# p50/p99 in ms of the command run CALLS times.
timed() { # LABEL WHAT COMMAND...
	label=$1 what=$2
	shift 2
	for _ in $(seq 1 "$calls"); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk -v l="$label" -v w="$what" '{v[NR] = $1}
		END {printf "%s %s p50_ms=%.1f p99_ms=%.1f calls=%d\n", l, w, v[int(NR/2)+1]/1000, v[int(NR*0.99)+(NR*0.99>int(NR*0.99))]/1000, NR}'
}


measure() { # ENDPOINT LABEL IMAGE HANDLER
	export CONTAINER_RUNTIME_ENDPOINT=$1 IMAGE_SERVICE_ENDPOINT=$1
	label=$2
	n=$(date +%s%N)
	cat >"$work/pod.json" <<JSON
{"metadata": {"name": "stream-bench-$n", "namespace": "bench", "uid": "uid-$n"},
 "log_directory": "$work/logs/$n", "linux": {}}
JSON
	cat >"$work/ctr.json" <<JSON
{"metadata": {"name": "web"}, "image": {"image": "$3"}, "log_path": "web.log",
 "command": ["sh", "-c", "mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=256 2>/dev/null && touch /www/ready && exec httpd -f -p 8080 -h /www"],
 "linux": {}}
JSON
	crictl pull "$3" >/dev/null
	pod=$(crictl runp --runtime "$4" "$work/pod.json")
	cid=$(crictl create "$pod" "$work/ctr.json" "$work/pod.json")
	crictl start "$cid" >/dev/null
	for _ in $(seq 1 100); do crictl exec -s "$cid" test -f /www/ready >/dev/null 2>&1 && break; sleep 0.1; done
	timed "$label" exec-sync crictl exec -s "$cid" true
	timed "$label" exec-stream crictl exec "$cid" true
	port=$(free_port)
	crictl port-forward "$pod" "$port:8080" >"$work/fwd.log" 2>&1 &
	fwd=$!
	for _ in $(seq 1 100); do grep -q Forwarding "$work/fwd.log" && break; sleep 0.05; done
	for _ in 1 2 3; do
		curl -sf -m 120 -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$port/big" || {
			echo "bench: $label port-forward fetch failed: $(tail -2 "$work/fwd.log")" >&2
			break
		}
	done | sort -n | awk -v l="$label" 'NR == 2 {printf "%s port-forward mb_s=%.0f (256 MiB, median of 3)\n", l, $1 / 1048576}'
	kill "$fwd" 2>/dev/null || true
	wait "$fwd" 2>/dev/null || true
	fwd=""
	crictl stopp "$pod" >/dev/null
	crictl rmp "$pod" >/dev/null
}

{
	for rt in $classes; do
		measure "unix://$work/crib.sock" "cribd-$rt" crib-test/busybox "$rt"
	done
	if [ -S /run/containerd/containerd.sock ]; then
		measure unix:///run/containerd/containerd.sock containerd-runc \
			docker.io/crib-test/busybox:latest runc
	else
		echo "containerd: not running here"
	fi
} | tee "$results"

get() { awk -v l="$1" -v k="$2" -v f="$3" '$1 == l && $2 == k {
	for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) }' "$results"; }
ratio() { [ -n "$2" ] && [ -n "$3" ] && awk -v w="$1" -v a="$2" -v b="$3" \
	'BEGIN {printf "ratio %s: %.2fx (%s / %s)\n", w, a / b, a, b}' || true; }
echo "== ratios (cribd-runc / containerd-runc; below 1 is better for cribd, except throughput)"
for k in exec-sync exec-stream; do
	for p in p50_ms p99_ms; do
		ratio "$k $p" "$(get cribd-runc $k $p)" "$(get containerd-runc $k $p)"
	done
done
ratio "port-forward MB/s (above 1 is better)" "$(get cribd-runc port-forward mb_s)" \
	"$(get containerd-runc port-forward mb_s)"
