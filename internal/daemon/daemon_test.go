package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/udev"
)

const (
	hub     = "/devices/pci0000:00/0000:00:04.0/usb2"
	stickP  = hub + "/2-1"
	diskP   = stickP + "/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda"
	kbdP    = hub + "/2-2"
	netP    = hub + "/2-3"
	readerP = hub + "/2-4"
	rdiskP  = readerP + "/2-4:1.0/host1/target1:0:0/1:0:0:0/block/sdb"
	srP     = readerP + "/2-4:1.0/host1/target1:0:0/1:0:0:0/block/sr0"
	sataP   = "/devices/pci0000:00/0000:00:1f.2/ata1/host2/target2:0:0/2:0:0:0/block/sdc"
	vdaP    = "/devices/pci0000:00/0000:00:03.0/virtio1/block/vda"
)

func stick(serial string, capacity int64) (identity.Device, identity.Device) {
	key := identity.USBKey("46f4", "0001", serial)
	usb := &identity.USBInfo{Port: "2-1", SysPath: stickP, VendorID: "46f4", ProductID: "0001",
		Functions: []identity.Function{identity.FuncStorage}}
	id := media.Identity{Kind: media.KindUSBDisk, Key: key, Serial: serial, VendorID: "46f4", ProductID: "0001",
		DescriptorHash: "ab", InterfaceClasses: []int{8}}
	u := identity.Device{Name: "2-1", Subsystem: "usb", SysPath: stickP, Bus: "usb", Identity: id, USB: usb}
	bid := id
	bid.Capacity = capacity
	b := identity.Device{Name: "sda", Subsystem: "block", SysPath: diskP, DevNode: "/dev/sda", Bus: "usb", Identity: bid, USB: usb, Size: capacity, Removable: true}
	return u, b
}

// peripheral is a USB device with one interface per class; its HID interface is a
// boot keyboard for FuncKeyboard, a boot mouse for FuncMouse, else a non-boot HID
// (a tablet).
func peripheral(p, name string, classes []int, fn identity.Function) identity.Device {
	var ifs []string
	for _, c := range classes {
		i := media.USBInterface{Class: uint8(c)}
		switch {
		case c == 3 && fn == identity.FuncKeyboard:
			i.SubClass, i.Protocol = 1, 1
		case c == 3 && fn == identity.FuncMouse:
			i.SubClass, i.Protocol = 1, 2
		}
		ifs = append(ifs, i.String())
	}
	return identity.Device{Name: name, Subsystem: "usb", SysPath: p, Bus: "usb",
		Identity: media.Identity{Kind: media.KindOther, Key: identity.USBKey("0627", "0001", name), VendorID: "0627", ProductID: "0001", InterfaceClasses: classes},
		USB:      &identity.USBInfo{Port: name, SysPath: p, VendorID: "0627", ProductID: "0001", Functions: []identity.Function{fn}, Interfaces: ifs}}
}

type bed struct {
	t     *testing.T
	store *memStore
	rec   *enforce.Recorder
	devs  *devices
	d     *Daemon
	ctx   context.Context
}

func newBed(t *testing.T, h *media.Host) *bed {
	b := &bed{t: t, store: newMemStore(h), rec: enforce.NewRecorder(), devs: &devices{}, ctx: context.Background()}
	b.devs.authorized = func(p string) bool { on, _ := b.rec.USBAuthorized(p); return on }
	b.d = New(Config{Store: b.store, Enforcer: b.rec, Read: b.devs.read, Sys: t.TempDir(),
		Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
	if err := b.d.Start(b.ctx); err != nil {
		t.Fatal(err)
	}
	b.rec.Reset()
	return b
}

func secretHost() *media.Host {
	return &media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce}
}

func (b *bed) register(serial string, level media.Level, status media.Status, access media.Access, capacity int64) {
	key := identity.USBKey("46f4", "0001", serial)
	b.store.media[key] = media.Medium{Number: "S-" + serial, Kind: media.KindUSBDisk, Level: level, Status: status, Access: access,
		Custodian: "zhang", Identity: media.Identity{Kind: media.KindUSBDisk, Key: key, Serial: serial, Capacity: capacity}}
}

func (b *bed) ev(action, p, sub, typ string) {
	b.d.Handle(b.ctx, udev.Event{Action: action, DevPath: p, Subsystem: sub, DevType: typ})
}

func (b *bed) plugStick(serial string, capacity int64) {
	u, blk := stick(serial, capacity)
	b.devs.set(u)
	b.ev("add", stickP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(stickP); on {
		b.devs.set(blk)
		b.ev("add", stickP+"/2-1:1.0", "usb", "usb_interface")
		b.ev("add", diskP, "block", "disk")
		b.ev("add", diskP+"/sda1", "block", "partition")
	}
	// what our own authorized write causes
	b.ev("change", stickP, "usb", "usb_device")
	b.ev("bind", stickP, "usb", "usb_device")
}

func (b *bed) lastReason() policy.Reason {
	ds := b.store.decisions()
	if len(ds) == 0 {
		b.t.Fatal("no decision recorded")
	}
	return policy.Reason(ds[len(ds)-1].Reason)
}

func TestStartLocksRootHubs(t *testing.T) {
	store := newMemStore(secretHost())
	rec := enforce.NewRecorder()
	d := New(Config{Store: store, Enforcer: rec, Read: (&devices{}).read})
	d.Start(context.Background())
	if ops := rec.Ops(); !slices.Contains(ops, "lock-usb-default ") {
		t.Errorf("ops %q lack the root hub lock", ops)
	}
	audit := &media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeAudit}
	rec = enforce.NewRecorder()
	New(Config{Store: newMemStore(audit), Enforcer: rec, Read: (&devices{}).read}).Start(context.Background())
	if ops := rec.Ops(); slices.Contains(ops, "lock-usb-default ") {
		t.Errorf("audit mode locked the root hubs: %q", ops)
	}
}

func TestUSBSticks(t *testing.T) {
	tests := []struct {
		name     string
		register func(b *bed)
		capacity int64
		want     []string
		reason   policy.Reason
	}{
		{"unregistered", func(b *bed) {}, 64 << 20, []string{"deauthorize " + stickP}, policy.ReasonUnregistered},
		{"registered", func(b *bed) { b.register("S1", media.Secret, media.StatusActive, media.AccessReadWrite, 0) },
			64 << 20, []string{"authorize " + stickP, "release " + diskP, "release " + diskP}, policy.ReasonAllowed},
		{"read-write registration below the host's level is made read-only", func(b *bed) {
			b.register("S1", media.Confidential, media.StatusActive, media.AccessReadWrite, 0)
		}, 64 << 20, []string{"authorize " + stickP, "read-only " + diskP, "release " + diskP, "read-only " + diskP, "release " + diskP}, policy.ReasonReadOnlyBelowHost},
		{"read-only", func(b *bed) { b.register("S1", media.Secret, media.StatusActive, media.AccessReadOnly, 0) },
			64 << 20, []string{"authorize " + stickP, "read-only " + diskP, "release " + diskP, "read-only " + diskP, "release " + diskP}, policy.ReasonAllowedReadOnly},
		{"level above host", func(b *bed) { b.register("S1", media.TopSecret, media.StatusActive, media.AccessReadWrite, 0) },
			64 << 20, []string{"deauthorize " + stickP}, policy.ReasonLevelAboveHost},
		{"lost", func(b *bed) { b.register("S1", media.Secret, media.StatusLost, media.AccessReadWrite, 0) },
			64 << 20, []string{"deauthorize " + stickP}, policy.ReasonStatusLost},
		{"in vault", func(b *bed) { b.register("S1", media.Secret, media.StatusInVault, media.AccessReadWrite, 0) },
			64 << 20, []string{"deauthorize " + stickP}, policy.ReasonStatusInVault},
		{"capacity bound but the device reports none", func(b *bed) {
			b.register("S1", media.Secret, media.StatusActive, media.AccessReadWrite, 32<<20)
		}, 0, []string{"authorize " + stickP, "detach " + diskP, "deauthorize " + stickP}, policy.ReasonIdentityMismatch},
		{"capacity differs once the block device exists", func(b *bed) {
			b.register("S1", media.Secret, media.StatusActive, media.AccessReadWrite, 32<<20)
		}, 64 << 20, []string{"authorize " + stickP, "detach " + diskP, "deauthorize " + stickP}, policy.ReasonIdentityMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t, secretHost())
			tt.register(b)
			b.plugStick("S1", tt.capacity)
			if got := b.rec.Ops(); !slices.Equal(got, tt.want) {
				t.Errorf("ops\n got %q\nwant %q", got, tt.want)
			}
			if r := b.lastReason(); r != tt.reason {
				t.Errorf("reason %s, want %s", r, tt.reason)
			}
			// Our own writes cause change events: they must not undo the decision.
			before := len(b.store.decisions())
			b.ev("change", stickP, "usb", "usb_device")
			b.ev("change", diskP, "block", "disk")
			if n := len(b.store.decisions()); n != before {
				t.Errorf("change events made %d new decisions", n-before)
			}
			wantOn := tt.reason == policy.ReasonAllowed || tt.reason == policy.ReasonAllowedReadOnly || tt.reason == policy.ReasonReadOnlyBelowHost
			if on, _ := b.rec.USBAuthorized(stickP); on != wantOn {
				t.Errorf("authorized = %v at the end", on)
			}
		})
	}
}

func TestAuthorizedBehindOurBackIsUndone(t *testing.T) {
	b := newBed(t, secretHost())
	b.plugStick("S9", 1<<20)
	b.rec.SetAuthorized(stickP, true) // someone wrote 1
	b.ev("change", stickP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("an unregistered stick stayed authorized")
	}
}

func TestReplugAtSamePortDecidesAgain(t *testing.T) {
	b := newBed(t, secretHost())
	b.register("S1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("S1", 1<<20)
	b.ev("remove", diskP, "block", "disk")
	b.ev("remove", stickP, "usb", "usb_device")
	b.rec.SetAuthorized(stickP, false)
	b.plugStick("OTHER", 1<<20)
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("a different stick at the same port inherited the allow")
	}
}

func TestPeripherals(t *testing.T) {
	b := newBed(t, secretHost())
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	b.ev("add", kbdP, "usb", "usb_device")
	b.ev("add", netP, "usb", "usb_device")
	if got, want := b.rec.Ops(), []string{"authorize " + kbdP, "deauthorize " + netP}; !slices.Equal(got, want) {
		t.Errorf("ops %q, want %q", got, want)
	}
	b.ev("add", kbdP+"/2-2:1.0", "usb", "usb_interface") // interfaces never re-decide
	if n := len(b.store.decisions()); n != 2 {
		t.Errorf("%d decisions", n)
	}
}

func TestAuditModeBlocksNothing(t *testing.T) {
	h := secretHost()
	h.Mode = media.ModeAudit
	b := newBed(t, h)
	b.plugStick("S1", 1<<20)
	if on, _ := b.rec.USBAuthorized(stickP); !on {
		t.Error("audit mode blocked a stick")
	}
	d := b.store.decisions()[0]
	if d.Verdict != string(policy.Block) || d.Effective != string(policy.Allow) || d.Enforce {
		t.Errorf("audit row %+v", d)
	}
}

func TestNoHostProfileFailsClosed(t *testing.T) {
	b := newBed(t, nil)
	b.plugStick("S1", 1<<20)
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("stick authorized without a host profile")
	}
	b.store.hostErr = errors.New("disk I/O error")
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	b.ev("add", netP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(netP); on {
		t.Error("network card authorized while the registry fails")
	}
}

func TestUnreadableDeviceBlocked(t *testing.T) {
	h := secretHost()
	h.Mode = media.ModeAudit
	b := newBed(t, h)
	b.d.cfg.Read = func(string) (identity.Device, error) { return identity.Device{}, errors.New("EIO") }
	b.ev("add", stickP, "usb", "usb_device")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"deauthorize " + stickP}) {
		t.Errorf("ops %q", got)
	}
}

func TestContainerAndMediaInside(t *testing.T) {
	h := secretHost()
	h.AllowDevices = []string{"05e3:0751"}
	h.DevicePins = []media.DevicePin{{Device: "05e3:0751", Interfaces: []string{"08/06/50"}}}
	b := newBed(t, h)
	usb := &identity.USBInfo{Port: "2-4", SysPath: readerP, VendorID: "05e3", ProductID: "0751", Functions: []identity.Function{identity.FuncStorage},
		Interfaces: []string{"08/06/50"}}
	rid := media.Identity{Kind: media.KindSD, Key: identity.USBKey("05e3", "0751", "000000001"), VendorID: "05e3", ProductID: "0751", InterfaceClasses: []int{8}}
	b.devs.set(identity.Device{Name: "2-4", Subsystem: "usb", SysPath: readerP, Bus: "usb", Identity: rid, USB: usb})
	b.ev("add", readerP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(readerP); !on {
		t.Fatal("allowed card reader not authorized as a container")
	}
	card := rid
	card.Capacity = 8 << 30
	b.devs.set(identity.Device{Name: "sdb", Subsystem: "block", SysPath: rdiskP, DevNode: "/dev/sdb", Bus: "usb", Identity: card, USB: usb})
	b.ev("add", rdiskP, "block", "disk")
	if r := b.lastReason(); r != policy.ReasonUnregistered {
		t.Errorf("card in a USB reader: %s", r)
	}
	if !slices.Contains(b.rec.Ops(), "detach "+rdiskP) {
		t.Errorf("card not detached: %q", b.rec.Ops())
	}
	// A registered disc in the container drive works read-only; another is ejected.
	disc := media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:aa"}
	b.store.media[disc.Key] = media.Medium{Number: "D-1", Kind: media.KindOpticalDisc, Level: media.Secret, Status: media.StatusActive, Custodian: "zhang", Identity: disc}
	b.devs.set(identity.Device{Name: "sr0", Subsystem: "block", SysPath: srP, Bus: "usb", Identity: disc, USB: usb, Disc: &identity.Disc{}})
	b.rec.Reset()
	b.ev("add", srP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"read-only " + srP, "release " + srP}) {
		t.Errorf("registered disc: %q", got)
	}
	other := media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:bb"}
	b.devs.set(identity.Device{Name: "sr0", Subsystem: "block", SysPath: srP, Bus: "usb", Identity: other, USB: usb, Disc: &identity.Disc{}})
	b.rec.Reset()
	b.ev("change", srP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"eject " + srP}) {
		t.Errorf("unregistered disc: %q", got)
	}
}

func TestNonUSBBlockDevices(t *testing.T) {
	host := secretHost()
	host.Baseline = []string{"disk:virtio:x"} // recorded at host init
	b := newBed(t, host)
	b.devs.set(identity.Device{Name: "vda", Subsystem: "block", SysPath: vdaP, Bus: "virtio", Internal: true,
		Identity: media.Identity{Kind: media.KindDisk, Key: "disk:virtio:x"}, Quality: identity.Quality{Good: true}})
	b.devs.set(identity.Device{Name: "sdc", Subsystem: "block", SysPath: sataP, Bus: "ata", Removable: true,
		Identity: media.Identity{Kind: media.KindDisk, Key: "wwn:0x5000c500a1b2c3d4", Capacity: 1 << 40}})
	b.ev("add", vdaP, "block", "disk")
	b.ev("add", sataP, "block", "disk")
	b.ev("add", "/devices/virtual/block/loop0", "block", "disk")
	if got, want := b.rec.Ops(), []string{"detach " + sataP}; !slices.Equal(got, want) {
		t.Errorf("ops %q, want %q", got, want)
	}
	st := b.d.Status()
	if st.Counts.Blocked != 1 || st.Counts.Allowed != 1 || len(st.Present) != 2 {
		t.Errorf("status %+v", st.Counts)
	}
	for _, r := range st.Present {
		if r.Message[0] == "" || r.Message[1] == "" || !strings.ContainsAny(r.Message[1], "允阻") {
			t.Errorf("messages %q", r.Message)
		}
	}
}

func TestRunStopsCleanly(t *testing.T) {
	b := newBed(t, secretHost())
	src := udev.NewFake(0)
	b.d.cfg.Source = src
	u, _ := stick("S1", 1)
	b.devs.set(u)
	src.Push(udev.Event{Action: "add", DevPath: stickP, Subsystem: "usb", DevType: "usb_device"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.d.Run(ctx) }()
	deadline := time.Now().Add(2 * time.Second)
	for b.d.Status().Counts.Decisions == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b.d.Status().State != "stopped" {
		t.Errorf("state %s", b.d.Status().State)
	}
}

func TestUnreadableBlockDeviceIsDetached(t *testing.T) {
	b := newBed(t, secretHost())
	// sataP is not in the fake device table: reading it fails.
	b.devs.fail = map[string]error{sataP: errors.New("read error")}
	b.ev("add", sataP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"detach " + sataP}) {
		t.Errorf("ops %q, want a detach", got)
	}
	if r := b.lastReason(); r != policy.ReasonIdentityMismatch {
		t.Errorf("reason %s", r)
	}
}

func TestChangeEventWithNewMediumIsDecidedAgain(t *testing.T) {
	b := newBed(t, secretHost())
	b.register("CH1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("CH1", 64<<20)
	if r := b.lastReason(); r != policy.ReasonAllowed {
		t.Fatalf("reason %s", r)
	}
	before := len(b.store.decisions())
	// The same disk now reports another capacity (another medium in the same slot).
	_, blk := stick("CH1", 128<<20)
	b.devs.set(blk)
	b.ev("change", diskP, "block", "disk")
	if n := len(b.store.decisions()); n != before+1 {
		t.Errorf("%d new decisions after a medium change; want 1", n-before)
	}
}

func TestRootHubAddedLaterIsLocked(t *testing.T) {
	b := newBed(t, secretHost())
	b.rec.Reset()
	b.ev("add", "/devices/pci0000:00/0000:00:0d.0/usb3", "usb", "usb_device")
	if got := b.rec.Ops(); !slices.Contains(got, "lock-usb-default ") {
		t.Errorf("ops %q, want the root hubs locked again", got)
	}
}

func TestAuditToEnforceLocksHubs(t *testing.T) {
	host := secretHost()
	host.Mode = media.ModeAudit
	b := newBed(t, host)
	if st := b.d.Status(); len(st.LockedHubs) != 0 || st.Mode != string(media.ModeAudit) {
		t.Fatalf("audit mode: locked hubs %q, mode %s", st.LockedHubs, st.Mode)
	}
	b.store.mu.Lock()
	b.store.host.Mode = media.ModeEnforce
	b.store.mu.Unlock()
	b.plugStick("UNREG", 64<<20)
	if got := b.rec.Ops(); len(got) == 0 || got[0] != "lock-usb-default " {
		t.Errorf("ops %q, want the hubs locked before the decision", got)
	}
	if r := b.lastReason(); r != policy.ReasonUnregistered {
		t.Errorf("reason %s", r)
	}
	if st := b.d.Status(); len(st.LockedHubs) != 1 || st.Mode != string(media.ModeEnforce) {
		t.Errorf("after the switch: locked hubs %q, mode %s", st.LockedHubs, st.Mode)
	}
}

func TestTwoDevicesWithOneRegisteredIdentity(t *testing.T) {
	b := newBed(t, secretHost())
	b.register("0123456789ABCDEF", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("0123456789ABCDEF", 64<<20)
	if r := b.lastReason(); r != policy.ReasonAllowed {
		t.Fatalf("first stick: %s", r)
	}
	// A batch-mate with the same weak serial in the next port.
	u, _ := stick("0123456789ABCDEF", 64<<20)
	twinP := hub + "/2-2"
	u.SysPath, u.Name = twinP, "2-2"
	b.devs.set(u)
	b.rec.Reset()
	b.ev("add", twinP, "usb", "usb_device")
	if r := b.lastReason(); r != policy.ReasonIdentityMismatch {
		t.Errorf("second stick with the same identity: %s", r)
	}
	if on, _ := b.rec.USBAuthorized(twinP); on {
		t.Error("the second stick was authorized")
	}
}

func TestRescanJudgesPresentMediaByTheNewRecord(t *testing.T) {
	b := newBed(t, secretHost())
	// The stick in the fake sysfs, so a rescan finds it.
	if err := os.MkdirAll(filepath.Join(b.d.cfg.Sys, diskP, "sda1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(b.d.cfg.Sys, "bus/usb/devices"), 0o755)
	if err := os.Symlink(filepath.Join(b.d.cfg.Sys, stickP), filepath.Join(b.d.cfg.Sys, "bus/usb/devices/2-1")); err != nil {
		t.Fatal(err)
	}
	b.register("RS1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("RS1", 64<<20)
	if on, _ := b.rec.USBAuthorized(stickP); !on {
		t.Fatal("registered stick not authorized")
	}
	key := identity.USBKey("46f4", "0001", "RS1")
	m := b.store.media[key]
	m.Status = media.StatusLost // reported lost while plugged in
	b.store.media[key] = m
	b.rec.Reset()
	b.d.Rescan(b.ctx)
	if ops := b.rec.Ops(); !slices.Contains(ops, "detach "+diskP) {
		t.Errorf("ops %q: the disk of the lost stick was not detached", ops)
	}
	if r := b.lastReason(); r != policy.ReasonStatusLost {
		t.Errorf("after rescan: %s", r)
	}
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("a lost stick stays authorized after the rescan")
	}
}

func (s *memStore) failNext(kind event.Kind, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[event.Kind]int{}
	}
	s.failures[kind] = n
}

func (s *memStore) count(kind event.Kind) (rows, attempts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.kind == kind {
			rows++
		}
	}
	return rows, s.attempts[kind]
}

func hasProblem(d *Daemon, part string) bool {
	return slices.ContainsFunc(d.Status().Problems, func(p string) bool { return strings.Contains(p, part) })
}

// TestAuditWritesAreRetriedAndFailuresReported: the rows of a stop and of locking the
// hubs are retried like decision rows, and one that cannot be written is a problem
// that status shows, never silently dropped.
func TestAuditWritesAreRetriedAndFailuresReported(t *testing.T) {
	for _, n := range []int{1, 5} {
		b := newBed(t, secretHost())
		b.d.cfg.Source = udev.NewFake(0)
		b.store.failNext("daemon.stop", n)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := b.d.Run(ctx); err != nil {
			t.Fatal(err)
		}
		rows, attempts := b.store.count("daemon.stop")
		if n == 1 && (rows != 1 || attempts != 2 || hasProblem(b.d, "stop")) {
			t.Errorf("one failure: %d stop rows after %d attempts, problems %q", rows, attempts, b.d.Status().Problems)
		}
		if n == 5 && (rows != 0 || attempts != 3 || !hasProblem(b.d, "audit row for the stop")) {
			t.Errorf("lasting failure: %d stop rows after %d attempts, problems %q", rows, attempts, b.d.Status().Problems)
		}

		host := secretHost()
		host.Mode = media.ModeAudit
		b = newBed(t, host)
		b.store.failNext("daemon.lock", n)
		b.store.mu.Lock()
		b.store.host.Mode = media.ModeEnforce
		b.store.mu.Unlock()
		b.plugStick("UNREG", 64<<20)
		rows, attempts = b.store.count("daemon.lock")
		if n == 1 && (rows != 1 || attempts != 2 || hasProblem(b.d, "root hubs")) {
			t.Errorf("one failure: %d lock rows after %d attempts, problems %q", rows, attempts, b.d.Status().Problems)
		}
		if n == 5 && (rows != 0 || attempts != 3 || !hasProblem(b.d, "audit row for locking the root hubs")) {
			t.Errorf("lasting failure: %d lock rows after %d attempts, problems %q", rows, attempts, b.d.Status().Problems)
		}
	}
}

// mkSys creates devpaths (directories) in the bed's fake sysfs.
func (b *bed) mkSys(devpaths ...string) {
	b.t.Helper()
	for _, p := range devpaths {
		if err := os.MkdirAll(filepath.Join(b.d.cfg.Sys, p), 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
}

// A USB device presenting a registered stick's identity with a second logical unit:
// the registration covers one disk, so the whole device is blocked, every disk behind
// it detached, and the decision row names the anomaly.
func TestExtraLUNBehindRegisteredIdentity(t *testing.T) {
	lun1 := stickP + "/2-1:1.0/host0/target0:0:0/0:0:0:1"
	sdbP := lun1 + "/block/sdb"
	for _, tc := range []struct {
		name   string
		early  bool // LUN 1 and its disk are in sysfs before sda is decided
		before []string
	}{
		{name: "both units scanned before the first disk is decided", early: true},
		{name: "second disk appears after the first was allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, secretHost())
			b.register("LUN1", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
			b.mkSys(diskP)
			if tc.early {
				b.mkSys(sdbP)
			}
			u, sda := stick("LUN1", 64<<20)
			b.devs.set(u)
			b.ev("add", stickP, "usb", "usb_device")
			b.devs.set(sda)
			b.ev("add", diskP, "block", "disk")
			sdb := sda
			sdb.Name, sdb.SysPath, sdb.DevNode = "sdb", sdbP, "/dev/sdb"
			b.devs.set(sdb)
			if !tc.early {
				if on, _ := b.rec.USBAuthorized(stickP); !on {
					t.Fatal("the stick was blocked before its second unit existed")
				}
				b.mkSys(sdbP)
			}
			b.ev("add", sdbP, "block", "disk")
			if on, _ := b.rec.USBAuthorized(stickP); on {
				t.Errorf("the USB device with two disks stays authorized; ops %q", b.rec.Ops())
			}
			ops := b.rec.Ops()
			for _, want := range []string{"detach " + diskP, "detach " + sdbP, "deauthorize " + stickP} {
				if !slices.Contains(ops, want) {
					t.Errorf("ops %q lack %q", ops, want)
				}
			}
			if slices.Contains(ops, "release "+sdbP) {
				t.Errorf("the second disk was released to the automounter: %q", ops)
			}
			ds := b.store.decisions()
			last := ds[len(ds)-1]
			if last.Reason != string(policy.ReasonIdentityMismatch) || last.Detail != policy.DetailExtraDisk {
				t.Errorf("last decision %v", last)
			}
			if got := last.Behind; !slices.Equal(got, []string{"sda", "sdb"}) {
				t.Errorf("row names the disks behind the device as %v", got)
			}
			// The disk events after the block add no decisions and authorize nothing.
			n := len(ds)
			b.ev("add", sdbP+"/sdb1", "block", "partition")
			b.ev("change", stickP, "usb", "usb_device")
			if len(b.store.decisions()) != n {
				t.Errorf("%d more decisions after the block", len(b.store.decisions())-n)
			}
			if on, _ := b.rec.USBAuthorized(stickP); on {
				t.Error("re-authorized after the block")
			}
			// The kernel removed both disks with the deauthorization. A rescan (after a
			// register change) remembers what was behind the device and does not
			// authorize it again to find out.
			if err := os.RemoveAll(filepath.Join(b.d.cfg.Sys, stickP, "2-1:1.0")); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(b.d.cfg.Sys, "bus/usb/devices"), 0o755)
			os.Symlink(filepath.Join(b.d.cfg.Sys, stickP), filepath.Join(b.d.cfg.Sys, "bus/usb/devices/2-1"))
			b.devs.del(diskP)
			b.devs.del(sdbP)
			b.rec.Reset()
			b.d.Rescan(b.ctx)
			if ops := b.rec.Ops(); slices.Contains(ops, "authorize "+stickP) {
				t.Errorf("the rescan authorized the two-disk device again: %q", ops)
			}
			if got := len(b.store.decisions()) - n; got != 0 {
				t.Errorf("the rescan wrote %d decision rows for an unchanged block", got)
			}
		})
	}
}

// rescanBed is a bed whose fake sysfs lists a registered stick (with its disk), an
// unregistered one and a keyboard, all plugged, so rescans find them.
func rescanBed(t *testing.T) (*bed, string) {
	b := newBed(t, secretHost())
	otherP := hub + "/2-5"
	b.mkSys(diskP+"/sda1", otherP, kbdP)
	for p, name := range map[string]string{stickP: "2-1", otherP: "2-5", kbdP: "2-2"} {
		os.MkdirAll(filepath.Join(b.d.cfg.Sys, "bus/usb/devices"), 0o755)
		if err := os.Symlink(filepath.Join(b.d.cfg.Sys, p), filepath.Join(b.d.cfg.Sys, "bus/usb/devices", name)); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(b.d.cfg.Sys, "class/block"), 0o755)
	if err := os.Symlink(filepath.Join(b.d.cfg.Sys, diskP), filepath.Join(b.d.cfg.Sys, "class/block/sda")); err != nil {
		t.Fatal(err)
	}
	b.register("RN1", media.Secret, media.StatusActive, media.AccessReadOnly, 0)
	b.plugStick("RN1", 64<<20)
	u, _ := stick("RN2", 64<<20)
	u.SysPath, u.Name = otherP, "2-5"
	b.devs.set(u)
	b.ev("add", otherP, "usb", "usb_device")
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	b.ev("add", kbdP, "usb", "usb_device")
	return b, otherP
}

func (s *memStore) rescans() []event.DaemonRescan {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.DaemonRescan
	for _, e := range s.events {
		if e.kind == event.KindDaemonRescan {
			out = append(out, e.details.(event.DaemonRescan))
		}
	}
	return out
}

// A rescan writes a decision row only for a device whose decision changed, and one
// summary row with its counts.
func TestRescanWritesOnlyChangedDecisions(t *testing.T) {
	b, otherP := rescanBed(t)
	before := len(b.store.decisions())
	if before != 4 { // stick, its disk, the unregistered stick, the keyboard
		t.Fatalf("%d decisions after plugging", before)
	}
	b.d.Rescan(b.ctx)
	if n := len(b.store.decisions()) - before; n != 0 {
		t.Errorf("a rescan without changes wrote %d decision rows: %v", n, b.store.decisions()[before:])
	}
	sum := b.store.rescans()
	if len(sum) != 1 {
		t.Fatalf("%d rescan rows, want 1", len(sum))
	}
	if want := (event.DaemonRescan{Trigger: sum[0].Trigger, Devices: 4, Unchanged: 4, Allowed: 3, Blocked: 1}); sum[0] != want {
		t.Errorf("summary %v", sum[0])
	}
	if on, _ := b.rec.USBAuthorized(stickP); !on {
		t.Error("the registered stick lost its authorization in a rescan")
	}
	recent := len(b.d.Status().Recent)

	// The unregistered stick is registered now: only its decision changes.
	b.register("RN2", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.d.Rescan(b.ctx)
	ds := b.store.decisions()[before:]
	if len(ds) != 1 || ds[0].Reason != string(policy.ReasonAllowed) || ds[0].Device.DevPath != otherP {
		t.Errorf("decision rows of the second rescan: %v", ds)
	}
	if got := len(b.d.Status().Recent) - recent; got != 1 {
		t.Errorf("%d recent decisions added by the second rescan, want 1", got)
	}
	sum = b.store.rescans()
	if len(sum) != 2 || sum[1].Changed != 1 || sum[1].Unchanged != 3 || sum[1].Blocked != 0 {
		t.Errorf("summaries %v", sum)
	}

	// A queue overflow's rescan (present decisions kept) is as quiet.
	n := len(b.store.decisions())
	b.ev(udev.ActionRescan, "", "", "")
	if got := len(b.store.decisions()) - n; got != 0 {
		t.Errorf("an overflow rescan without changes wrote %d decision rows", got)
	}
	if sum = b.store.rescans(); len(sum) != 3 || sum[2].Trigger != "overflow" || sum[2].Changed != 0 {
		t.Errorf("summaries %v", sum)
	}
}

// TestLegacyDiscRegistrationUpgraded: a disc registered under its version 1 key is
// recognised by that key once, its registration moves to the whole-disc key with an
// audit row, and from then on a look-alike with the same version 1 key is not it.
func TestLegacyDiscRegistrationUpgraded(t *testing.T) {
	h := secretHost()
	h.AllowDevices = []string{"05e3:0751"}
	h.DevicePins = []media.DevicePin{{Device: "05e3:0751", Interfaces: []string{"08/02/50"}}}
	b := newBed(t, h)
	usb := &identity.USBInfo{Port: "2-4", SysPath: readerP, VendorID: "05e3", ProductID: "0751", Functions: []identity.Function{identity.FuncStorage},
		Interfaces: []string{"08/02/50"}}
	rid := media.Identity{Kind: media.KindOther, Key: identity.USBKey("05e3", "0751", "000000001"), VendorID: "05e3", ProductID: "0751", InterfaceClasses: []int{8}}
	b.devs.set(identity.Device{Name: "2-4", Subsystem: "usb", SysPath: readerP, Bus: "usb", Identity: rid, USB: usb})
	b.ev("add", readerP, "usb", "usb_device")

	old := media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:aa"}
	b.store.media[old.Key] = media.Medium{Number: "D-1", Kind: media.KindOpticalDisc, Level: media.Secret, Status: media.StatusActive, Custodian: "zhang", Identity: old}
	disc := func(v2 string) identity.Device {
		return identity.Device{Name: "sr0", Subsystem: "block", SysPath: srP, Bus: "usb", USB: usb,
			Identity: media.Identity{Kind: media.KindOpticalDisc, Key: "disc:v2-iso9660:" + v2},
			Disc:     &identity.Disc{Format: identity.DiscISO9660, Signature: v2, LegacySignature: "aa"}}
	}
	b.devs.set(disc("11"))
	b.rec.Reset()
	b.ev("add", srP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"read-only " + srP, "release " + srP}) {
		t.Errorf("disc registered under its v1 key: %q (reason %s)", got, b.lastReason())
	}
	if m, ok := b.store.media["disc:v2-iso9660:11"]; !ok || m.Number != "D-1" {
		t.Fatalf("registration not moved to the whole-disc key: %v", b.store.media)
	}
	if _, ok := b.store.media[old.Key]; ok {
		t.Error("the v1 key is still registered")
	}
	upgrades := 0
	for _, e := range b.store.events {
		if e.kind == event.KindMediumIdentityUpgrade && e.medium == "D-1" {
			upgrades++
		}
	}
	if upgrades != 1 {
		t.Errorf("%d identity-upgrade rows, want 1", upgrades)
	}

	// A look-alike: same volume descriptors (v1 key), other tree or data.
	b.devs.set(disc("22"))
	b.rec.Reset()
	b.ev("change", srP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"eject " + srP}) || b.lastReason() != policy.ReasonUnregistered {
		t.Errorf("look-alike of an upgraded disc: %q (reason %s)", got, b.lastReason())
	}
	// The registered disc still works by its whole-disc key.
	b.devs.set(disc("11"))
	b.rec.Reset()
	b.ev("change", srP, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"read-only " + srP, "release " + srP}) {
		t.Errorf("upgraded disc again: %q", got)
	}
}

// A USB device the kernel holds unauthorized has no driver on its interfaces, so the
// daemon does not walk below it for disks: what sysfs shows there is not looked at.
// Read as authorized (a device authorized before the daemon started, or by hand), the
// same tree is walked and a second disk blocks it.
func TestHeldDeviceIsNotWalked(t *testing.T) {
	sdbP := stickP + "/2-1:1.0/host0/target0:0:0/0:0:0:1/block/sdb"
	for _, authorized := range []bool{false, true} {
		t.Run(fmt.Sprintf("authorized=%v", authorized), func(t *testing.T) {
			b := newBed(t, secretHost())
			b.register("HELD1", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
			b.mkSys(diskP, sdbP)
			u, _ := stick("HELD1", 64<<20)
			u.USB.Authorized = authorized
			b.devs.set(u)
			b.ev("add", stickP, "usb", "usb_device")
			on, _ := b.rec.USBAuthorized(stickP)
			if on == authorized {
				t.Errorf("authorized after the decision: %v; ops %q", on, b.rec.Ops())
			}
			ds := b.store.decisions()
			last := ds[len(ds)-1]
			if authorized && last.Detail != policy.DetailExtraDisk {
				t.Errorf("walked device: decision %v, want the extra disk", last)
			}
			if !authorized && slices.ContainsFunc(b.rec.Ops(), func(op string) bool { return strings.HasPrefix(op, "detach") }) {
				t.Errorf("held device: ops %q", b.rec.Ops())
			}
		})
	}
}

// countingEnforcer counts the authorized checks and writes the daemon asks for.
type countingEnforcer struct {
	*enforce.Recorder
	calls int
}

func (c *countingEnforcer) AuthorizeUSB(devpath string, on bool) (bool, error) {
	c.calls++
	return c.Recorder.AuthorizeUSB(devpath, on)
}

func (c *countingEnforcer) AuthorizeExact(u enforce.USBDevice, on bool) (bool, error) {
	c.calls++
	return c.Recorder.AuthorizeExact(u, on)
}

// The bind event that follows the authorized write of an allowed device is not checked
// again (the kernel binds drivers only to an authorized device); a change event still
// is, and a bind on a blocked device is undone.
func TestBindOfAnAllowedDeviceIsNotCheckedAgain(t *testing.T) {
	b := newBed(t, secretHost())
	enf := &countingEnforcer{Recorder: b.rec}
	b.d.cfg.Enforcer = enf
	b.register("BIND1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	u, _ := stick("BIND1", 0)
	b.devs.set(u)
	b.ev("add", stickP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(stickP); !on {
		t.Fatal("the registered stick was not authorized")
	}
	enf.calls = 0
	b.ev("bind", stickP, "usb", "usb_device")
	if enf.calls != 0 {
		t.Errorf("the bind of an allowed device made %d authorized checks", enf.calls)
	}
	b.rec.SetAuthorized(stickP, false)
	b.ev("change", stickP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(stickP); !on || enf.calls == 0 {
		t.Errorf("a change event did not re-apply the allow (authorized %v, %d calls)", on, enf.calls)
	}

	other, _ := stick("UNREG1", 0)
	b.devs.set(other)
	b.ev("add", stickP, "usb", "usb_device") // another stick at the port: blocked
	b.rec.SetAuthorized(stickP, true)        // written behind the daemon
	b.ev("bind", stickP, "usb", "usb_device")
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("a bind on a blocked device left it authorized")
	}
}
