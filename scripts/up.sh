#!/bin/sh
# The README's first command: installs what is missing, builds crib, installs it and
# (re)starts cribd on its default configuration (/etc/crib/crib.conf).
#   sudo scripts/up.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "up.sh: run as root (it installs packages and starts cribd)" >&2; exit 1; }
"$top/scripts/deps.sh" build

build=$top/build-release
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr/local >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cmake --install "$build" >/dev/null

# Configuration: installed once, never overwritten (the operator owns it afterwards).
install -d -m 0755 /etc/crib /etc/crib/conf.d /usr/local/lib/crib/backends /var/log/crib
[ -e /etc/crib/crib.conf ] || install -m 0644 "$top/broker/crib.conf" /etc/crib/crib.conf
for f in "$top"/conf.d/*.conf; do
	[ -e "/etc/crib/conf.d/$(basename "$f")" ] || install -m 0644 "$f" /etc/crib/conf.d/
done

# The docker class (conf.d/20-docker.conf) needs a Docker Engine: start one when none
# answers on its socket.  No bridge and no iptables rules: pods get their network from
# CNI, through cribd, as on every other class.
if ! docker info >/dev/null 2>&1; then
	setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
		>>/var/log/crib/dockerd.log 2>&1 < /dev/null &
	for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
	docker info >/dev/null 2>&1 || echo "up.sh: dockerd did not start (see /var/log/crib/dockerd.log); the docker class stays unhealthy" >&2
fi

# The vm class (conf.d/40-libvirt.conf) needs libvirtd: start one when none answers.
"$top/scripts/libvirtd.sh" /var/log/crib ||
	echo "up.sh: libvirtd did not start (see /var/log/crib/libvirtd.log); the vm class stays unhealthy" >&2

# (Re)start.  No init system is assumed: cribd runs detached, its log in /var/log/crib.
pidfile=/run/crib/cribd.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	kill -TERM "$(cat "$pidfile")"
	for _ in $(seq 1 400); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
fi
install -d -m 0755 /run/crib
setsid /usr/local/sbin/cribd --config /etc/crib/crib.conf >>/var/log/crib/cribd.log 2>&1 < /dev/null &
echo $! > "$pidfile"
for _ in $(seq 1 100); do
	[ -S /run/crib/crib.sock ] && break
	kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 /var/log/crib/cribd.log >&2; exit 1; }
	sleep 0.1
done
[ -S /run/crib/crib.sock ] || { echo "up.sh: cribd did not start" >&2; tail -20 /var/log/crib/cribd.log >&2; exit 1; }
echo "cribd $(/usr/local/sbin/cribd --version | head -1 | cut -d' ' -f2) is serving CRI on unix:///run/crib/crib.sock (log: /var/log/crib/cribd.log)"
