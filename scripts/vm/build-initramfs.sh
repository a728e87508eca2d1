#!/usr/bin/env bash
# Builds a tiny initramfs for the test-bed guest: static busybox plus the kernel modules
# needed to mount an ext4 root on virtio-blk, loaded dependencies first; then switch_root.
# usage: build-initramfs.sh ROOTDIR KERNEL_VERSION OUTPUT
set -euo pipefail

root=${1:?usage: build-initramfs.sh ROOTDIR KVER OUTPUT}
kver=${2:?}
out=${3:?}
busybox=${BUSYBOX:-/bin/busybox}
moddir=$root/lib/modules/$kver
wanted=(virtio_pci virtio_blk crc32c_generic ext4)

if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	# `file` may be missing; ldd fails on a static binary.
	if ldd "$busybox" >/dev/null 2>&1; then
		echo "build-initramfs: $busybox is not static (install busybox-static)" >&2
		exit 1
	fi
fi

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$w/bin/busybox"

# Resolve module paths and their dependencies from modules.dep, in load order.
declare -A seen=()
order=()
path_of() { # module name -> relative path in modules.dep
	local n=${1//-/_}
	awk -F: -v n="$n" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); if (b == n) { print $1; exit } }' "$moddir/modules.dep"
}
add() { # relative path
	local p=$1 d
	[[ -n ${seen[$p]:-} ]] && return
	seen[$p]=1
	for d in $(awk -F: -v p="$p" '$1 == p { print $2 }' "$moddir/modules.dep"); do add "$d"; done
	order+=("$p")
}
for m in "${wanted[@]}"; do
	p=$(path_of "$m")
	if [[ -z $p ]]; then
		# Built into the kernel.
		grep -q "/${m//_/[_-]}.ko" "$moddir/modules.builtin" 2>/dev/null ||
			echo "build-initramfs: note: $m is neither a module nor listed as built-in" >&2
		continue
	fi
	add "$p"
done
: >"$w/modules.list"
for p in "${order[@]}"; do
	name=$(basename "$p")
	case $name in
	*.ko.xz) xz -dc "$moddir/$p" >"$w/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$p" >"$w/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*) cp "$moddir/$p" "$w/lib/modules/$name" ;;
	esac
	echo "$name" >>"$w/modules.list"
done

cat >"$w/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
for m in $($bb cat /modules.list); do $bb insmod /lib/modules/$m; done
root=/dev/vda
for a in $($bb cat /proc/cmdline); do
	case $a in root=*) root=${a#root=} ;; esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do $bb sleep 0.1; i=$((i + 1)); done
if ! $bb mount -t ext4 -o rw "$root" /newroot; then
	echo "initramfs: cannot mount $root; dropping to a shell" >/dev/console
	exec $bb sh </dev/console >/dev/console 2>&1
fi
$bb umount /proc /sys
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /sbin/init
INIT
chmod 0755 "$w/init"
(cd "$w" && find . | cpio --quiet -o -H newc | gzip -1) >"$out"
echo "build-initramfs: $(wc -l <"$w/modules.list") modules: $(paste -sd' ' "$w/modules.list")" >&2
