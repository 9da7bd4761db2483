#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Usage: tests/fuzz/run-fuzzers.sh [SECONDS]
#
# Configures a clang build with libFuzzer targets (CRIB_FUZZ=ON) and the broker code instrumented
# for coverage, ASan and UBSan, builds the fuzz targets, and runs each for SECONDS (default 60)
# over a copy of its seed corpus, so that the corpora in the tree only change by hand.  The
# build directory is $BUILD, or build-fuzz in the source tree.  Logs, the grown corpora and any
# crash reproducers stay under $BUILD/fuzz-run.  Exits non-zero when a target crashed, leaked,
# timed out or ran out of memory; save a reproducer worth keeping as
# tests/fuzz/crashes/<target>-<name>.
set -eu

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
	echo "Usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build-fuzz}
# Every target has a seed corpus directory of its name.
targets=$(cd "$src/tests/fuzz/corpus" && ls)
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$build"
CC=clang cmake -S "$src" -B "$build" -DCRIB_FUZZ=ON \
	-DCRIB_SANITIZE=fuzzer-no-link,address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>"$build/fuzz-configure.log" 2>&1 || {
	cat "$build/fuzz-configure.log" >&2
	exit 1
}
# CC only counts when the build directory is new: an old gcc directory must not pass for one.
if ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; then
	echo "$build was configured with a compiler other than clang; remove it or set BUILD" >&2
	exit 1
fi

set --
for t in $targets; do
	set -- "$@" "fuzz_$t"
done
cmake --build "$build" --parallel "$jobs" --target "$@"

run=$build/fuzz-run
rm -rf "$run"
mkdir -p "$run"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=""
for t in $targets; do
	corpus=$run/corpus/$t
	artifacts=$run/artifacts/$t
	log=$run/$t.log

	mkdir -p "$corpus" "$artifacts"
	cp "$src/tests/fuzz/corpus/$t"/* "$corpus/"
	echo "== fuzz_$t: $seconds s over $(find "$corpus" -type f | wc -l) seeds (log: $log)"
	rc=0
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 \
		-rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
	# The first and the last coverage lines, and the totals.
	grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | tail -n 1 || true
	grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
	# Slow units are reported in the log but are no failure.
	found=$(find "$artifacts" -type f ! -name 'slow-unit-*')
	if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
		echo "!! fuzz_$t failed (exit $rc); reproducers:" >&2
		[ -z "$found" ] || echo "$found" >&2
		grep -E 'ERROR: |SUMMARY: |invariant violated|runtime error' "$log" >&2 || true
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "Failed:$failed" >&2
	exit 1
fi
echo "All fuzz targets ran $seconds s without a crash"
