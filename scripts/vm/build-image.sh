#!/usr/bin/env bash
# Builds the Debian bookworm guest of the end-to-end test bed into OUTDIR:
#   vmlinuz      the guest kernel
#   initrd.img   a tiny busybox initramfs (build-initramfs.sh)
#   rootfs.qcow2 the root file system (ext4, whole disk, no partition table)
#   kernel.txt   the kernel version
# Needs root (mmdebstrap in root mode) and the Debian mirror from this machine's apt sources.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-image.sh OUTDIR}
mkdir -p "$out"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

mapfile -t mirrors < <("$here/mirror.sh")
include=$(grep -v '^[[:space:]]*\(#\|$\)' "$here/packages.txt" | paste -sd, -)

echo "build-image: mmdebstrap bookworm ($include)" >&2
mmdebstrap --quiet --variant=minbase --format=directory \
	--include="$include" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	bookworm "$root" "${mirrors[@]}"

kver=$(basename "$(ls -d "$root"/lib/modules/*/ | head -n1)")
echo "build-image: kernel $kver" >&2

# Drop kernel modules a headless VM with USB media never loads (about 3/4 of the image).
mods=$root/lib/modules/$kver/kernel
rm -rf "$mods"/drivers/{gpu,media,infiniband,staging,net/wireless,net/ethernet,bluetooth,iio,mtd,isdn,comedi,video,scsi/mpt3sas,scsi/lpfc,scsi/qla2xxx,scsi/megaraid,scsi/be2iscsi,scsi/bfa,scsi/fcoe,scsi/qedf,scsi/qedi,scsi/aacraid,scsi/smartpqi,scsi/hisi_sas,net/can,thunderbolt,hwmon,watchdog,edac,platform/x86,misc/mei,crypto/qat,crypto/ccp,fpga,accel,nvme,target,firewire,atm,gnss,w1,pcmcia,parport,power/supply} \
	"$mods"/sound "$mods"/net/{wireless,mac80211,bluetooth,netfilter,ipv4/netfilter,ipv6/netfilter,bridge/netfilter,sctp,rxrpc,tipc,rds,sunrpc,ceph,openvswitch,batman-adv,mpls,nfc,can,dccp,atm,l2tp,netrom,rose,ax25,mac802154,ieee802154,qrtr,vmw_vsock} \
	"$mods"/fs/{btrfs,xfs,ocfs2,gfs2,nfs,nfsd,ceph,cifs,smb,f2fs,jfs,reiserfs,ubifs,orangefs,dlm,afs,nilfs2,bcachefs,lockd,nfs_common,coda,erofs,ntfs3,hfs,hfsplus,gfs2,jffs2,cachefiles,dlm,ksmbd}
# Of drivers/md keep device-mapper only (dm-linear is in dm-mod): e2e TestMountLogStackedMedium.
find "$mods"/drivers/md -name '*.ko*' ! -name 'dm-mod.ko*' -delete
chroot "$root" depmod -a "$kver"
rm -rf "$root"/boot/initrd.img* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*

# Guest set-up: name, passwordless root on the serial console, the 9p share, the runner.
echo mediagate-e2e >"$root/etc/hostname"
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda  /       ext4  rw,errors=remount-ro  0 1
hostshare /share  9p    trans=virtio,version=9p2000.L,msize=512000,nofail,x-systemd.device-timeout=20s  0 0
FSTAB
mkdir -p "$root/share"
printf '9pnet_virtio\n9p\n' >"$root/etc/modules-load.d/mediagate-e2e.conf"
install -m 0644 "$here/image/mediagate-e2e-runner.service" "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/mediagate-e2e-runner.service \
	"$root/etc/systemd/system/multi-user.target.wants/mediagate-e2e-runner.service"
# USBGuard is in the image only for scripts/bench-usbguard.sh, which starts it itself:
# at boot it would block the sticks of every other scenario. usbguard-dbus.service
# (enabled by the package) requires usbguard.service, so it goes too.
rm -f "$root"/etc/systemd/system/*.wants/usbguard*.service "$root"/etc/systemd/system/dbus-org.usbguard*.service
# Timers that only cost boot time in a throw-away VM.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
	systemd-tmpfiles-clean.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done

cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
"$here/build-initramfs.sh" "$root" "$kver" "$work/initrd.img"

size_mb=$(( $(du -sm "$root" | cut -f1) + 1024 ))
echo "build-image: ext4 root ${size_mb} MiB" >&2
mkfs.ext4 -q -F -L mediagate-e2e -d "$root" "$work/rootfs.raw" "${size_mb}M" >/dev/null
qemu-img convert -O qcow2 "$work/rootfs.raw" "$work/rootfs.qcow2"
rm -f "$work/rootfs.raw"

echo "$kver" >"$work/kernel.txt"
mv -f "$work/vmlinuz" "$work/initrd.img" "$work/rootfs.qcow2" "$work/kernel.txt" "$out/"
echo "build-image: done in $out" >&2
