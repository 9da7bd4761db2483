#!/bin/sh
# Load check of cribd's REST admin API, with CRI latency measured at the same time.
#   bench/admin.sh [BUILD_DIR]   (default: build; needs cribd, cri-bench, plugins; use a
#                                 Release build for real figures)
# A cribd of its own (temp state, testproc backend as class proc, the admin API on a free
# loopback TCP port with a random bearer token) gets 1000 pods with one running container
# each (a host `sleep` under crib-test-keeper): /v1/pods is one full page of 1000 items and
# /metrics renders 1000 pods and 1000 containers (testproc's stats ops read /proc and its
# own state files).  Then:
#  - throughput: wrk alone on /v1/pods, then on /metrics, $WRK_SECS s each (30), with
#    requests/s and p50/p90/p99 (wrk --latency);
#  - CRI latency in $ROUNDS rounds (9) of five short windows side by side: idle, under
#    wrk on /v1/pods, under wrk on /metrics, and two references with no admin traffic:
#    beside CPU hogs (a shell loop per CPU) and beside a loopback TCP stream per CPU
#    between two processes that are not cribd's (650 KB writes, 8 KB reads, as wrk on
#    /v1/pods).  The stream shows what moving those bytes through the kernel costs CRI
#    calls whoever serves them: on a kernel without preemption (PREEMPT_NONE) a CPU in a
#    long network syscall or softirq makes a woken CRI thread wait.  A window is Version over $V_CALLS calls (3000) and
#    ListPodSandbox (1000 items) over $L_CALLS (300), one call at a time (cri-bench);
#  - the last lines: per condition the median over rounds of the windows' p50 and p99,
#    and its ratio to idle's (the issue's bound: within 20%, <= 1.20).
# WRK_NICE=N runs wrk (and the references) at nice N, 19 by default: they yield the CPU to cribd
# and cri-bench, as a scraper on another machine would not compete for it at all; with
# 0 the figures mostly show two processes sharing 2 CPUs.
# cribd's RSS is printed before and after the load, the load average (the figures mean
# little on a busy machine) and cribd's log (level warning).  A run takes about 6 min.
# The busybox image comes from a docker-registry this script starts on loopback.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
build=$(cd "${1:-$top/build}" && pwd)
bench=$build/cri-bench
work=$(mktemp -d /tmp/crib-admin-bench-XXXXXX)
pid="" reg_pid="" wrk_pid="" hog_pid=""
wrk_nice=${WRK_NICE:-19}
cleanup() {
	# Only the processes started here; the unset ones split to nothing.
	# shellcheck disable=SC2086
	kill $hog_pid $wrk_pid $pid $reg_pid 2>/dev/null || true
	# shellcheck disable=SC2086
	wait $hog_pid $wrk_pid $pid $reg_pid 2>/dev/null || true
	# The containers' keepers outlive cribd: USR2 kills each with its command.
	for f in "$work"/state/backends/testproc/containers/*/keeper.pid; do
		if [ -f "$f" ]; then kill -USR2 "$(cat "$f")" 2>/dev/null || true; fi
	done
	# The pods' network namespaces and the containers' root filesystems outlive cribd:
	# detach them, deepest first.
	awk -v w="$work/" 'index($2, w) == 1 {print length($2), $2}' /proc/self/mounts |
		sort -rn | cut -d' ' -f2 | xargs -r umount -l
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$work/conf.d" "$work/registry"

rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status"; }
mem_available_mb() { awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo; }

# A registry of our own on a free loopback port, filled with the test images.
start_registry
printf '[runtime.proc]\nbackend = testproc\n' > "$work/conf.d/10.conf"
# Pods get loopback-only CNI: their network is not what is measured, and it is cheap.
mkdir -p "$work/cni"
echo '{"cniVersion":"1.0.0","name":"bench-lo","plugins":[{"type":"loopback"}]}' \
	> "$work/cni/10-lo.conflist"

# The admin API on TCP needs a bearer token: 48 random hex digits.
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$token" > "$work/token")
port=$(free_port)
admin=http://127.0.0.1:$port
cat > "$work/crib.conf" <<CONF
[daemon]
cri_socket = $work/crib.sock
admin_socket = $work/admin.sock
admin_address = 127.0.0.1:$port
admin_token_file = $work/token
state_dir = $work/state
run_dir = $work/run
plugin_dir = $build/plugins
conf_dir = $work/conf.d
cni_conf_dir = $work/cni
default_runtime_class = proc
log_level = warning
CONF
"$build/cribd" --config "$work/crib.conf" 2>"$work/crib.log" &
pid=$!
wait_cribd "$work/crib.sock" "$work/crib.log"
ep=unix://$work/crib.sock
echo "cribd $("$build/cribd" --version | head -1 | cut -d' ' -f2), build $build, $(nproc) CPUs"

# get URL: the body of an authenticated GET (curl-free: python is there anyway).
get() {
	/usr/bin/python3 - "$1" "$token" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
sys.stdout.buffer.write(urllib.request.urlopen(req, timeout=60).read())
PY
}
for _ in $(seq 1 100); do get "$admin/healthz" >/dev/null 2>&1 && break; sleep 0.05; done

mem0=$(mem_available_mb)
"$bench" "$ep" pull 0 busybox
t0=$(date +%s%N)
"$bench" "$ep" populate 1000 - start
t1=$(date +%s%N)
echo "populate took $(((t1 - t0) / 1000000)) ms; MemAvailable went from $mem0 MB to $(mem_available_mb) MB"

# The store as the admin API shows it: one page of 1000 pods, and /metrics' size.
get "$admin/v1/pods" | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print("admin /v1/pods answers items=%d continue=%s" % (len(d["items"]), "continue" in d))'
t0=$(date +%s%N)
get "$admin/metrics" > "$work/metrics.txt"
t1=$(date +%s%N)
echo "admin /metrics answers bytes=$(wc -c < "$work/metrics.txt")" \
	"lines=$(grep -vc '^#' "$work/metrics.txt")" \
	"container_state_lines=$(grep -c '^crib_container_state{' "$work/metrics.txt")" \
	"memory_lines=$(grep -c '^crib_container_memory_working_set_bytes{' "$work/metrics.txt")" \
	"single_get_ms=$(((t1 - t0) / 1000000))"
echo "cribd RSS before load: $(rss)"

# window LABEL: one measuring window, Version over $v_calls calls and ListPodSandbox
# (1000 items) over $l_calls, one call at a time after 200 untimed ones (cri-bench);
# appends "LABEL v_p50 v_p99 l_p50 l_p99" (microseconds) to $work/windows.
v_calls=${V_CALLS:-3000} l_calls=${L_CALLS:-300}
window() {
	v=$("$bench" "$ep" version "$v_calls")
	l=$("$bench" "$ep" list-pods "$l_calls")
	p() { echo "$1" | sed -n "s/.* $2_us=\([0-9.]*\).*/\1/p"; }
	echo "$1 $(p "$v" p50) $(p "$v" p99) $(p "$l" p50) $(p "$l" p99)" >> "$work/windows"
}

# wrk_start PATH / wrk_stop: wrk on PATH in the background; stopping it (SIGINT: it
# reports on the time it ran) prints one line of requests/s and latencies.  One wrk
# thread with 8 connections: the machine may have 2 CPUs only, shared by wrk, cribd and
# cri-bench, so wrk gets one thread and 8 connections keep cribd's admin listener
# saturated, a request always waiting.  --timeout 120s so that a slow /metrics counts as
# latency, not as a socket timeout.
wrk_start() {
	wrk_path=$1
	nice -n "$wrk_nice" wrk -t1 -c8 -d3600s --timeout 120s --latency \
		-H "Authorization: Bearer $token" "$admin$1" > "$work/wrk.out" 2>&1 &
	wrk_pid=$!
}
wrk_stop() {
	kill -INT "$wrk_pid" 2>/dev/null || { echo "bench: wrk ended early" >&2; cat "$work/wrk.out" >&2; exit 1; }
	wait "$wrk_pid" || { cat "$work/wrk.out" >&2; exit 1; }
	wrk_pid=""
	# "  99%   12.34ms" -> milliseconds, whatever the unit (us, ms, s, m).
	awk -v what="$wrk_path" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000; return v * 1000 }
		$1 == "50%" { p50 = ms($2) } $1 == "90%" { p90 = ms($2) } $1 == "99%" { p99 = ms($2) }
		/requests in/ { n = $1; sub(/,$/, "", $4); secs = $4 }
		/^Requests\/sec:/ { rps = $2 } /^Transfer\/sec:/ { tr = $2 }
		/Non-2xx/ { bad = $NF } /Socket errors:/ { sub(/.*Socket errors: */, ""); err = $0 }
		END { printf "admin %s: rps=%s p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f requests=%s in %s transfer=%s/s non2xx=%d socket_errors=%s\n",
			what, rps, p50, p90, p99, n, secs, tr, bad, err == "" ? "none" : err }' "$work/wrk.out"
}

# Throughput first, wrk alone for $wrk_secs s on each route.
wrk_secs=${WRK_SECS:-30}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for path in /v1/pods /metrics; do
	wrk_start "$path"
	sleep "$wrk_secs"
	wrk_stop
done

# CRI latency, in $rounds rounds of five windows each: idle, under wrk on /v1/pods, under
# wrk on /metrics, and the two references (CPU hogs, loopback streams).
# One window is a few seconds; on a shared machine a whole phase of minutes catches
# whatever else ran then, and two idle phases differed by 2.75x in p99 here.  Short
# windows side by side, and the median over rounds of each condition's figures, compare
# conditions under the same background.  wrk starts 1 s before its window.
rounds=${ROUNDS:-9}
# hogs CMD...: CMD at wrk's nice, once per CPU, for 1 s before a window; hogs_stop ends them.
hogs() {
	for _ in $(seq 1 "$(nproc)"); do
		nice -n "$wrk_nice" "$@" &
		hog_pid="$hog_pid $!"
	done
	sleep 1
}
hogs_stop() {
	# shellcheck disable=SC2086
	kill $hog_pid
	# shellcheck disable=SC2086
	wait $hog_pid 2>/dev/null || true
	hog_pid=""
}
# The stream: 650 KB writes (a /v1/pods page) as fast as a reader of 8 KB reads (as wrk
# reads) takes them; the reader is a child that ends at the writer's EOF.
cat > "$work/stream.py" <<'PY'
import os, socket, sys
listener = socket.create_server(("127.0.0.1", 0))
if os.fork() == 0:
    reader = socket.create_connection(listener.getsockname())
    while reader.recv(8192):
        pass
    sys.exit(0)
writer, _ = listener.accept()
page = b"x" * 650000
while True:
    writer.sendall(page)
PY
: > "$work/windows"
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	window idle
	for path in /v1/pods /metrics; do
		wrk_start "$path"
		sleep 1
		window "$path"
		wrk_stop > /dev/null
	done
	# References with no admin traffic: every CPU busy (one shell loop per CPU), then a
	# loopback TCP stream per CPU between two processes that are not cribd's.
	hogs sh -c 'while :; do :; done'
	window hog
	hogs_stop
	hogs /usr/bin/python3 "$work/stream.py"
	window stream
	hogs_stop
done
echo "cribd RSS after load: $(rss)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -0 "$pid" 2>/dev/null || { echo "bench: cribd died:" >&2; cat "$work/crib.log" >&2; exit 1; }
echo "cribd log: $(wc -l < "$work/crib.log") lines at level warning and up"
head -20 "$work/crib.log" | sed 's/^/  /'

# Per condition the median over rounds of each window's p50 and p99, and the ratios of
# those medians to idle's (the issue's bound: within 20%, <= 1.20); the spread of the
# idle windows' p99 says how far the machine itself moves.
echo "== CRI latency, medians over $rounds rounds (us; Version $v_calls calls, ListPodSandbox $l_calls calls a window; wrk at nice $wrk_nice)"
awk '
	function median(cond, col,   n, k, a, i, j, t) {
		n = 0
		for (k = 1; k <= nw; k++) if (lab[k] == cond) a[++n] = val[k, col]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		lo[cond, col] = a[1]; hi[cond, col] = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ nw++; lab[nw] = $1; for (c = 2; c <= 5; c++) val[nw, c] = $c }
	END {
		split("idle /v1/pods /metrics hog stream", conds, " ")
		split("x version_p50 version_p99 list-pods_p50 list-pods_p99", names, " ")
		for (c = 2; c <= 5; c++) m["idle", c] = median("idle", c)
		for (c = 2; c <= 5; c++) printf "idle %s: median %.1f (windows from %.1f to %.1f)\n", names[c], m["idle", c], lo["idle", c], hi["idle", c]
		for (k = 2; k <= 5; k++) for (c = 2; c <= 5; c++) {
			cond = conds[k]; v = median(cond, c); r = v / m["idle", c]
			printf "ratio %s %s vs idle: %.2f (%.1f / %.1f us; %s)%s\n", names[c], cond == "hog" ? "beside a CPU hog" : cond == "stream" ? "beside a loopback stream" : "under " cond " load",
				r, v, m["idle", c], r <= 1.2 ? "within 20%" : "over 20%", cond == "hog" || cond == "stream" ? " [reference, no admin traffic]" : ""
		}
	}' "$work/windows"
echo "bench: done"
