package enforce

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mediagate/internal/sysfs"
)

// fakeSys builds a small fake sysfs: two root hubs, a USB device, a SCSI disk with two
// partitions and an MMC card.
type fakeSys struct {
	root, dev, mountinfo, run string
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	usbDev  = "/devices/pci0000:00/0000:00:04.0/usb2/2-1"
	scsiDsk = "/devices/pci0000:00/0000:00:05.0/host0/target0:0:0/0:0:0:0/block/sdb"
	mmcDsk  = "/devices/pci0000:00/0000:00:06.0/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0"
)

func newSysfs(t *testing.T) fakeSys {
	d := t.TempDir()
	s := fakeSys{root: filepath.Join(d, "sys"), dev: filepath.Join(d, "dev"), mountinfo: filepath.Join(d, "mountinfo"), run: filepath.Join(d, "run")}
	for _, hub := range []string{"usb1", "usb2"} {
		dir := filepath.Join(s.root, "devices/pci0000:00/0000:00:04.0", hub)
		write(t, filepath.Join(dir, "authorized_default"), "1\n")
		os.MkdirAll(filepath.Join(s.root, "bus/usb/devices"), 0o755)
		os.Symlink(dir, filepath.Join(s.root, "bus/usb/devices", hub))
	}
	write(t, filepath.Join(s.root, usbDev, "authorized"), "0\n")
	write(t, filepath.Join(s.root, scsiDsk, "dev"), "8:16\n")
	write(t, filepath.Join(s.root, scsiDsk, "uevent"), "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\nDISKSEQ=7\n")
	write(t, filepath.Join(s.root, scsiDsk, "device", "delete"), "")
	for i, p := range []string{"sdb1", "sdb2"} {
		write(t, filepath.Join(s.root, scsiDsk, p, "partition"), "1\n")
		write(t, filepath.Join(s.root, scsiDsk, p, "dev"), "8:"+string(rune('1'+i))+"7\n")
		write(t, filepath.Join(s.root, scsiDsk, p, "uevent"), "DEVNAME="+p+"\nDEVTYPE=partition\nDISKSEQ=7\n")
	}
	write(t, filepath.Join(s.root, mmcDsk, "dev"), "179:0\n")
	write(t, filepath.Join(s.root, mmcDsk, "uevent"), "DEVNAME=mmcblk0\n")
	card := filepath.Dir(filepath.Dir(filepath.Join(s.root, mmcDsk)))
	write(t, filepath.Join(card, "cid"), "035344534431364780a1b2c3d4013b00\n")
	write(t, filepath.Join(s.root, "bus/mmc/drivers/mmcblk/unbind"), "")
	os.Symlink(filepath.Join(s.root, "bus/mmc/drivers/mmcblk"), filepath.Join(card, "driver"))
	write(t, s.mountinfo, "22 1 8:17 / /media/user/MY\\040STICK rw - vfat /dev/sdb1 rw\n23 1 8:2 / / rw - ext4 /dev/sda2 rw\n")
	return s
}

type opLog struct{ ops []string }

func (l *opLog) ops_() Ops {
	return Ops{
		SetReadOnly: func(n string) error { l.ops = append(l.ops, "ro "+filepath.Base(n)); return nil },
		Eject:       func(n string) error { l.ops = append(l.ops, "eject "+filepath.Base(n)); return nil },
		Unmount:     func(m string) error { l.ops = append(l.ops, "umount "+m); return nil },
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestLockAndAuthorize(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := New(Config{Sys: s.root, Dev: s.dev, Mountinfo: s.mountinfo, RunDir: s.run}, l.ops_(), nil)
	hubs, err := e.LockUSBDefault()
	if err != nil || !slices.Equal(hubs, []string{"usb1", "usb2"}) {
		t.Fatalf("LockUSBDefault = %v, %v", hubs, err)
	}
	if got := read(t, filepath.Join(s.root, "devices/pci0000:00/0000:00:04.0/usb2/authorized_default")); got != "0" {
		t.Errorf("authorized_default = %q", got)
	}
	if ch, err := e.AuthorizeUSB(usbDev, false); ch || err != nil {
		t.Errorf("deauthorizing an unauthorized device: changed %v, %v", ch, err)
	}
	if ch, err := e.AuthorizeUSB(usbDev, true); !ch || err != nil {
		t.Errorf("authorize: changed %v, %v", ch, err)
	}
	if on, _ := e.USBAuthorized(usbDev); !on {
		t.Error("not authorized after AuthorizeUSB")
	}
	for _, bad := range []string{"/devices/../../etc", "/etc/passwd", "devices/x", "/devices/nope"} {
		if _, err := e.AuthorizeUSB(bad, true); err == nil {
			t.Errorf("AuthorizeUSB(%q) succeeded", bad)
		}
	}
}

func TestDetachSCSI(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo, RunDir: s.run}, l.ops_(), nil)
	write(t, filepath.Join(s.run, "sdb1.7"), "8:17\n")
	if err := e.Detach(Target{SysPath: scsiDsk}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ro sdb", "ro sdb1", "ro sdb2", "umount /media/user/MY STICK"}
	if !slices.Equal(l.ops, want) {
		t.Errorf("ops %q, want %q", l.ops, want)
	}
	if got := read(t, filepath.Join(s.root, scsiDsk, "device", "delete")); got != "1" {
		t.Errorf("device/delete = %q", got)
	}
	if _, err := os.Stat(filepath.Join(s.run, "sdb1.7")); err == nil {
		t.Error("allow marker left behind")
	}
}

func TestDetachMMCUnbinds(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo}, l.ops_(), nil)
	if err := e.Detach(Target{SysPath: mmcDsk}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(s.root, "bus/mmc/drivers/mmcblk/unbind")); got != "mmc0:aaaa" {
		t.Errorf("unbind = %q", got)
	}
}

func TestReleaseWritesMarkersAndChange(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo, RunDir: s.run}, l.ops_(), nil)
	if err := e.Release(Target{SysPath: scsiDsk}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sdb.7", "sdb1.7", "sdb2.7"} {
		if _, err := os.Stat(filepath.Join(s.run, n)); err != nil {
			t.Errorf("marker %s: %v", n, err)
		}
	}
	// The next medium under the same kernel name is not covered by these markers, and
	// Forget removes them whatever their sequence.
	e.Forget("sdb1")
	if _, err := os.Stat(filepath.Join(s.run, "sdb1.7")); err == nil {
		t.Error("Forget left sdb1.7")
	}
	if got := read(t, filepath.Join(s.root, scsiDsk, "sdb1", "uevent")); got != "change" {
		t.Errorf("uevent of sdb1 = %q", got)
	}
	if err := e.ClearMarkers(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(s.run); len(ents) != 0 {
		t.Errorf("markers left: %v", ents)
	}
}

func TestEject(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo}, l.ops_(), nil)
	if err := e.Eject(Target{SysPath: scsiDsk}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ops, "eject sdb") || l.ops[0] != "ro sdb" {
		t.Errorf("ops %q", l.ops)
	}
}

func TestRecorderAuthorizedState(t *testing.T) {
	r := NewRecorder()
	if ch, _ := r.AuthorizeUSB("/devices/x", true); !ch {
		t.Error("first authorize not a change")
	}
	if ch, _ := r.AuthorizeUSB("/devices/x", true); ch {
		t.Error("second authorize a change")
	}
	r.AuthorizeUSB("/devices/x", false)
	if ch, _ := r.AuthorizeExact(USBDevice{DevPath: "/devices/x"}, true); !ch {
		t.Error("exact authorize not a change")
	}
	if got := r.Ops(); !slices.Equal(got, []string{"authorize-by-path /devices/x", "deauthorize /devices/x", "authorize /devices/x"}) {
		t.Errorf("ops %q", got)
	}
}

// AuthorizeExact writes only to the device whose stamp was read, through its held
// directory; a device that took its place is never written.
func TestAuthorizeExact(t *testing.T) {
	s := newSysfs(t)
	dir := filepath.Join(s.root, usbDev)
	for name, v := range map[string]string{"busnum": "2\n", "devnum": "7\n", "descriptors": "\x12\x01", "authorized": "0\n"} {
		write(t, filepath.Join(dir, name), v)
	}
	e := New(Config{Sys: s.root, Dev: s.dev, Mountinfo: s.mountinfo, RunDir: s.run}, Ops{}, nil)
	held, err := sysfs.OpenDir(s.root, usbDev)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	stamp, err := held.USBStamp()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Dir: held}, true); err == nil || read(t, filepath.Join(dir, "authorized")) != "0" {
		t.Errorf("authorized without a stamp: %v", err)
	}
	// By a directory opened now, and by the held one.
	if ch, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Stamp: stamp}, true); !ch || err != nil || read(t, filepath.Join(dir, "authorized")) != "1" {
		t.Errorf("authorize by stamp: %v %v", ch, err)
	}
	if ch, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Dir: held, Stamp: stamp}, true); ch || err != nil {
		t.Errorf("authorize again: %v %v", ch, err)
	}
	if ch, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Dir: held, Stamp: stamp}, false); !ch || err != nil || read(t, filepath.Join(dir, "authorized")) != "0" {
		t.Errorf("deauthorize: %v %v", ch, err)
	}

	// Re-enumerated at the same place: new device number.
	write(t, filepath.Join(dir, "devnum"), "8\n")
	if _, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Stamp: stamp}, true); !errors.Is(err, ErrDeviceChanged) {
		t.Errorf("after re-enumeration: %v", err)
	}
	if _, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Dir: held, Stamp: stamp}, true); !errors.Is(err, ErrDeviceChanged) {
		t.Errorf("after re-enumeration, held: %v", err)
	}
	write(t, filepath.Join(dir, "devnum"), "7\n")

	// Unplugged, and another device at the same path: the held directory is gone.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"busnum": "2\n", "devnum": "7\n", "descriptors": "\x12\x01", "authorized": "0\n"} {
		write(t, filepath.Join(dir, name), v) // even with the same stamp
	}
	if _, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Dir: held, Stamp: stamp}, true); !errors.Is(err, ErrDeviceChanged) {
		t.Errorf("through the directory of an unplugged device: %v", err)
	}
	if got := read(t, filepath.Join(dir, "authorized")); got != "0" {
		t.Errorf("the device that took the place got authorized = %s", got)
	}
	// Gone without a successor.
	os.RemoveAll(dir)
	if _, err := e.AuthorizeExact(USBDevice{DevPath: usbDev, Stamp: stamp}, true); !errors.Is(err, ErrDeviceChanged) {
		t.Errorf("unplugged: %v", err)
	}
}

func TestDetachRefusesTheSystemDisk(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	write(t, s.mountinfo, "22 1 8:17 / /media/user/MY\\040STICK rw - vfat /dev/sdb1 rw\n23 1 8:27 / / rw - ext4 /dev/sdb2 rw\n")
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo, RunDir: s.run}, l.ops_(), nil)
	if err := e.Detach(Target{SysPath: scsiDsk}); !errors.Is(err, ErrSystemDisk) {
		t.Fatalf("Detach of the root disk = %v; want ErrSystemDisk", err)
	}
	if len(l.ops) != 0 {
		t.Errorf("ops on the system disk: %q", l.ops)
	}
	if got := read(t, filepath.Join(s.root, scsiDsk, "device", "delete")); got == "1" {
		t.Error("the system disk was deleted")
	}
}
