package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// These scenarios prove the test bed itself: that a hot-plugged device reaches the guest
// kernel and udev the way a real one does, and that the kernel's USB authorization works.

func TestGuestRunsCommands(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	if got := g.MustRun(t, "echo hello; echo oops >&2"); got != "hello" {
		t.Errorf("stdout = %q, want hello", got)
	}
	res := g.Exec(t, "echo partial; exit 3")
	if res.ExitCode != 3 || strings.TrimSpace(res.Stdout) != "partial" {
		t.Errorf("exit %d, stdout %q; want 3, partial", res.ExitCode, res.Stdout)
	}
	if got := g.MustRun(t, "systemctl is-active systemd-udevd"); got != "active" {
		t.Errorf("systemd-udevd is %q", got)
	}
}

func TestStickSerialReachesUdev(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	const serial = "MEDIA0001"
	stick := vm.PlugStick(t, serial, testbed.Files{"hello.txt": []byte("hello from the host\n")})

	dev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	props := g.MustRun(t, "udevadm info --query=property --path="+dev)
	for _, want := range []string{"ID_SERIAL_SHORT=" + serial, "ID_BUS=usb", "DEVTYPE=usb_device"} {
		if !hasLine(props, want) {
			t.Errorf("udev properties of %s lack %s:\n%s", dev, want, props)
		}
	}
	if got := g.MustRun(t, "cat "+dev+"/idVendor "+dev+"/authorized"); got != "46f4\n1" {
		t.Errorf("idVendor, authorized = %q, want 46f4, 1", got)
	}

	vm.Unplug(t, stick.ID)
	g.WaitFor(t, 15*time.Second, testbed.Not(testbed.USBDeviceBySerial(serial)))
}

func TestDeauthorizeRemovesBlockDevice(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	const serial = "MEDIA0002"
	vm.PlugStick(t, serial, nil)
	dev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(serial, "vfat"))

	g.MustRun(t, "echo 0 > "+dev+"/authorized")
	g.WaitFor(t, 15*time.Second, "! test -b "+part+" && "+testbed.Not(testbed.PartitionBySerial(serial, "")))
	if got := g.MustRun(t, "cat "+dev+"/authorized"); got != "0" {
		t.Errorf("authorized = %q after writing 0", got)
	}
	// The usb_device itself stays, with its serial: that is what mediagate identifies.
	if got := g.MustRun(t, "cat "+dev+"/serial"); got != serial {
		t.Errorf("serial of the deauthorized device = %q", got)
	}

	g.MustRun(t, "echo 1 > "+dev+"/authorized")
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(serial, "vfat"))
}

func TestMountStickShowsInMountinfo(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	const serial = "MEDIA0003"
	vm.PlugStick(t, serial, testbed.Files{"docs/report.txt": []byte("secret report\n")})
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(serial, "vfat"))

	g.MustRun(t, "mkdir -p /mnt/stick && mount -t vfat "+part+" /mnt/stick")
	t.Cleanup(func() { g.Exec(t, "umount /mnt/stick") })
	if got := g.MustRun(t, "cat /mnt/stick/docs/report.txt"); got != "secret report" {
		t.Errorf("file on the stick = %q", got)
	}
	mi := g.MustRun(t, "cat /proc/self/mountinfo")
	if !mountinfoHas(mi, "/mnt/stick", "vfat", part) {
		t.Errorf("mountinfo has no vfat mount of %s on /mnt/stick:\n%s", part, mi)
	}
	g.MustRun(t, "umount /mnt/stick")
}

func TestUSBCDShowsISO9660(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	const serial = "DISC0001"
	cd := vm.PlugCD(t, serial, testbed.Files{"README.TXT": []byte("on a disc\n")})

	sr := g.WaitFor(t, 30*time.Second, `for d in /sys/class/block/sr*; do
	[ -e "$d" ] || continue
	n=/dev/${d##*/}
	udevadm info --query=property --name="$n" | grep -qx ID_FS_TYPE=iso9660 || continue
	udevadm info --query=property --name="$n" | grep -qx ID_SERIAL_SHORT=`+serial+` || continue
	echo "$n"; exit 0
done; exit 1`)
	props := g.MustRun(t, "udevadm info --query=property --name="+sr)
	for _, want := range []string{"ID_CDROM=1", "ID_BUS=usb", "ID_FS_TYPE=iso9660", "ID_FS_LABEL=MGDISC"} {
		if !hasLine(props, want) {
			t.Errorf("udev properties of %s lack %s:\n%s", sr, want, props)
		}
	}
	vm.Unplug(t, cd.ID)
	g.WaitFor(t, 15*time.Second, "! test -b "+sr)
}

func TestUSBKeyboardIsInputDevice(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	before := g.MustRun(t, "ls /sys/class/input | grep -c '^input' || true")
	kbd := vm.PlugKeyboard(t)
	name := g.WaitFor(t, 30*time.Second, `for d in /sys/class/input/input*; do
	grep -q '^QEMU QEMU USB Keyboard' "$d/name" 2>/dev/null && { echo "$d"; exit 0; }
done; exit 1`)
	props := g.MustRun(t, "udevadm info --query=property --path="+name)
	for _, want := range []string{"ID_INPUT_KEYBOARD=1", "ID_BUS=usb"} {
		if !hasLine(props, want) {
			t.Errorf("udev properties of %s lack %s:\n%s", name, want, props)
		}
	}
	vm.Unplug(t, kbd.ID)
	g.WaitFor(t, 15*time.Second, fmt.Sprintf("test $(ls /sys/class/input | grep -c '^input' || true) -le %s", before))
}

func TestUSBNetIsNetworkInterface(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	nic := vm.PlugNet(t)
	g.WaitFor(t, 30*time.Second, `for n in /sys/class/net/*; do
	[ "$(udevadm info --query=property --path="$n" | sed -n 's/^ID_BUS=//p')" = usb ] && { echo "$n"; exit 0; }
done; exit 1`)
	vm.Unplug(t, nic.ID)
}

func TestSticksPlugAndUnplugInterleaved(t *testing.T) {
	vm := needVM(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	a := vm.PlugStick(t, "MEDIA00A1", nil)
	devA := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial("MEDIA00A1"))
	b := vm.PlugStick(t, "MEDIA00B2", nil)
	devB := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial("MEDIA00B2"))
	if devA == devB {
		t.Fatalf("both sticks at %s", devA)
	}
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MEDIA00B2", "vfat"))

	vm.Unplug(t, a.ID)
	g.WaitFor(t, 15*time.Second, testbed.Not(testbed.USBDeviceBySerial("MEDIA00A1")))
	if got := g.MustRun(t, testbed.USBDeviceBySerial("MEDIA00B2")); got != devB {
		t.Errorf("the other stick moved: %s, was %s", got, devB)
	}

	// The same stick plugged again comes back with the same serial (on whatever port).
	vm.PlugStickImage(t, "MEDIA00A1", a.Image)
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MEDIA00A1", "vfat"))
	vm.Unplug(t, b.ID)
}

func TestMediagateBinaryRunsInGuest(t *testing.T) {
	vm := needMediagate(t)
	res := vm.Guest().Exec(t, "/usr/local/bin/mediagate --help")
	if res.ExitCode != 0 {
		t.Fatalf("mediagate --help in the guest:\n%s", res)
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// mountinfoHas reports whether mountinfo has a mount of fstype from source at target.
func mountinfoHas(mountinfo, target, fstype, source string) bool {
	for _, l := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, p := strings.Fields(pre), strings.Fields(post)
		if len(f) >= 5 && len(p) >= 2 && f[4] == target && p[0] == fstype && p[1] == source {
			return true
		}
	}
	return false
}
