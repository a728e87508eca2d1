package daemon

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
)

// The recorded QEMU stick (testdata/devices/qemu-usb-storage): its usb_device.
const (
	qemuStickP   = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	qemuFixtures = "../../testdata/devices/qemu-usb-storage"
)

// copyTree copies a recorded device tree, symbolic links included.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case e.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeAttr(t *testing.T, dir, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// swapEnforcer is the real enforcer with a hook that runs once, just before the first
// write of authorized=1: the place where another device can take the port.
type swapEnforcer struct {
	*enforce.Enforcer
	swap func()
}

func (s *swapEnforcer) hook(on bool) {
	if on && s.swap != nil {
		s.swap()
		s.swap = nil
	}
}

func (s *swapEnforcer) AuthorizeUSB(devpath string, on bool) (bool, error) {
	s.hook(on)
	return s.Enforcer.AuthorizeUSB(devpath, on)
}

func (s *swapEnforcer) AuthorizeExact(u enforce.USBDevice, on bool) (bool, error) {
	s.hook(on)
	return s.Enforcer.AuthorizeExact(u, on)
}

// Between reading a registered stick and writing authorized=1, it is unplugged and
// another stick enumerates at the same port and sysfs path. The write must not reach
// the newcomer: the daemon writes through the directory it read, finds the device
// changed, and decides the newcomer on its own (unregistered: it stays blocked).
func TestAuthorizeExactlyTheDeviceThatWasRead(t *testing.T) {
	for _, swap := range []string{"replaced", "moved away", "attributes rewritten in place"} {
		t.Run(swap, func(t *testing.T) {
			sys := filepath.Join(t.TempDir(), "sys")
			copyTree(t, filepath.Join(qemuFixtures, "sys"), sys)
			dir := filepath.Join(sys, qemuStickP)
			writeAttr(t, dir, "authorized", "0")
			roots := identity.Roots{Paths: sysfs.Paths{Sys: sys, Dev: filepath.Join(t.TempDir(), "dev"), UdevData: filepath.Join(qemuFixtures, "run/udev/data")}}
			reg, err := identity.ReadDevice(roots, qemuStickP)
			if err != nil {
				t.Fatal(err)
			}
			store := newMemStore(secretHost())
			store.media[reg.Identity.Key] = media.Medium{Number: "S-EXACT", Kind: media.KindUSBDisk, Level: media.Secret,
				Status: media.StatusActive, Access: media.AccessReadWrite, Custodian: "zhang", Identity: reg.Identity}

			newcomer := func(at string) {
				copyTree(t, filepath.Join(qemuFixtures, "sys", qemuStickP), at)
				writeAttr(t, at, "serial", "INTRUDER01")
				writeAttr(t, at, "devnum", "3")
				writeAttr(t, at, "authorized", "0")
			}
			mountinfo := filepath.Join(t.TempDir(), "mountinfo")
			os.WriteFile(mountinfo, nil, 0o644)
			enf := &swapEnforcer{Enforcer: enforce.New(enforce.Config{Sys: sys, Dev: roots.Dev, Mountinfo: mountinfo}, enforce.Ops{}, nil)}
			enf.swap = func() {
				switch swap {
				case "replaced":
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
					newcomer(dir)
				case "moved away":
					if err := os.Rename(dir, dir+".gone"); err != nil {
						t.Fatal(err)
					}
					newcomer(dir)
				default:
					writeAttr(t, dir, "serial", "INTRUDER01")
					writeAttr(t, dir, "devnum", "3")
				}
			}
			// As the daemon runs: a device just added is read with its uevent's
			// properties (ReadEvent), any read after that from sysfs alone (Read).
			var reads, eventReads int
			d := New(Config{Store: store, Enforcer: enf, Sys: sys,
				Read: func(p string) (identity.Device, error) {
					reads++
					return identity.ReadDeviceHeld(roots, p)
				},
				ReadEvent: func(p string, uevent map[string]string) (identity.Device, error) {
					eventReads++
					return identity.ReadUSBEventHeld(roots, p, uevent)
				},
				Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
			ctx := context.Background()
			add := usbAdd(qemuStickP)
			add.Properties = ueventProps(t, dir)
			d.Handle(ctx, add)
			// The decision again after the change reads the device anew: the event's
			// properties are the registered stick's, not the newcomer's.
			if swap != "moved away" && (eventReads != 1 || reads != 1) {
				t.Errorf("%d reads with the event's properties, %d without; want 1 and 1", eventReads, reads)
			}

			got, _ := os.ReadFile(filepath.Join(dir, "authorized"))
			if strings.TrimSpace(string(got)) != "0" {
				t.Errorf("the stick that took the port is authorized (%q)", got)
			}
			if swap == "moved away" {
				// The held directory still names the registered stick (only a fake sysfs
				// can move a device's directory): the write went there, not to the
				// newcomer, which is decided on its own add event.
				if old, _ := os.ReadFile(filepath.Join(dir+".gone", "authorized")); strings.TrimSpace(string(old)) != "1" {
					t.Errorf("the stick that was read: authorized %q", old)
				}
				d.Handle(ctx, usbAdd(qemuStickP))
				store.mu.Lock()
				store.events = store.events[1:] // the registered stick's own row
				store.mu.Unlock()
			}
			ds := store.decisions()
			if len(ds) == 0 {
				t.Fatal("no decision")
			}
			last := ds[len(ds)-1]
			if last.Reason != string(policy.ReasonUnregistered) || last.Identity.Serial != "INTRUDER01" {
				t.Errorf("decision on the newcomer: %v", last)
			}
			if note := last.Note; swap != "moved away" && !strings.Contains(note, "another device took the port") {
				t.Errorf("the row does not say the device changed: note %q", note)
			}
			for _, row := range ds {
				if row.Effective != string(policy.Block) {
					t.Errorf("a decision row says the registered stick was allowed although it was gone: %v", row)
				}
			}
			if r := d.standing(qemuStickP); r == nil || r.Identity.Serial != "INTRUDER01" || r.Effective != policy.Block {
				t.Errorf("standing decision %+v", r)
			}
		})
	}
}

func readHeld(roots identity.Roots) func(string) (identity.Device, error) {
	return func(p string) (identity.Device, error) { return identity.ReadDeviceHeld(roots, p) }
}

// ueventProps are the properties of a device's uevent file, as a kernel uevent of
// it carries them.
func ueventProps(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "uevent"))
	if err != nil {
		t.Fatal(err)
	}
	props, err := identity.ParseProperties(b)
	if err != nil {
		t.Fatal(err)
	}
	return props
}

func usbAdd(p string) udev.Event {
	return udev.Event{Action: udev.ActionAdd, DevPath: p, Subsystem: "usb", DevType: "usb_device"}
}

// TestUnplugWritesNoSecondDecision: at an unplug the kernel unbinds the device's
// driver before it removes the device; by then its interfaces are gone and its
// descriptors may be unreadable. The unbind must not be taken for another device at
// the port and decided (a "peripheral not allowed" row about a stick that is leaving).
func TestUnplugWritesNoSecondDecision(t *testing.T) {
	for _, teardown := range []string{"descriptors gone", "interfaces gone"} {
		t.Run(teardown, func(t *testing.T) {
			sys := filepath.Join(t.TempDir(), "sys")
			copyTree(t, filepath.Join(qemuFixtures, "sys"), sys)
			dir := filepath.Join(sys, qemuStickP)
			writeAttr(t, dir, "authorized", "0")
			roots := identity.Roots{Paths: sysfs.Paths{Sys: sys, Dev: filepath.Join(t.TempDir(), "dev"), UdevData: filepath.Join(qemuFixtures, "run/udev/data")}}
			reg, err := identity.ReadDevice(roots, qemuStickP)
			if err != nil {
				t.Fatal(err)
			}
			store := newMemStore(secretHost())
			store.media[reg.Identity.Key] = media.Medium{Number: "S-UNPLUG", Kind: media.KindUSBDisk, Level: media.Secret,
				Status: media.StatusActive, Access: media.AccessReadWrite, Custodian: "zhang", Identity: reg.Identity}
			mountinfo := filepath.Join(t.TempDir(), "mountinfo")
			os.WriteFile(mountinfo, nil, 0o644)
			enf := enforce.New(enforce.Config{Sys: sys, Dev: roots.Dev, Mountinfo: mountinfo}, enforce.Ops{}, nil)
			d := New(Config{Store: store, Enforcer: enf, Sys: sys, Read: readHeld(roots),
				Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
			ctx := context.Background()
			d.Handle(ctx, usbAdd(qemuStickP))
			if ds := store.decisions(); len(ds) != 1 || ds[0].Effective == string(policy.Block) {
				t.Fatalf("plug: %+v", ds)
			}
			if err := os.RemoveAll(filepath.Join(dir, "2-1:1.0")); err != nil {
				t.Fatal(err)
			}
			if teardown == "descriptors gone" {
				if err := os.Remove(filepath.Join(dir, "descriptors")); err != nil {
					t.Fatal(err)
				}
			}
			unbind := usbAdd(qemuStickP)
			unbind.Action = udev.ActionUnbind
			d.Handle(ctx, unbind)
			if ds := store.decisions(); len(ds) != 1 {
				t.Errorf("the unbind of a leaving stick wrote %d more decision rows: %+v", len(ds)-1, ds[1:])
			}
			remove := usbAdd(qemuStickP)
			remove.Action = udev.ActionRemove
			d.Handle(ctx, remove)
			if r := d.standing(qemuStickP); r != nil {
				t.Errorf("a removed stick keeps its decision: %+v", r)
			}
		})
	}
}

// checkCountingEnforcer counts the enforcer's authorized checks of USB devices.
type checkCountingEnforcer struct {
	*enforce.Enforcer
	usb int
}

func (c *checkCountingEnforcer) AuthorizeUSB(devpath string, on bool) (bool, error) {
	c.usb++
	return c.Enforcer.AuthorizeUSB(devpath, on)
}

// A blocked stick that the kernel still holds (authorized=0 read again through the
// directory held since it was read) needs no enforcer call; one whose authorized was
// written in between goes through the enforcer and is deauthorized.
func TestBlockOfAHeldStick(t *testing.T) {
	for _, between := range []string{"", "1"} {
		t.Run("authorized written in between: "+between, func(t *testing.T) {
			sys := filepath.Join(t.TempDir(), "sys")
			copyTree(t, filepath.Join(qemuFixtures, "sys"), sys)
			dir := filepath.Join(sys, qemuStickP)
			writeAttr(t, dir, "authorized", "0")
			roots := identity.Roots{Paths: sysfs.Paths{Sys: sys, Dev: filepath.Join(t.TempDir(), "dev"), UdevData: filepath.Join(qemuFixtures, "run/udev/data")}}
			mountinfo := filepath.Join(t.TempDir(), "mountinfo")
			os.WriteFile(mountinfo, nil, 0o644)
			enf := &checkCountingEnforcer{Enforcer: enforce.New(enforce.Config{Sys: sys, Dev: roots.Dev, Mountinfo: mountinfo}, enforce.Ops{}, nil)}
			store := newMemStore(secretHost()) // nothing registered
			read := func(p string) (identity.Device, error) {
				dev, err := identity.ReadDeviceHeld(roots, p)
				if between != "" {
					writeAttr(t, dir, "authorized", between)
				}
				return dev, err
			}
			d := New(Config{Store: store, Enforcer: enf, Sys: sys, Read: read,
				Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
			d.Handle(context.Background(), usbAdd(qemuStickP))
			ds := store.decisions()
			if len(ds) != 1 || ds[0].Effective != string(policy.Block) {
				t.Fatalf("decisions %+v", ds)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "authorized")); strings.TrimSpace(string(got)) != "0" {
				t.Errorf("authorized %q after the block", got)
			}
			wantCalls, wantActions := 0, ""
			if between != "" {
				wantCalls, wantActions = 1, "deauthorized"
			}
			if enf.usb != wantCalls {
				t.Errorf("%d enforcer checks, want %d", enf.usb, wantCalls)
			}
			if got := strings.Join(ds[0].Actions, ","); got != wantActions {
				t.Errorf("actions %q, want %q", got, wantActions)
			}
		})
	}
}
