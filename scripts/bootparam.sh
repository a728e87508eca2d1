#!/usr/bin/env bash
# Puts usbcore.authorized_default=0 on the kernel command line through a GRUB drop-in, or
# takes it off again, so that no USB device is authorized between power-on and the start
# of mediagate (docs/daemon.md, "Early boot" and "Break-glass").
# Usage: scripts/bootparam.sh install|remove|status [--root DIR]
#   install  write /etc/default/grub.d/mediagate.cfg and run update-grub
#   remove   delete that drop-in and run update-grub (the undo)
#   status   say whether the drop-in is there and what the running kernel uses
# --root DIR works on DIR/etc/... instead of /etc/... and runs no update-grub unless
# MEDIAGATE_UPDATE_GRUB names a command (for tests and image builds).
# MEDIAGATE_AUTHORIZED_DEFAULT=2 (kernels >= 5.17) keeps only external ports closed, for
# machines whose own keyboard is USB.
# Without GRUB it says what it could not do and exits 0: it never fails an install.
set -euo pipefail

action=${1:-}
shift || true
root=/
while (($#)); do
	case $1 in
	--root) root=${2:?--root needs a directory}; shift ;;
	*) echo "bootparam: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $action in
install | remove | status) ;;
-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
*) echo "usage: scripts/bootparam.sh install|remove|status [--root DIR]" >&2; exit 2 ;;
esac

value=${MEDIAGATE_AUTHORIZED_DEFAULT:-0}
if [[ $value != 0 && $value != 2 ]]; then
	echo "bootparam: MEDIAGATE_AUTHORIZED_DEFAULT must be 0 or 2, not $value" >&2
	exit 2
fi
param="usbcore.authorized_default=$value"
root=${root%/}
grub_default=$root/etc/default/grub
dropin_dir=$root/etc/default/grub.d
dropin=$dropin_dir/mediagate.cfg

# update_grub regenerates grub.cfg; prints what it did or could not do.
update_grub() {
	local cmd=${MEDIAGATE_UPDATE_GRUB:-}
	if [[ -z $cmd ]]; then
		if [[ -n $root ]]; then
			echo "bootparam: not running update-grub for --root $root; run it inside that system"
			return 0
		fi
		if command -v update-grub >/dev/null; then
			cmd=update-grub
		elif command -v grub-mkconfig >/dev/null && [[ -d /boot/grub ]]; then
			cmd="grub-mkconfig -o /boot/grub/grub.cfg"
		else
			echo "bootparam: WARNING: neither update-grub nor grub-mkconfig found: the change takes effect only when the GRUB configuration is next generated" >&2
			return 0
		fi
	fi
	if ! $cmd >/dev/null 2>&1; then
		echo "bootparam: WARNING: '$cmd' failed: run it by hand, or the change does not take effect at the next boot" >&2
		return 0
	fi
	echo "bootparam: ran $cmd"
}

case $action in
install)
	if [[ ! -f $grub_default ]]; then
		cat >&2 <<EOF
bootparam: WARNING: no GRUB configuration ($grub_default): $param was NOT put on the
  kernel command line. Until you add it to your boot loader's kernel command line by
  hand, USB devices plugged in at boot are authorized until mediagate starts (udev's
  rule locks the root hubs when it starts). See docs/daemon.md, "Early boot".
EOF
		exit 0
	fi
	mkdir -p "$dropin_dir"
	tmp=$(mktemp "$dropin_dir/.mediagate.XXXXXX")
	cat >"$tmp" <<EOF
# Written by mediagate (scripts/bootparam.sh install). USB devices stay unauthorized from
# power-on until mediagate decides them; see docs/daemon.md, "Early boot".
# Undo: scripts/bootparam.sh remove   (or: rm $(basename "$dropin_dir")/mediagate.cfg && update-grub)
# For one boot only: in the GRUB menu press e and delete $param from the linux line.
GRUB_CMDLINE_LINUX="\${GRUB_CMDLINE_LINUX:-} $param"
EOF
	chmod 0644 "$tmp"
	mv -f "$tmp" "$dropin"
	echo "bootparam: wrote ${dropin#"$root"} ($param)"
	update_grub
	echo "bootparam: takes effect at the next boot (check: cat /sys/module/usbcore/parameters/authorized_default)"
	;;
remove)
	if [[ -e $dropin ]]; then
		rm -f "$dropin"
		echo "bootparam: removed ${dropin#"$root"}"
		update_grub
		echo "bootparam: from the next boot the kernel authorizes USB devices by default again until mediagate starts"
	else
		echo "bootparam: ${dropin#"$root"} is not there; nothing to undo"
	fi
	;;
status)
	if [[ -e $dropin ]]; then
		echo "drop-in: ${dropin#"$root"}: $(grep -o 'usbcore.authorized_default=[0-9-]*' "$dropin" || echo '?')"
	else
		echo "drop-in: none"
	fi
	if [[ -z $root && -r /sys/module/usbcore/parameters/authorized_default ]]; then
		echo "running kernel: usbcore.authorized_default=$(cat /sys/module/usbcore/parameters/authorized_default)"
	fi
	;;
esac
