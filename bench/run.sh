#!/bin/sh
# CRI round-trip latency of cribd (and of containerd when it runs here), same client,
# same machine, same run.
#   bench/run.sh [BUILD_DIR]     (default: build; needs cribd, cri-bench, tests/backends)
# Measures Version over 5000 calls, then ListPodSandbox and ListContainers over 2000 calls
# each with 100 pods and 100 containers in cribd's store (on the testproc class: the
# broker answers lists from memory, whatever the backend).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bench=$build/cri-bench
work=$(mktemp -d /tmp/crib-bench-XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; for k in $(cat "$work"/state/backends/testproc/containers/*/keeper.pid 2>/dev/null); do kill -USR2 "$k" 2>/dev/null || true; done; rm -rf "$work"' EXIT
mkdir -p "$work/conf.d"
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
"$bench" "$ep" populate 100 >/dev/null
"$bench" "$ep" list-pods 2000 | sed 's/^/cribd /'
"$bench" "$ep" list-containers 2000 | sed 's/^/cribd /'
echo "cribd RSS with 100 pods and 100 containers: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"

if [ -S /run/containerd/containerd.sock ]; then
	"$bench" unix:///run/containerd/containerd.sock version 5000 | sed 's/^/containerd /'
else
	echo "containerd: not running here (shared/conformance/setup-env.sh starts one)"
fi
