package testbed

import "fmt"

// Shell snippets for Guest.WaitFor and Guest.MustRun. Each exits 0 and prints its answer
// when found, else exits 1. Devices are found by serial, never by port or sdX name: the
// port changes on every plug.

// USBDeviceBySerial prints the sysfs path of the USB device (not interface) whose serial
// attribute is serial.
func USBDeviceBySerial(serial string) string {
	return fmt.Sprintf(`for d in /sys/bus/usb/devices/*; do
	[ -r "$d/serial" ] && [ "$(cat "$d/serial")" = %s ] && { readlink -f "$d"; exit 0; }
done; exit 1`, shellQuote(serial))
}

// PartitionBySerial prints the /dev node of a partition of a USB disk with the given
// serial (ID_SERIAL_SHORT) and, unless fstype is empty, ID_FS_TYPE fstype.
func PartitionBySerial(serial, fstype string) string {
	return fmt.Sprintf(`for d in /sys/class/block/*; do
	[ -e "$d/partition" ] || continue
	p=$(udevadm info --query=property --path="$d") || continue
	printf '%%s\n' "$p" | grep -qx 'ID_BUS=usb' || continue
	printf '%%s\n' "$p" | grep -qx "ID_SERIAL_SHORT="%s || continue
	[ -z %s ] || printf '%%s\n' "$p" | grep -qx "ID_FS_TYPE="%s || continue
	echo "/dev/${d##*/}"; exit 0
done; exit 1`, shellQuote(serial), shellQuote(fstype), shellQuote(fstype))
}

// Not negates a condition snippet, even one that leaves with exit: it runs in a subshell.
func Not(cond string) string {
	return "! (\n" + cond + "\n)"
}

// DiskBySerial prints the /dev node of a whole disk whose sysfs serial attribute (virtio
// and NVMe disks have one) is serial.
func DiskBySerial(serial string) string {
	return fmt.Sprintf(`for d in /sys/class/block/*; do
	[ -r "$d/serial" ] && [ "$(cat "$d/serial")" = %s ] && { echo "/dev/${d##*/}"; exit 0; }
done; exit 1`, shellQuote(serial))
}
