#!/bin/sh
# The README's second command: the whole test suite on a fresh Debian 12 machine.
#   sudo scripts/test.sh
# Installs what is missing (Debian packages; crictl/critest v1.26.1 built offline from
# ../shared/conformance, with its offline registry and CNI set-up), checks formatting, then
# builds and tests: gcc with -Werror (with critest against the runc, docker, lxc, lxc-idmap
# and libvirt classes), gcc with ASan+UBSan, gcc with TSan, and clang (with a bounded
# libFuzzer run).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (it installs packages)" >&2; exit 1; }
shared=${CRIB_SHARED:-$top/../shared}
fuzz_seconds=${CRIB_FUZZ_SECONDS:-60}
jobs=$(nproc)

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/deps.sh test
"$shared/conformance/build-cri-tools.sh"
# dockerd (which setup-env uses to build images) trusts any containerd socket it finds and
# never starts its own; a socket left by a containerd that died with an earlier session
# would make it fail, so a socket nothing listens on goes.
sock=/run/containerd/containerd.sock
if [ -S "$sock" ] && ! /usr/bin/python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$sock" 2>/dev/null; then
	echo "removing stale $sock (nothing listens on it)"
	rm -f "$sock" "$sock.ttrpc"
fi
# critest's offline world: registry 127.0.0.1:5000 with its images, the bench-isolated CNI.
SKIP_CONTAINERD=1 "$shared/conformance/setup-env.sh"

step "format (clang-format --dry-run)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

build_and_test() {
	dir=$1
	skip=$2
	shift 2
	cmake -S "$top" -B "$dir" -DCRIB_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	(cd "$dir" && ctest --output-on-failure -j1 -E "$skip")
}

step "gcc, -Werror: unit, fuzz-corpus replay, module exports, CRI integration, critest"
build_and_test "$top/build-ci-gcc" '^$' -DCMAKE_BUILD_TYPE=RelWithDebInfo

step "gcc, ASan+UBSan: the same suites"
# critest once is enough: the same code runs in the gcc build, and under ASan it is slow.
build_and_test "$top/build-ci-asan" '^critest' -DCMAKE_BUILD_TYPE=Debug -DCRIB_SANITIZE=address,undefined

step "gcc, TSan: the loop / completion-queue / worker boundary (CRI integration)"
cmake -S "$top" -B "$top/build-ci-tsan" -DCRIB_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
	-DCRIB_SANITIZE=thread >/dev/null
cmake --build "$top/build-ci-tsan" -j"$jobs" >/dev/null
(cd "$top/build-ci-tsan" &&
	TSAN_OPTIONS="halt_on_error=1 suppressions=$top/tests/tsan.supp" \
		ctest --output-on-failure -R '^integration$')

step "clang, -Werror: unit and fuzz-corpus replay"
CC=clang cmake -S "$top" -B "$top/build-ci-clang" -DCRIB_WERROR=ON >/dev/null
cmake --build "$top/build-ci-clang" -j"$jobs" >/dev/null
(cd "$top/build-ci-clang" && ctest --output-on-failure -R '^(unit|fuzz)_')

step "libFuzzer, ${fuzz_seconds} s per target"
BUILD="$top/build-ci-fuzz" tests/fuzz/run-fuzzers.sh "$fuzz_seconds"

step "all tests passed"
