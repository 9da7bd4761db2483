#!/bin/sh
# The pod VMs' initramfs: crib-agent as /init, and the kernel modules it loads (with the
# modules they depend on, in load order) from the kernel release the VMs boot.
#   mkinitramfs.sh OUT AGENT KERNEL_RELEASE MODULE...
set -eu
[ $# -ge 3 ] || { echo "usage: mkinitramfs.sh OUT AGENT KERNEL_RELEASE MODULE..." >&2; exit 2; }
out=$1 agent=$2 krel=$3
shift 3
moddir=/lib/modules/$krel
[ -f "$moddir/modules.dep" ] || {
	echo "mkinitramfs.sh: no $moddir/modules.dep (install linux-image-$krel)" >&2
	exit 1
}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib/modules"
cp "$agent" "$stage/init"

order=" "
# add PATH: PATH's dependencies (modules.dep lists them), then PATH itself.
add() {
	case "$order" in *" $1 "*) return ;; esac
	deps=$(awk -F': *' -v m="$1" '$1 == m { print $2 }' "$moddir/modules.dep")
	for d in $deps; do add "$d"; done
	order="$order$1 "
}
for m in "$@"; do
	path=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n) }
		n == m { print $1; exit }' "$moddir/modules.dep")
	if [ -z "$path" ]; then
		# Built into the kernel: nothing to load.
		grep -q "/$m.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
		echo "mkinitramfs.sh: kernel $krel has no module $m" >&2
		exit 1
	fi
	add "$path"
done
for p in $order; do
	cp "$moddir/$p" "$stage/lib/modules/"
	basename "$p" >>"$stage/lib/modules/load.order"
done
touch "$stage/lib/modules/load.order"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -1 >"$out.tmp"
mv "$out.tmp" "$out"
