package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"mediagate/internal/audit"
	"mediagate/internal/control"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
	"mediagate/internal/udev"
)

// batchStore is the test store that also appends rows in batches, as the registry
// does, and remembers each batch's kinds; fail makes the next batch fail.
type batchingStore struct {
	*memStore
	mu      sync.Mutex
	batches [][]event.Kind
	fail    int
}

func (s *batchingStore) RecordEvents(ctx context.Context, rows []registry.EventRow) error {
	s.mu.Lock()
	if s.fail > 0 {
		s.fail--
		s.mu.Unlock()
		return errors.New("database is locked")
	}
	var kinds []event.Kind
	for _, r := range rows {
		kinds = append(kinds, r.Kind)
	}
	s.batches = append(s.batches, kinds)
	s.mu.Unlock()
	for _, r := range rows {
		if _, err := s.memStore.RecordEvent(ctx, r.Kind, r.Medium, r.Details); err != nil {
			return err
		}
	}
	return nil
}

func (s *batchingStore) kinds() [][]event.Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// A burst of events commits its decisions' rows in one transaction once no event
// waits; a row that must be written at once (the stop) takes the queued ones with it,
// in order.
func TestBurstRowsInOneCommit(t *testing.T) {
	b := newBed(t, secretHost())
	store := &batchingStore{memStore: b.store}
	b.d.cfg.Store = store
	b.register("BURST1", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
	u, _ := stick("BURST1", 64<<20)
	b.devs.set(u)
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	src := udev.NewFake(0)
	src.Push(
		udev.Event{Action: udev.ActionAdd, DevPath: stickP, Subsystem: "usb", DevType: "usb_device"},
		udev.Event{Action: udev.ActionAdd, DevPath: kbdP, Subsystem: "usb", DevType: "usb_device"},
		udev.Event{Action: udev.ActionAdd, DevPath: netP, Subsystem: "usb", DevType: "usb_device"},
	)
	src.Close()
	b.d.cfg.Source = src
	if err := b.d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.kinds()
	want := [][]event.Kind{
		{event.KindDeviceDecision, event.KindDeviceDecision, event.KindDeviceDecision},
		{event.KindDaemonStop},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %q, want %q", got, want)
	}
	if n := len(b.store.decisions()); n != 3 {
		t.Errorf("%d decision rows, want 3", n)
	}
}

// A failed commit is retried; the rows are written once.
func TestQueuedRowsRetried(t *testing.T) {
	b := newBed(t, secretHost())
	store := &batchingStore{memStore: b.store, fail: 1}
	b.d.cfg.Store = store
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	b.d.Handle(context.Background(), udev.Event{Action: udev.ActionAdd, DevPath: kbdP, Subsystem: "usb", DevType: "usb_device"})
	if n := len(b.store.decisions()); n != 1 {
		t.Errorf("%d decision rows after a retried commit, want 1", n)
	}
	if st := b.d.Status(); len(st.Problems) != 0 {
		t.Errorf("problems %q", st.Problems)
	}
}

// A blocked stick's row is its decision as far as anyone outside can see (nothing is
// written to sysfs for a device the kernel holds): when no other event waits it is
// committed before anything else is done about the decision, such as its desktop
// notification.
func TestBlockedRowCommittedBeforeNotification(t *testing.T) {
	b := newBed(t, secretHost())
	store := &batchingStore{memStore: b.store}
	b.d.cfg.Store = store
	u, _ := stick("UNREG1", 64<<20)
	b.devs.set(u)
	var rowsAtNotify []int
	var words [][2]string
	b.d.cfg.Notify = func(r Record) {
		rowsAtNotify = append(rowsAtNotify, len(b.store.decisions()))
		words = append(words, r.Message)
	}
	src := udev.NewFake(0)
	src.Push(udev.Event{Action: udev.ActionAdd, DevPath: stickP, Subsystem: "usb", DevType: "usb_device"})
	src.Close()
	b.d.cfg.Source = src
	if err := b.d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rowsAtNotify, []int{1}) {
		t.Errorf("decision rows committed when each notification was sent: %v, want [1]", rowsAtNotify)
	}
	if len(words) != 1 || words[0][0] == "" || words[0][1] == "" {
		t.Errorf("notifications' words %q, want the decision in English and Chinese", words)
	}
	if got := store.kinds(); len(got) == 0 || !slices.Equal(got[0], []event.Kind{event.KindDeviceDecision}) {
		t.Errorf("batches %q, want the decision's row alone first", got)
	}
}

// blockedStickAt is an unregistered stick at USB path p (port name).
func blockedStickAt(p, name, serial string) identity.Device {
	u, _ := stick(serial, 64<<20)
	u.SysPath, u.Name = p, name
	u.USB = &identity.USBInfo{Port: name, SysPath: p, VendorID: "46f4", ProductID: "0001", Functions: []identity.Function{identity.FuncStorage}}
	return u
}

// The kernel's bind of a blocked stick follows its add at once, so an event waits when
// the decision is made: the row does not wait for it (nor for the notification).
func TestBlockedRowNotHeldByTheEventsBehindIt(t *testing.T) {
	b := newBed(t, secretHost())
	store := &batchingStore{memStore: b.store}
	b.d.cfg.Store = store
	b.devs.set(blockedStickAt(stickP, "2-1", "UNREG1"))
	var rowsAtNotify []int
	var words [][2]string
	b.d.cfg.Notify = func(r Record) {
		rowsAtNotify = append(rowsAtNotify, len(b.store.decisions()))
		words = append(words, r.Message)
	}
	src := udev.NewFake(0)
	src.Push(
		udev.Event{Action: udev.ActionAdd, DevPath: stickP, Subsystem: "usb", DevType: "usb_device"},
		udev.Event{Action: udev.ActionBind, DevPath: stickP, Subsystem: "usb", DevType: "usb_device"},
	)
	src.Close()
	b.d.cfg.Source = src
	if err := b.d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rowsAtNotify, []int{1}) {
		t.Errorf("decision rows committed when each notification was sent: %v, want [1]", rowsAtNotify)
	}
	if n := len(b.store.decisions()); n != 1 {
		t.Errorf("%d decision rows, want 1", n)
	}
}

// A storm of blocked devices (all queued at once, within aloneGap of each other)
// still commits its rows together: the first alone, the rest at the end of the burst.
func TestBlockedStormRowsTogether(t *testing.T) {
	b := newBed(t, secretHost())
	store := &batchingStore{memStore: b.store}
	b.d.cfg.Store = store
	src := udev.NewFake(0)
	for i := range 5 {
		name := fmt.Sprintf("2-%d", i+5)
		p := hub + "/" + name
		b.devs.set(blockedStickAt(p, name, fmt.Sprintf("STORM%d", i)))
		src.Push(udev.Event{Action: udev.ActionAdd, DevPath: p, Subsystem: "usb", DevType: "usb_device"})
	}
	src.Close()
	b.d.cfg.Source = src
	if err := b.d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := event.KindDeviceDecision
	want := [][]event.Kind{{d}, {d, d, d, d}, {event.KindDaemonStop}}
	if got := store.kinds(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %q, want %q", got, want)
	}
}

// fullStore is the test store on a full disk: while full is set, every write fails.
type fullStore struct {
	*memStore
	full atomic.Bool
}

func (s *fullStore) RecordEvent(ctx context.Context, kind event.Kind, medium string, details any) (*audit.Event, error) {
	if s.full.Load() {
		return nil, errors.New("database or disk is full")
	}
	return s.memStore.RecordEvent(ctx, kind, medium, details)
}

// While the audit log cannot be written, no medium is let in: the stick allowed
// before is taken away at the first failed commit, a stick plugged meanwhile is held
// (audit-unavailable), and the keyboard still works. The first commit that works again
// lets the registered stick in without a replug.
func TestAuditLogDownBlocksMedia(t *testing.T) {
	b := newBed(t, secretHost())
	store := &fullStore{memStore: b.store}
	b.d.cfg.Store = store
	b.mkSys(diskP+"/sda1", "bus/usb/devices")
	if err := os.Symlink(filepath.Join(b.d.cfg.Sys, stickP), filepath.Join(b.d.cfg.Sys, "bus/usb/devices/2-1")); err != nil {
		t.Fatal(err)
	}
	reason := func(p string) policy.Reason {
		t.Helper()
		for _, r := range b.d.Status().Present {
			if r.DevPath == p {
				return r.Decision.Reason
			}
		}
		t.Fatalf("no decision standing for %s", p)
		return ""
	}
	authorized := func(p string) bool { on, _ := b.rec.USBAuthorized(p); return on }
	b.register("AU1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.register("AU2", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("AU1", 64<<20)
	if !authorized(stickP) {
		t.Fatal("registered stick not authorized while the log works")
	}

	// The disk fills up: the keyboard's row is the first that fails.
	store.full.Store(true)
	b.rec.Reset()
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	b.ev("add", kbdP, "usb", "usb_device")
	if authorized(stickP) || !slices.Contains(b.rec.Ops(), "detach "+diskP) {
		t.Errorf("ops %q: the stick let in before stays in while the log cannot be written", b.rec.Ops())
	}
	if r := reason(stickP); r != policy.ReasonAuditUnavailable {
		t.Errorf("stick after the failed commit: %s", r)
	}
	if !authorized(kbdP) {
		t.Error("the keyboard was taken away with the audit log")
	}
	if st := b.d.Status(); len(st.Problems) == 0 {
		t.Error("no problem shown while the audit log fails")
	}

	// Another registered stick plugged meanwhile is never authorized.
	b.ev("remove", stickP, "usb", "usb_device")
	b.devs.del(diskP)
	b.rec.Reset()
	b.plugStick("AU2", 64<<20)
	if authorized(stickP) || slices.Contains(b.rec.Ops(), "authorize "+stickP) {
		t.Errorf("ops %q: a stick plugged while the log fails was let in", b.rec.Ops())
	}
	if r := reason(stickP); r != policy.ReasonAuditUnavailable {
		t.Errorf("stick plugged while the log fails: %s", r)
	}

	// Space again: the next row — a control call's, with no device event — commits,
	// and the stick is let in without a replug.
	store.full.Store(false)
	b.d.ControlHandler().Audit(b.ctx, control.CallRecord{Op: "status", Allowed: true})
	if !authorized(stickP) {
		t.Fatalf("the registered stick stays out after the audit log works again (%s)", reason(stickP))
	}
	if r := reason(stickP); r != policy.ReasonAllowed {
		t.Errorf("stick after the log recovered: %s", r)
	}
	var triggers []string
	for _, s := range b.store.rescans() {
		triggers = append(triggers, s.Trigger)
	}
	if !slices.Contains(triggers, "audit-log") {
		t.Errorf("rescan rows %q, want one for the audit log", triggers)
	}
	if ds := b.store.decisions(); len(ds) == 0 || ds[len(ds)-1].Reason != string(policy.ReasonAllowed) || ds[len(ds)-1].Device.Name != "2-1" {
		t.Errorf("last decision row %+v, want the stick allowed", ds[len(ds)-1])
	}
}
