package enforce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// opLog records the operations and plays the kernel's part for sysfs writes: writing
// device/delete removes the disk, writing a device name to a driver's unbind removes
// what gone[name] says, writing remove removes the PCI function.
type opLog struct {
	ops  []string
	gone map[string]string // device name -> sysfs directory its unbinding removes
	fail map[string]error  // base name of the written path (or "name:unbind") -> error
	stay bool              // writes succeed but nothing goes away
	// discIn is how many MediumPresent calls still report a disc (negative: always).
	discIn   int
	ejectErr error // what Eject returns
}

func (l *opLog) ops_() Ops {
	return Ops{
		SetReadOnly: func(n string) error { l.ops = append(l.ops, "ro "+filepath.Base(n)); return nil },
		Eject:       func(n string) error { l.ops = append(l.ops, "eject "+filepath.Base(n)); return l.ejectErr },
		MediumPresent: func(n string) (bool, error) {
			if l.discIn == 0 {
				return false, nil
			}
			l.discIn--
			return true, nil
		},
		Unmount: func(m string) error { l.ops = append(l.ops, "umount "+m); return nil },
		Write: func(p, v string) error {
			attr := filepath.Base(p)
			l.ops = append(l.ops, "write "+attr+" "+v)
			if err := l.fail[attr]; err != nil {
				return err
			}
			if err := l.fail[v+":"+attr]; err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return err
			}
			if l.stay {
				return nil
			}
			switch attr {
			case "delete":
				return os.RemoveAll(filepath.Dir(filepath.Dir(p)))
			case "unbind":
				if d := l.gone[v]; d != "" {
					return os.RemoveAll(d)
				}
			case "remove":
				return os.RemoveAll(filepath.Dir(p))
			}
			return nil
		},
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

func newEnforcer(s fakeSys, l *opLog) *Enforcer {
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo, Swaps: filepath.Join(filepath.Dir(s.root), "swaps"), RunDir: s.run}, l.ops_(), nil)
	e.settle = 10 * time.Millisecond
	return e
}

func TestDetachSCSI(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	e := newEnforcer(s, &l)
	write(t, filepath.Join(s.run, "sdb1.7"), "8:17\n")
	err := e.Detach(Target{SysPath: scsiDsk})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ro sdb", "ro sdb1", "ro sdb2", "umount /media/user/MY STICK", "write delete 1"}
	if !slices.Equal(l.ops, want) {
		t.Errorf("ops %q, want %q", l.ops, want)
	}
	if _, err := os.Stat(filepath.Join(s.root, scsiDsk)); err == nil {
		t.Error("the disk is still there")
	}
	if _, err := os.Stat(filepath.Join(s.run, "sdb1.7")); err == nil {
		t.Error("allow marker left behind")
	}
	if got := DetachActions(err); !slices.Equal(got, []string{"detached"}) {
		t.Errorf("actions %q", got)
	}
}

func TestDetachMMCUnbinds(t *testing.T) {
	s := newSysfs(t)
	l := opLog{gone: map[string]string{"mmc0:aaaa": filepath.Join(s.root, mmcDsk)}}
	e := newEnforcer(s, &l)
	if err := e.Detach(Target{SysPath: mmcDsk}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ops, "write unbind mmc0:aaaa") {
		t.Errorf("ops %q: the card was not unbound", l.ops)
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
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo, RunDir: s.run}, l.ops_(), nil)
	// The disc was allowed before (a marker); it is now blocked.
	write(t, filepath.Join(s.run, "sdb.7"), "8:16\n")
	err := e.Eject(Target{SysPath: scsiDsk})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ro sdb", "umount /media/user/MY STICK", "eject sdb"}; !slices.Equal(l.ops, want) {
		t.Errorf("ops %q, want %q", l.ops, want)
	}
	if got := EjectActions(err); !slices.Equal(got, []string{"ejected"}) {
		t.Errorf("actions %q", got)
	}
	// Users' access went first: the marker is gone and udev was asked to apply its rules.
	if _, err := os.Stat(filepath.Join(s.run, "sdb.7")); !os.IsNotExist(err) {
		t.Errorf("allow marker still there: %v", err)
	}
	if got := read(t, filepath.Join(s.root, scsiDsk, "uevent")); got != "change" {
		t.Errorf("uevent not triggered: %q", got)
	}
}

// A drive that keeps its disc (another opener, a locked door) is tried again with a
// growing pause until the disc is out.
func TestEjectRetriedUntilOut(t *testing.T) {
	s := newSysfs(t)
	l := opLog{discIn: 3, ejectErr: errors.New("device or resource busy")}
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo}, l.ops_(), nil)
	var pauses []time.Duration
	e.sleep = func(d time.Duration) { pauses = append(pauses, d) }
	err := e.Eject(Target{SysPath: scsiDsk})
	if err != nil {
		t.Fatalf("disc out at the fourth attempt: %v", err)
	}
	if n := strings.Count(strings.Join(l.ops, "\n"), "eject sdb"); n != 4 {
		t.Errorf("%d eject attempts, want 4: %q", n, l.ops)
	}
	if want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(pauses, want) {
		t.Errorf("pauses %v, want %v", pauses, want)
	}
}

// A disc that never comes out is a failure after a bounded time, and the actions do
// not claim it was ejected.
func TestEjectGivesUp(t *testing.T) {
	s := newSysfs(t)
	l := opLog{discIn: -1, ejectErr: errors.New("device or resource busy")}
	e := New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo}, l.ops_(), nil)
	var waited time.Duration
	e.sleep = func(d time.Duration) { waited += d }
	err := e.Eject(Target{SysPath: scsiDsk})
	var ee *EjectError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v (%T), want *EjectError", err, err)
	}
	if waited > e.ejectWait || waited < e.ejectWait/2 {
		t.Errorf("waited %v in all, bound %v", waited, e.ejectWait)
	}
	if ee.Attempts < 5 || !strings.Contains(err.Error(), "device or resource busy") || !strings.Contains(err.Error(), "disc still in /dev/sdb") {
		t.Errorf("attempts %d, error %v", ee.Attempts, err)
	}
	if got := EjectActions(err); !slices.Equal(got, []string{"read-only", "unmounted"}) {
		t.Errorf("actions %q: only what succeeded", got)
	}
	// An eject the ioctl reports as done is not believed while the drive still has the disc.
	l = opLog{discIn: -1}
	e = New(Config{Sys: s.root, Dev: "/dev", Mountinfo: s.mountinfo}, l.ops_(), nil)
	e.sleep = func(time.Duration) {}
	if err := e.Eject(Target{SysPath: scsiDsk}); err == nil || slices.Contains(EjectActions(err), "ejected") {
		t.Errorf("eject with the disc still in: %v, actions %q", err, EjectActions(err))
	}
	if got := EjectActions(errors.New("other")); got != nil {
		t.Errorf("actions of a plain error: %q", got)
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
	for name, c := range map[string]struct{ mountinfo, swaps string }{
		"root on a partition":       {"23 1 8:27 / / rw - ext4 /dev/sdb2 rw\n", ""},
		"/usr on a partition":       {"23 1 8:2 / / rw - ext4 /dev/sda2 rw\n24 23 8:27 / /usr rw - ext4 /dev/sdb2 rw\n", ""},
		"root on LVM over the disk": {"23 1 253:0 / / rw - ext4 /dev/mapper/vg-root rw\n", ""},
		"swap on a partition":       {"23 1 8:2 / / rw - ext4 /dev/sda2 rw\n", "Filename Type Size Used Priority\n/dev/sdb2 partition 1000 0 -2\n"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSysfs(t)
			var l opLog
			write(t, s.mountinfo, "22 1 8:17 / /media/user/MY\\040STICK rw - vfat /dev/sdb1 rw\n"+c.mountinfo)
			write(t, filepath.Join(filepath.Dir(s.root), "swaps"), c.swaps)
			// dm-0 (a logical volume) sits on sdb2.
			dm := filepath.Join(s.root, "devices/virtual/block/dm-0")
			write(t, filepath.Join(dm, "dev"), "253:0\n")
			write(t, filepath.Join(dm, "uevent"), "DEVNAME=dm-0\n")
			os.MkdirAll(filepath.Join(s.root, scsiDsk, "sdb2", "holders"), 0o755)
			os.Symlink(dm, filepath.Join(s.root, scsiDsk, "sdb2", "holders", "dm-0"))
			e := newEnforcer(s, &l)
			err := e.Detach(Target{SysPath: scsiDsk})
			if !errors.Is(err, ErrSystemDisk) {
				t.Fatalf("Detach of the system disk = %v; want ErrSystemDisk", err)
			}
			if len(l.ops) != 0 {
				t.Errorf("ops on the system disk: %q", l.ops)
			}
			if got := DetachActions(err); len(got) != 0 {
				t.Errorf("actions %q for a refused detach", got)
			}
			if _, err := os.Stat(filepath.Join(s.root, scsiDsk)); err != nil {
				t.Error("the system disk was removed")
			}
		})
	}
}

func TestDetachUnmountsWhatIsStackedOnTheDisk(t *testing.T) {
	s := newSysfs(t)
	var l opLog
	dm := filepath.Join(s.root, "devices/virtual/block/dm-3")
	write(t, filepath.Join(dm, "dev"), "253:3\n")
	write(t, filepath.Join(dm, "uevent"), "DEVNAME=dm-3\n")
	os.MkdirAll(filepath.Join(s.root, scsiDsk, "sdb1", "holders"), 0o755)
	os.Symlink(dm, filepath.Join(s.root, scsiDsk, "sdb1", "holders", "dm-3"))
	write(t, s.mountinfo, "23 1 8:2 / / rw - ext4 /dev/sda2 rw\n30 23 253:3 / /media/user/LUKS rw - ext4 /dev/mapper/luks-x rw\n")
	e := newEnforcer(s, &l)
	if err := e.Detach(Target{SysPath: scsiDsk}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ops, "umount /media/user/LUKS") || !slices.Contains(l.ops, "ro dm-3") {
		t.Errorf("ops %q: the encrypted volume on the disk was not made read-only and unmounted", l.ops)
	}
}

// PCI disks: a virtio-blk disk on its own PCI function behind a root port, an NVMe
// controller with one or two namespaces, and the system disk vda on another function.
const (
	pciPort   = "/devices/pci0000:00/0000:00:1c.0"
	virtioFn  = pciPort + "/0000:01:00.0"
	virtioDev = virtioFn + "/virtio3"
	vdb       = virtioDev + "/block/vdb"
	vda       = "/devices/pci0000:00/0000:00:02.0/virtio1/block/vda"
	nvmeFn    = "/devices/pci0000:00/0000:00:1d.0/0000:02:00.0"
	nvme0n1   = nvmeFn + "/nvme/nvme0/nvme0n1"
	usbDisk   = "/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host1/target1:0:0/1:0:0:0/block/sdc"
)

func link(t *testing.T, target, name string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(name), 0o755)
	os.MkdirAll(target, 0o755)
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// disk adds a whole disk (and one partition) at devpath.
func (s fakeSys) disk(t *testing.T, devpath, name, majmin string) {
	d := filepath.Join(s.root, devpath)
	write(t, filepath.Join(d, "dev"), majmin+"\n")
	write(t, filepath.Join(d, "uevent"), "DEVNAME="+name+"\nDEVTYPE=disk\nDISKSEQ=9\n")
	link(t, filepath.Join(s.root, "class/block"), filepath.Join(d, "subsystem"))
	write(t, filepath.Join(d, name+"1", "partition"), "1\n")
	major, minor, _ := strings.Cut(majmin, ":")
	m, _ := strconv.Atoi(minor)
	write(t, filepath.Join(d, name+"1", "dev"), fmt.Sprintf("%s:%d\n", major, m+1))
	write(t, filepath.Join(d, name+"1", "uevent"), "DEVNAME="+name+"1\n")
}

// bind makes the device at devpath a member of bus, bound to driver.
func (s fakeSys) bind(t *testing.T, devpath, bus, driver string) {
	d := filepath.Join(s.root, devpath)
	link(t, filepath.Join(s.root, "bus", bus), filepath.Join(d, "subsystem"))
	if driver != "" {
		drv := filepath.Join(s.root, "bus", bus, "drivers", driver)
		write(t, filepath.Join(drv, "unbind"), "")
		link(t, drv, filepath.Join(d, "driver"))
	}
	write(t, filepath.Join(d, "remove"), "")
}

func newPCISysfs(t *testing.T) fakeSys {
	s := newSysfs(t)
	s.bind(t, pciPort, "pci", "pcieport")
	s.bind(t, virtioFn, "pci", "virtio-pci")
	s.bind(t, virtioDev, "virtio", "virtio_blk")
	s.disk(t, vdb, "vdb", "254:16")
	s.bind(t, "/devices/pci0000:00/0000:00:02.0", "pci", "virtio-pci")
	s.bind(t, "/devices/pci0000:00/0000:00:02.0/virtio1", "virtio", "virtio_blk")
	s.disk(t, vda, "vda", "254:0")
	s.bind(t, nvmeFn, "pci", "nvme")
	s.disk(t, nvme0n1, "nvme0n1", "259:0")
	write(t, s.mountinfo, "23 1 254:0 / / rw - ext4 /dev/vda rw\n40 23 254:17 / /mnt/x rw - vfat /dev/vdb1 rw\n")
	return s
}

func TestDetachVirtioUnbindsItsVirtioDevice(t *testing.T) {
	s := newPCISysfs(t)
	l := opLog{gone: map[string]string{"virtio3": filepath.Join(s.root, virtioDev, "block")}}
	e := newEnforcer(s, &l)
	err := e.Detach(Target{SysPath: vdb})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ro vdb", "ro vdb1", "umount /mnt/x", "write unbind virtio3"}
	if !slices.Equal(l.ops, want) {
		t.Errorf("ops %q, want %q", l.ops, want)
	}
	if _, err := os.Stat(filepath.Join(s.root, vda)); err != nil {
		t.Error("the system disk went too")
	}
}

func TestDetachVirtioFallsBackToThePCIFunction(t *testing.T) {
	s := newPCISysfs(t)
	l := opLog{
		gone: map[string]string{"0000:01:00.0": filepath.Join(s.root, virtioDev)},
		fail: map[string]error{"virtio3:unbind": errors.New("no such device")},
	}
	e := newEnforcer(s, &l)
	if err := e.Detach(Target{SysPath: vdb}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ops, "write unbind 0000:01:00.0") || slices.Contains(l.ops, "write remove 1") {
		t.Errorf("ops %q: want the PCI function unbound (and not removed)", l.ops)
	}
}

func TestDetachNVMeUnbindsThenRemovesThePCIFunction(t *testing.T) {
	s := newPCISysfs(t)
	// The driver lets go but the namespace stays (nothing in gone): the function is removed.
	var l opLog
	e := newEnforcer(s, &l)
	if err := e.Detach(Target{SysPath: nvme0n1}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ro nvme0n1", "ro nvme0n11", "write unbind 0000:02:00.0", "write remove 1"}; !slices.Equal(l.ops, want) {
		t.Errorf("ops %q, want %q", l.ops, want)
	}
	if _, err := os.Stat(filepath.Join(s.root, nvmeFn)); err == nil {
		t.Error("the PCI function is still there")
	}
}

func TestDetachNVMeMultipathNamespace(t *testing.T) {
	s := newPCISysfs(t)
	const subsys = "/devices/virtual/nvme-subsystem/nvme-subsys0"
	ns := subsys + "/nvme0n1"
	s.disk(t, ns, "nvme0n1", "259:4")
	// The controller is linked from its subsystem; its hidden path device nvme0c0n1 is
	// the same namespace. Drop the non-multipath namespace of newPCISysfs.
	os.RemoveAll(filepath.Join(s.root, nvme0n1))
	ctrl := filepath.Join(s.root, nvmeFn, "nvme/nvme0")
	s.disk(t, nvmeFn+"/nvme/nvme0/nvme0c0n1", "nvme0c0n1", "259:1")
	link(t, ctrl, filepath.Join(s.root, subsys, "nvme0"))
	l := opLog{gone: map[string]string{"0000:02:00.0": filepath.Join(s.root, ns)}}
	e := newEnforcer(s, &l)
	if err := e.Detach(Target{SysPath: ns}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ops, "write unbind 0000:02:00.0") {
		t.Errorf("ops %q: the controller's function was not unbound", l.ops)
	}
}

func TestDetachNeverTakesOtherDisksWithThePCIFunction(t *testing.T) {
	for name, c := range map[string]struct {
		mountinfo string
		want      error
	}{
		"another namespace":               {"23 1 254:0 / / rw - ext4 /dev/vda rw\n", ErrSharedDevice},
		"the root file system next to it": {"23 1 259:2 / / rw - ext4 /dev/nvme0n2 rw\n", ErrSystemDisk},
	} {
		t.Run(name, func(t *testing.T) {
			s := newPCISysfs(t)
			s.disk(t, nvmeFn+"/nvme/nvme0/nvme0n2", "nvme0n2", "259:2")
			write(t, s.mountinfo, c.mountinfo)
			var l opLog
			e := newEnforcer(s, &l)
			err := e.Detach(Target{SysPath: nvme0n1})
			if !errors.Is(err, c.want) {
				t.Fatalf("Detach = %v; want %v", err, c.want)
			}
			for _, op := range l.ops {
				if strings.HasPrefix(op, "write ") {
					t.Errorf("wrote to sysfs: %q", l.ops)
				}
			}
			// What was done is said, and "detached" is not.
			if got := DetachActions(err); !slices.Equal(got, []string{"read-only"}) {
				t.Errorf("actions %q, want [read-only]", got)
			}
		})
	}
}

func TestDetachNeverRemovesTheControllerOfAUSBDisk(t *testing.T) {
	s := newSysfs(t)
	s.bind(t, "/devices/pci0000:00/0000:00:04.0", "pci", "xhci_hcd")
	s.disk(t, usbDisk, "sdc", "8:32")
	var l opLog
	e := newEnforcer(s, &l)
	err := e.Detach(Target{SysPath: usbDisk})
	if err == nil {
		t.Fatal("Detach of a disk with no way to remove it succeeded")
	}
	for _, op := range l.ops {
		if strings.HasPrefix(op, "write ") {
			t.Errorf("wrote to sysfs: %q", l.ops)
		}
	}
}

// A removal that fails is a failure: the error says so, the disk is still there, and
// the actions are only what did work.
func TestDetachFailureIsReportedAsFailure(t *testing.T) {
	for name, l := range map[string]*opLog{
		"writes refused":        {fail: map[string]error{"unbind": errors.New("permission denied"), "remove": errors.New("permission denied")}},
		"writes without effect": {stay: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := newPCISysfs(t)
			e := newEnforcer(s, l)
			err := e.Detach(Target{SysPath: vdb})
			var de *DetachError
			if !errors.As(err, &de) {
				t.Fatalf("Detach = %v; want a DetachError", err)
			}
			if got := DetachActions(err); !slices.Equal(got, []string{"read-only", "unmounted"}) {
				t.Errorf("actions %q, want [read-only unmounted]", got)
			}
			if _, serr := os.Stat(filepath.Join(s.root, vdb)); serr != nil {
				t.Fatal("the fake lost the disk")
			}
			if !strings.Contains(err.Error(), "vdb") {
				t.Errorf("error %q does not name the disk", err)
			}
			tries := 0
			for _, op := range l.ops {
				if strings.HasPrefix(op, "write ") {
					tries++
				}
			}
			if tries != 3 { // virtio unbind, PCI unbind, PCI remove
				t.Errorf("%d removal attempts (%q), want 3", tries, l.ops)
			}
		})
	}
}

func TestDetachActionsOfOtherErrors(t *testing.T) {
	if got := DetachActions(errors.New("boom")); got != nil {
		t.Errorf("actions %q for an error that is not a DetachError", got)
	}
	wrapped := fmt.Errorf("x: %w", &DetachError{Disk: "vdb", Done: []string{"read-only"}, Err: errors.New("y")})
	if got := DetachActions(wrapped); !slices.Equal(got, []string{"read-only"}) {
		t.Errorf("actions %q", got)
	}
}
