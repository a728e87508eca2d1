package mountlog

import (
	"bytes"
	"context"
	"encoding/json"
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

// bufferAuditor is an Auditor over a mountwatch.AuditBuffer filled from records.
type bufferAuditor struct {
	buf   mountwatch.AuditBuffer
	asked []time.Duration
}

func (a *bufferAuditor) Attribute(_ context.Context, ev *mountwatch.Event, wait time.Duration) bool {
	a.asked = append(a.asked, wait)
	m, ok := a.buf.Take(*ev, time.Now())
	if ok {
		m.Apply(ev, func(uid int) string { return map[int]string{0: "root", 1000: "alice"}[uid] })
	}
	return ok
}
func (a *bufferAuditor) Close() error { return nil }

func (a *bufferAuditor) feed(t *testing.T, recs ...[2]any) {
	var asm mountwatch.AuditAssembler
	for _, r := range recs {
		if m, ok := asm.Add(uint16(r[0].(int)), []byte(r[1].(string))); ok {
			a.buf.Add(m, time.Now())
		}
	}
}

// TestAuditAttribution: on the poll watcher, a root mount(8) run from alice's login
// and its umount(8) are attributed "audit" with pid, command, exe, uid and login uid;
// an event fanotify attributed is not asked about; one with no record stays "none".
func TestAuditAttribution(t *testing.T) {
	a := &bufferAuditor{}
	a.feed(t,
		[2]any{1300, `audit(1796015119.708:14): arch=c000003e syscall=165 success=yes exit=0 a3=0 items=2 ppid=900 pid=1234 auid=1000 uid=0 tty=pts0 comm="mount" exe="/usr/bin/mount" key="mediagate-mount"`},
		[2]any{1307, `audit(1796015119.708:14): cwd="/root"`},
		[2]any{1302, `audit(1796015119.708:14): item=0 name="/mnt/x" inode=1 nametype=NORMAL`},
		[2]any{1302, `audit(1796015119.708:14): item=1 name="/dev/sda1" inode=2 nametype=NORMAL`},
		[2]any{1320, `audit(1796015119.708:14): `},
		[2]any{1300, `audit(1796015120.001:15): arch=c000003e syscall=166 success=yes exit=0 a3=0 items=1 ppid=900 pid=1240 auid=1000 uid=0 tty=pts0 comm="umount" exe="/usr/bin/umount" key="mediagate-mount"`},
		[2]any{1307, `audit(1796015120.001:15): cwd="/mnt"`},
		[2]any{1302, `audit(1796015120.001:15): item=0 name="x" inode=1 nametype=NORMAL`},
		[2]any{1320, `audit(1796015120.001:15): `},
	)
	e := &fakeEnv{dev: Device{Name: "sda1", Disk: "/devices/x/block/sda", Partition: "sda1", Medium: "S-1", Level: media.Secret, Custodian: "zhang"}}
	l := New(Config{UdisksState: "-", Method: "poll", Audit: a, AuditWait: 50 * time.Millisecond}, e, nil, nil)
	ctx := context.Background()
	l.Handle(ctx, ev(mountwatch.KindMount, "/mnt/x", false))
	l.Handle(ctx, ev(mountwatch.KindUnmount, "/mnt/x", false))
	fan := ev(mountwatch.KindMount, "/mnt/y", false)
	fan.Attribution, fan.PID, fan.Comm = mountwatch.AttributionFanotify, 55, "mount"
	l.Handle(ctx, fan)
	l.Handle(ctx, ev(mountwatch.KindMount, "/mnt/z", false))
	if len(e.rows) != 4 {
		t.Fatalf("rows %+v", e.rows)
	}
	for i, want := range []map[string]any{
		{"attribution": "audit", "pid": 1234, "command": "mount", "exe": "/usr/bin/mount", "uid": 0, "user": "root",
			"login_uid": 1000, "login_user": "alice", "syscall": "mount", "audit_id": "1796015119.708:14"},
		{"attribution": "audit", "pid": 1240, "command": "umount", "uid": 0, "login_user": "alice", "syscall": "umount2"},
		{"attribution": "fanotify", "pid": 55},
		{"attribution": "none", "pid": nil, "uid": nil},
	} {
		for k, v := range want {
			if got := asMap(t, e.rows[i].details)[k]; fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("row %d (%s): %s = %v, want %v", i, e.rows[i].details.MountPoint, k, got, v)
			}
		}
	}
	if len(a.asked) != 3 || a.asked[0] != 50*time.Millisecond {
		t.Errorf("asked %v (fanotify's event must not be)", a.asked)
	}
}

// TestUdisksWinsOverTheMountItRan: udisksd runs mount(8), which the kernel audit
// names (root, "mount"); udisks' state names the user, and that is the attribution,
// with the process fields of the audit record kept.
func TestUdisksWinsOverTheMountItRan(t *testing.T) {
	state := filepath.Join(t.TempDir(), "mounted-fs")
	if err := os.WriteFile(state, mountwatch.EncodeUdisksMounts([]mountwatch.UdisksMount{
		{MountPoint: "/media/alice/STICK", Device: mountwatch.Makedev(8, 1), UID: 1000},
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &bufferAuditor{}
	a.feed(t,
		[2]any{1300, `audit(10.000:1): arch=c000003e syscall=165 success=yes exit=0 a3=0 items=2 ppid=300 pid=1234 auid=4294967295 uid=0 comm="mount" exe="/usr/bin/mount" key="mediagate-mount"`},
		[2]any{1302, `audit(10.000:1): item=0 name="/media/alice/STICK" inode=1 nametype=NORMAL`},
		[2]any{1320, `audit(10.000:1): `},
		[2]any{1300, `audit(11.000:2): arch=c000003e syscall=165 success=yes exit=0 a3=0 items=2 ppid=300 pid=1300 auid=0 uid=0 comm="mount" exe="/usr/bin/mount" key="mediagate-mount"`},
		[2]any{1302, `audit(11.000:2): item=0 name="/mnt/root" inode=1 nametype=NORMAL`},
		[2]any{1320, `audit(11.000:2): `},
	)
	e := &fakeEnv{}
	l := New(Config{UdisksState: state, UdisksWait: 10 * time.Millisecond, Audit: a, AuditWait: 10 * time.Millisecond,
		LookupUser: func(uid int) string { return map[int]string{0: "root", 1000: "alice"}[uid] }}, e, nil, nil)
	l.Handle(context.Background(), ev(mountwatch.KindMount, "/media/alice/STICK", false))
	l.Handle(context.Background(), ev(mountwatch.KindMount, "/mnt/root", false))
	if len(e.rows) != 2 {
		t.Fatalf("rows %+v", e.rows)
	}
	if d := e.rows[0].details; d.Attribution != AttributionUdisks || d.User != "alice" || d.UID == nil || *d.UID != 1000 ||
		d.Command != "mount" || d.Exe != "/usr/bin/mount" || d.PID != 1234 {
		t.Errorf("udisks mount %+v", d)
	}
	if d := e.rows[1].details; d.Attribution != mountwatch.AttributionAudit || d.User != "root" || d.LoginUser != "root" {
		t.Errorf("root mount %+v", d)
	}
}

// asMap is a row's details as its JSON object, numbers kept as written.
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
