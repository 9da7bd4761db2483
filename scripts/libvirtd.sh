#!/bin/sh
# Starts libvirtd for the libvirt backend when none answers on qemu:///system, with the
# virtlogd that QEMU's logs go through.  No init system is assumed: both run detached
# (their pid files: /run/virtlogd.pid, /run/libvirtd.pid), their logs in LOGDIR.
#   libvirtd.sh [LOGDIR]   (default /var/log/crib)
set -eu
logdir=${1:-/var/log/crib}
answers() { virsh -q -c qemu:///system version >/dev/null 2>&1; }
# A daemon killed a moment ago may still be a zombie: that is not alive.
alive() {
	[ -f "$1" ] || return 1
	state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
	case "$state" in Z*) return 1 ;; esac
}

answers && exit 0
install -d -m 0755 "$logdir"
alive /run/virtlogd.pid || setsid virtlogd --daemon >>"$logdir/virtlogd.log" 2>&1 </dev/null
alive /run/libvirtd.pid || setsid libvirtd --daemon >>"$logdir/libvirtd.log" 2>&1 </dev/null
for _ in $(seq 1 300); do
	answers && exit 0
	sleep 0.1
done
echo "libvirtd.sh: libvirtd does not answer on qemu:///system (see $logdir/libvirtd.log)" >&2
exit 1
