# shellcheck shell=sh
# The sourcing script sets $top and $work and reads $reg_pid (and $pid).
# shellcheck disable=SC2154,SC2034
# What the bench scripts and tests/conformance/run.sh share; sourced, with $top (the
# source tree) and $work (a temp dir) set, and $build (a build tree) for start_cribd.

http_ok() { /usr/bin/python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A docker-registry of our own on a free loopback port, filled with the test images, and
# $work/conf.d/05-registries.conf pointing every registry at it.  Sets $reg and $reg_pid.
start_registry() {
	mkdir -p "$work/registry" "$work/conf.d"
	reg=127.0.0.1:$(free_port)
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
	printf '[registry.*]\nmirror = http://%s\nmirror_only = true\n' "$reg" \
		> "$work/conf.d/05-registries.conf"
}

# wait_cribd SOCKET LOG: until cribd serves SOCKET, or fails showing LOG.
wait_cribd() {
	for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "bench: cribd did not start:" >&2
	cat "$2" >&2
	exit 1
}

# start_cribd NAME CNI_DIR [CLASS [LOG_LEVEL]]: a cribd of $build with its own state on
# $work/NAME.sock, its log in $work/NAME.log, CLASS (default proc) its default runtime
# class, logging at LOG_LEVEL (default warning); its classes are in $work/conf.d.  Sets $pid.
start_cribd() {
	cat > "$work/$1.conf" <<CONF
[daemon]
cri_socket = $work/$1.sock
admin_socket = $work/$1-admin.sock
state_dir = $work/state${1#crib}
run_dir = $work/run${1#crib}
plugin_dir = $build/plugins
conf_dir = $work/conf.d
cni_conf_dir = $2
default_runtime_class = ${3:-proc}
log_level = ${4:-warning}
${5:-}
CONF
	"$build/cribd" --config "$work/$1.conf" 2>"$work/$1.log" &
	pid=$!
	wait_cribd "$work/$1.sock" "$work/$1.log"
}

# start_dockerd: a dockerd of our own (socket, data root, containerd namespace under $work;
# no bridge, no iptables), so that the node's Docker is never touched.  Sets $dsock and
# $dockerd_pid; stop_dockerd removes its containers and stops it.
start_dockerd() {
	dsock=$work/docker.sock
	dockerd --host "unix://$dsock" --data-root "$work/docker" --exec-root "$work/docker-exec" \
		--pidfile "$work/docker.pid" --containerd-namespace "crib-$$" \
		--containerd-plugins-namespace "crib-$$-p" --bridge=none --iptables=false \
		--ip-forward=false --ip-masq=false --userland-proxy=false >"$work/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 1 600); do
		docker -H "unix://$dsock" version >/dev/null 2>&1 && return 0
		kill -0 "$dockerd_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: dockerd did not start:" >&2
	cat "$work/dockerd.log" >&2
	exit 1
}

stop_dockerd() {
	[ -n "${dockerd_pid:-}" ] || return 0
	for id in $(docker -H "unix://$dsock" ps -aq 2>/dev/null); do
		docker -H "unix://$dsock" rm -f "$id" >/dev/null 2>&1 || true
	done
	kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
	dockerd_pid=""
}

# unmount_under DIR: detaches every mount below DIR, deepest first (container root
# filesystems and namespace pins outlive cribd).
unmount_under() {
	awk -v w="$1/" 'index($2, w) == 1 {print length($2), $2}' /proc/self/mounts |
		sort -rn | cut -d' ' -f2 | xargs -r -n1 umount -l
}
