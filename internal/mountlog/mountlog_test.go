package mountlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
)

func ev(k mountwatch.Kind, mp string, ro bool) mountwatch.Event {
	return mountwatch.Event{Kind: k, MountID: 90, Major: 8, Minor: 1, Source: "/dev/sda1", FSType: "vfat", Root: "/",
		MountPoint: mp, ReadOnly: ro, Options: "rw,relatime", Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC),
		UID: mountwatch.UnknownID, LoginUID: mountwatch.UnknownID, Attribution: mountwatch.AttributionNone}
}

func TestClassify(t *testing.T) {
	blocked := &Decision{Reason: "not-registered", Effective: "block", Blocked: true}
	readOnly := &Decision{Reason: "allowed-read-only", Effective: "allow-read-only", ReadOnly: true}
	allowed := &Decision{Reason: "registered", Effective: "allow"}
	for _, tc := range []struct {
		kind      mountwatch.Kind
		ro        bool
		dec       *Decision
		want      event.Kind
		violation bool
	}{
		{mountwatch.KindMount, false, nil, KindAttach, false},
		{mountwatch.KindUnmount, false, nil, KindDetach, false},
		{mountwatch.KindSeenAtStart, false, nil, KindSeenAtStart, false},
		{mountwatch.KindRemountRO, true, nil, KindRemount, false},
		{mountwatch.KindRemountRW, false, nil, KindRemount, false},
		{mountwatch.KindRemount, false, nil, KindRemount, false},
		{mountwatch.KindMount, false, allowed, KindAttach, false},
		{mountwatch.KindMount, true, blocked, KindViolation, true},
		{mountwatch.KindSeenAtStart, true, blocked, KindViolation, true},
		{mountwatch.KindRemountRW, false, blocked, KindViolation, true},
		{mountwatch.KindRemount, false, blocked, KindViolation, true},
		{mountwatch.KindRemountRO, true, blocked, KindRemount, false},
		{mountwatch.KindUnmount, false, blocked, KindDetach, false},
		{mountwatch.KindMount, true, readOnly, KindAttach, false},
		{mountwatch.KindMount, false, readOnly, KindViolation, true},
		{mountwatch.KindRemountRW, false, readOnly, KindViolation, true},
		{mountwatch.KindUnmount, false, readOnly, KindDetach, false},
	} {
		got, v := Classify(ev(tc.kind, "/mnt/x", tc.ro), Device{Decision: tc.dec})
		if got != tc.want || v != tc.violation {
			t.Errorf("%v ro=%v decision %+v: %s %v; want %s %v", tc.kind, tc.ro, tc.dec, got, v, tc.want, tc.violation)
		}
	}
}

func TestGone(t *testing.T) {
	open := []OpenMount{{Seq: 1, Source: "/dev/sda1", MountPoint: "/mnt/still"}, {Seq: 2, Source: "/dev/sdb1", MountPoint: "/mnt/gone"}}
	still := ev(mountwatch.KindSeenAtStart, "/mnt/still", false)
	fresh := ev(mountwatch.KindSeenAtStart, "/mnt/new", false)
	f, g := Gone(open, []mountwatch.Event{still, fresh})
	if len(f) != 1 || f[0].MountPoint != "/mnt/new" || len(g) != 1 || g[0].Seq != 2 {
		t.Errorf("fresh %+v gone %+v", f, g)
	}
	if f, g := Gone(nil, nil); f != nil || g != nil {
		t.Errorf("empty: %v %v", f, g)
	}
}

// fakeEnv is an in-memory Env.
type fakeEnv struct {
	dev        Device
	rows       []row
	problems   []string
	undone     int
	violations int
	failRecord error
	open       []OpenMount
}

type row struct {
	kind    event.Kind
	medium  string
	details event.Mount
}

func (e *fakeEnv) Resolve(context.Context, mountwatch.Event) Device { return e.dev }
func (e *fakeEnv) Undo(context.Context, Device) ([]string, string) {
	e.undone++
	return []string{"unmounted", "detached"}, ""
}
func (e *fakeEnv) Record(_ context.Context, kind event.Kind, medium string, d event.Mount) error {
	if e.failRecord != nil {
		return e.failRecord
	}
	e.rows = append(e.rows, row{kind, medium, d})
	return nil
}
func (e *fakeEnv) OpenMounts(context.Context) ([]OpenMount, error) { return e.open, nil }
func (e *fakeEnv) HostNumber() string                              { return "HOST-01" }
func (e *fakeEnv) Problem(f string, a ...any)                      { e.problems = append(e.problems, fmt.Sprintf(f, a...)) }
func (e *fakeEnv) Violation(Device, []string)                      { e.violations++ }

func TestHandle(t *testing.T) {
	ctx := context.Background()
	e := &fakeEnv{dev: Device{Name: "sda1", Disk: "/devices/x/block/sda", Partition: "sda1", Medium: "S-1", Level: media.Secret,
		Custodian: "zhang", Decision: &Decision{Reason: "not-registered", Effective: "block", Blocked: true}}}
	l := New(Config{UdisksState: "-", Hostname: "pc-01", Method: "poll"}, e, nil, nil)
	l.Handle(ctx, ev(mountwatch.KindMount, "/media/a/STICK", false))
	if len(e.rows) != 1 || e.rows[0].kind != KindViolation || e.undone != 1 || e.violations != 1 {
		t.Fatalf("rows %+v undone %d violations %d", e.rows, e.undone, e.violations)
	}
	d := e.rows[0].details
	if d.Reason != "not-registered" || !slices.Equal(d.Actions, []string{"unmounted", "detached"}) ||
		d.Medium != "S-1" || d.MediumLevel != "secret" || d.Host != "HOST-01" || d.Hostname != "pc-01" || d.Event != "mount" ||
		d.Custodian != "zhang" || d.Decision == nil || d.Decision.Effective != "block" || d.Device.Partition != "sda1" || d.Device.Disk != "sda" {
		t.Errorf("violation row %+v", d)
	}
	// The host's own disks: only new mounts are logged.
	e = &fakeEnv{dev: Device{Baseline: true}}
	l = New(Config{UdisksState: "-"}, e, nil, nil)
	l.Handle(ctx, ev(mountwatch.KindUnmount, "/boot", false))
	l.Handle(ctx, ev(mountwatch.KindMount, "/boot", false))
	if len(e.rows) != 1 || e.rows[0].kind != KindAttach || e.rows[0].details.Medium != "baseline" {
		t.Errorf("baseline rows %+v", e.rows)
	}
	// Not a block device: nothing.
	nb := ev(mountwatch.KindMount, "/tmp", false)
	nb.Major, nb.Source = 0, "tmpfs"
	l.Handle(ctx, nb)
	if len(e.rows) != 1 {
		t.Errorf("a tmpfs mount was logged: %+v", e.rows)
	}
	// A row that cannot be written is a problem, not a silent loss.
	e = &fakeEnv{failRecord: errors.New("disk full")}
	New(Config{UdisksState: "-"}, e, nil, nil).Handle(ctx, ev(mountwatch.KindMount, "/mnt", false))
	if len(e.problems) != 1 {
		t.Errorf("problems %q", e.problems)
	}
}

func TestReconcile(t *testing.T) {
	e := &fakeEnv{open: []OpenMount{{Seq: 7, Medium: "S-X", Source: "/dev/sdb1", MountPoint: "/mnt/gone"}}}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	l := New(Config{UdisksState: "-", Hostname: "pc-01"}, e, func() time.Time { return now }, nil)
	l.Reconcile(context.Background(), []mountwatch.Event{ev(mountwatch.KindSeenAtStart, "/mnt/new", false)})
	if len(e.rows) != 2 || e.rows[0].kind != KindSeenAtStart || e.rows[1].kind != KindDetach || e.rows[1].medium != "S-X" {
		t.Fatalf("rows %+v", e.rows)
	}
	d := e.rows[1].details
	if d.AttachSeq != 7 || d.MountPoint != "/mnt/gone" || d.Time != "2026-12-02T00:00:00Z" || d.SeenAtStart == "" || d.Device.Source != "/dev/sdb1" {
		t.Errorf("detach row %+v", d)
	}
}

func TestUdisksAttribution(t *testing.T) {
	state := filepath.Join(t.TempDir(), "mounted-fs")
	if err := os.WriteFile(state, mountwatch.EncodeUdisksMounts([]mountwatch.UdisksMount{
		{MountPoint: "/media/bob/OTHER", Device: mountwatch.Makedev(8, 17), UID: 1001},
		{MountPoint: "/media/alice/STICK", Device: mountwatch.Makedev(8, 1), UID: 1000},
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &fakeEnv{}
	l := New(Config{UdisksState: state, UdisksWait: 10 * time.Millisecond,
		LookupUser: func(uid int) string { return map[int]string{1000: "alice"}[uid] }}, e, nil, nil)
	l.Handle(context.Background(), ev(mountwatch.KindMount, "/media/alice/STICK", false))
	l.Handle(context.Background(), ev(mountwatch.KindMount, "/media/carol/NONE", false))
	if len(e.rows) != 2 {
		t.Fatalf("rows %+v", e.rows)
	}
	if d := e.rows[0].details; d.Attribution != AttributionUdisks || d.User != "alice" || d.UID == nil || *d.UID != 1000 || d.Command != "udisksd" {
		t.Errorf("udisks mount %+v", d)
	}
	if d := e.rows[1].details; d.Attribution != mountwatch.AttributionNone || d.UID != nil {
		t.Errorf("mount udisks does not know %+v", d)
	}
}
