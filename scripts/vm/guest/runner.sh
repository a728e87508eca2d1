#!/bin/bash
# Guest side of the mediagate end-to-end test bed. Started at boot by
# mediagate-e2e-runner.service, it runs the commands the host drops on the 9p share:
#
#   host writes  cmd/N.timeout (seconds), then cmd/N.sh (renamed into place: complete)
#   guest writes cmd/N.out, cmd/N.err, then cmd/N.rc (renamed into place: complete)
#
# Each command runs as root in its own bash, concurrently with the others, under
# `timeout`. When it is up the runner writes ready (renamed into place) with facts about
# the guest. It never exits on its own; the VM is thrown away after the run.
set -u
share=${1:-/share}
cmd=$share/cmd
mkdir -p "$cmd"

# A FIFO nobody writes to: `read -t` on it sleeps without forking a process.
fifo=${MEDIAGATE_E2E_FIFO:-/run/mediagate-e2e-runner.fifo}
rm -f "$fifo"
mkfifo "$fifo"
exec 3<>"$fifo"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 HOME=/root

run_one() { # id
	local base=$cmd/$1 t=600 rc
	[[ -r $base.timeout ]] && t=$(<"$base.timeout")
	(cd / && exec timeout -k 5 "$t" /bin/bash "$base.sh") </dev/null >"$base.out" 2>"$base.err"
	rc=$?
	echo "$rc" >"$base.rc.tmp"
	mv -f "$base.rc.tmp" "$base.rc"
}

# Ready means the USB host controller's root hubs are there and udev has seen them: on a
# loaded machine the guest's services can start before xhci has registered its buses, and
# scenarios touch /sys/bus/usb/devices/usb* first thing.
# (Only where there is a USB host controller: the runner's own tests run it elsewhere.)
if grep -qs '^0x0c03' /sys/bus/pci/devices/*/class; then
	for _ in $(seq 600); do
		compgen -G '/sys/bus/usb/devices/usb[0-9]*' >/dev/null && break
		read -r -t 0.1 <&3
	done
	udevadm settle --timeout=30 || true
fi

{
	echo "kernel=$(uname -r)"
	echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
	echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
} >"$share/ready.tmp"
mv -f "$share/ready.tmp" "$share/ready"

declare -A started=()
shopt -s nullglob
while :; do
	for f in "$cmd"/*.sh; do
		id=${f##*/}
		id=${id%.sh}
		[[ -n ${started[$id]:-} ]] && continue
		started[$id]=1
		run_one "$id" &
	done
	read -r -t 0.1 -u 3 _ || true
done
