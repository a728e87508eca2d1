package daemon

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/control"
	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
	"mediagate/internal/registry"
	"mediagate/internal/udev"
)

// The audit log of a release must stay readable by every later one. genRelease
// writes a registry with at least one row of every kind through the real writers
// (registry, daemon, mount log) into testdata/registry/release-N.db; the event
// package's tests decode every row of every such file. Generate the file of a new
// release only when the details of some kind change:
//
//	go test ./internal/daemon -run TestGenerateReleaseDB -gen-release
//
// An existing file is never overwritten: it is what that release wrote.
var genRelease = flag.Bool("gen-release", false, "write testdata/registry/release-N.db for the current release")

// currentRelease numbers the shape of the audit details this code writes.
const currentRelease = 6

func TestGenerateReleaseDB(t *testing.T) {
	if !*genRelease {
		t.Skip("run with -gen-release to write the database of the current release")
	}
	out := filepath.Join("..", "..", "testdata", "registry", "release-"+string(rune('0'+currentRelease))+".db")
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("%s exists: it is what that release wrote; bump currentRelease for a new one", out)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "release.db")
	genReleaseDB(t, path)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(b))
}

// TestReleaseWritersRun runs the generator into a temporary file, so that the
// writers it drives keep working between releases.
func TestReleaseWritersRun(t *testing.T) {
	genReleaseDB(t, filepath.Join(t.TempDir(), "release.db"))
}

func genReleaseDB(t *testing.T, path string) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Minute); return now }
	s, err := registry.Open(ctx, path, registry.WithClock(clock),
		registry.WithActor(audit.Actor{UID: 0, User: "root", Login: "admin"}))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reg := func(serial string, lvl media.Level, custodian string) media.Medium {
		t.Helper()
		key := identity.USBKey("46f4", "0001", serial)
		m, err := s.Register(ctx, registry.Registration{Identity: media.Identity{Kind: media.KindUSBDisk, Key: key,
			Serial: serial, VendorID: "46f4", ProductID: "0001", DescriptorHash: "ab", InterfaceClasses: []int{8}, Capacity: 64 << 20},
			Level: lvl, Custodian: custodian, Note: "备注 note"})
		must(err)
		return m
	}

	// People, host, numbering.
	for _, p := range []media.Person{{Handle: "zhang", Name: "张三", Department: "办公室"}, {Handle: "li", Name: "李四", Department: "办公室", Email: "li@example.org"},
		{Handle: "wang", Name: "王五", Department: "保密办", Login: "wang"}, {Handle: "zhao", Name: "赵六"}} {
		_, err := s.AddPerson(ctx, p)
		must(err)
	}
	dept := "保密办"
	_, err = s.UpdatePerson(ctx, "zhao", registry.PersonUpdate{Department: &dept})
	must(err)
	_, err = s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Department: "办公室", Mode: media.ModeAudit, Hostname: "pc-01"})
	must(err)
	_, err = s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Department: "办公室", Mode: media.ModeAudit, Hostname: "pc-01",
		VaultStation: true, AllowClasses: []string{"audio"}, AllowDevices: []string{"0627:0001"}, Baseline: []string{"wwn:0x5002538e40a1b2c3"}})
	must(err)
	_, err = s.SetNumbering(ctx, "{level_code}-{year}-{seq:04}", map[media.Level]string{media.Secret: "S", media.Confidential: "C",
		media.TopSecret: "T", media.Unclassified: "U"})
	must(err)

	// The lifecycle of media.
	a := reg("REL1A", media.Secret, "zhang")
	b := reg("REL1B", media.Confidential, "li")
	c := reg("REL1C", media.Confidential, "li")
	d := reg("REL1D", media.Confidential, "wang")
	e := reg("REL1E", media.Secret, "wang")
	_, err = s.Handover(ctx, a.Number, "li", "wang", "岗位调整")
	must(err)
	_, err = s.Lend(ctx, b.Number, "zhang", now.Add(time.Hour), "wang", "出差")
	must(err)
	now = now.Add(2 * time.Hour) // returned late
	_, err = s.Return(ctx, b.Number, "")
	must(err)
	_, err = s.Relevel(ctx, b.Number, media.Secret, "内容升级")
	must(err)
	status := func(num string, to media.Status, kind event.Kind, details event.MediumStatus, people ...string) {
		t.Helper()
		_, err := s.SetStatus(ctx, num, to, kind, details, people...)
		must(err)
	}
	status(c.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{Note: "丢失"})
	status(c.Number, media.StatusActive, event.KindMediumFound, event.MediumStatus{})
	status(c.Number, media.StatusRepair, event.KindMediumRepair, event.MediumStatus{ApprovedBy: "wang"}, "wang")
	status(c.Number, media.StatusActive, event.KindMediumRepaired, event.MediumStatus{Note: "修好"})
	status(d.Number, media.StatusDestroyed, event.KindMediumDestroy, event.MediumStatus{ApprovedBy: "wang", Witness: "zhao", Method: "shred"}, "wang", "zhao")
	status(e.Number, media.StatusRetired, event.KindMediumRetire, event.MediumStatus{Note: "报废"})

	// A disc registered under its version 1 key moves to its whole-disc key.
	disc, err := s.Register(ctx, registry.Registration{Identity: media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:REL1DISC",
		Capacity: 1 << 20}, Level: media.Confidential, Custodian: "wang"})
	must(err)
	_, err = s.UpgradeIdentityKey(ctx, disc.Identity.Key, "disc:v2-iso9660:REL1DISC")
	must(err)
	// Release 3: a number given by hand (registrations say how their number came).
	_, err = s.Register(ctx, registry.Registration{Number: "GIVEN-0001", Identity: media.Identity{Kind: media.KindUSBDisk,
		Key: identity.USBKey("46f4", "0001", "REL3G"), Serial: "REL3G", VendorID: "46f4", ProductID: "0001"}, Level: media.Unclassified,
		Custodian: "li"})
	must(err)

	// An imported register: a person added, a medium with its identity, one pending
	// (bound later from its device), one destroyed before the import.
	imported, err := s.Import(ctx, registry.ImportBatch{
		People: []media.Person{{Handle: "钱七", Name: "钱七", Department: "财务处"}},
		Media: []registry.Registration{
			{Number: "S-2019-0007", Identity: media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0951", "1666", "REL3IMP1"),
				Serial: "REL3IMP1", VendorID: "0951", ProductID: "1666"}, Level: media.Secret, Custodian: "钱七",
				Model: "金士顿 DT100G3", CapacityText: "32GB", Purpose: "财务数据", InService: "2019-03-01"},
			{Number: "C-2018-0002", Identity: media.Identity{Kind: media.KindUSBDisk, Serial: "REL3PEND"}, Pending: true,
				Level: media.Confidential, Custodian: "zhang", Department: "档案室", Note: "旧台账"},
			{Number: "C-2017-0001", Identity: media.Identity{Kind: media.KindOpticalDisc}, Pending: true,
				Level: media.Confidential, Custodian: "zhang", Status: media.StatusDestroyed},
		},
		Summary: event.MediumImport{File: "台账.xlsx", Format: "xlsx", Media: 3, Pending: 2, People: 1, Rows: 4,
			SHA256: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", Skipped: 1}})
	must(err)
	_, err = s.BindIdentity(ctx, imported[1].Number, media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", "REL3BOUND"),
		Serial: "REL3BOUND", VendorID: "0781", ProductID: "5567", Capacity: 8 << 30, DescriptorHash: "cd", InterfaceClasses: []int{8}},
		"SanDisk Cruzer Blade", false)
	must(err)

	// The year-end check-in: one plugged, one by hand, one missing; then issue.
	_, _, err = s.OpenCampaign(ctx, 2026, now.Add(24*time.Hour))
	must(err)
	_, err = s.CheckInPlugged(ctx, a.Number, a.Identity, "A", "1")
	must(err)
	_, err = s.CheckInManual(ctx, registry.ManualCheckIn{Number: b.Number, Reason: "外借单位代交", By: "wang", Cabinet: "A", Slot: "2"})
	must(err)
	must(s.RefuseCheckIn(ctx, "", media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("46f4", "0001", "NOPE"), Serial: "NOPE"}, "not registered"))
	_, err = s.CloseCampaign(ctx, func(checkin.Campaign, []checkin.Item) ([]byte, error) { return []byte("report\n"), nil })
	must(err)
	_, err = s.Issue(ctx, a.Number, "zhang", "新年度发放")
	must(err)

	// The daemon: start in audit mode, decisions, tampering, the switch to enforce,
	// control calls, mounts, stop.
	bd := &bed{t: t, rec: enforce.NewRecorder(), devs: &devices{}, ctx: ctx}
	sys := t.TempDir()
	udevData := mountSysfs(t, sys)
	src := udev.NewFake(0)
	bd.d = New(Config{Store: s, Enforcer: bd.rec, Read: bd.devs.read, Sys: sys, Source: src,
		Now: func() time.Time { return now },
		Mounts: MountConfig{UdevData: udevData, UdisksState: "-", Hostname: "pc-01", Method: "fanotify",
			LookupUser: func(uid int) string { return map[int]string{0: "root", 1000: "alice"}[uid] }}})
	must(bd.d.Start(ctx))
	bd.plugStick("REL1A", 64<<20) // registered (issued to zhang): allowed, audit mode
	_, err = s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Department: "办公室", Mode: media.ModeEnforce, Hostname: "pc-01",
		VaultStation: true, AllowClasses: []string{"audio"}, AllowDevices: []string{"0627:0001"}, Baseline: []string{"wwn:0x5002538e40a1b2c3"},
		DevicePins: []media.DevicePin{{Device: "0627:0001", Interfaces: []string{"03/01/01"}}}, LowerMedia: media.LowerRefuse}) // release 3: in the row
	must(err)
	bd.plugStick("REL1A", 64<<20) // the hubs are locked on the way to enforce
	bd.rec.SetAuthorized(stickP, false)
	bd.ev("change", stickP, "usb", "usb_device") // written behind the daemon: tamper
	bd.d.ControlHandler().Audit(ctx, control.CallRecord{Op: "status", Peer: control.Peer{UID: 1000, GID: 1000, PID: 4242}, Allowed: true})

	mev := func(k mountwatch.Kind, mp string, ro bool) mountwatch.Event {
		ev := mountEv(k, mp, ro)
		ev.Time = now
		return ev
	}
	m := mev(mountwatch.KindMount, "/media/alice/STICK", false)
	m.PID, m.Comm, m.UID, m.User, m.LoginUID, m.LoginUser, m.Attribution = 4343, "mount", 0, "root", 1000, "alice", mountwatch.AttributionFanotify
	bd.d.HandleMount(ctx, m)
	bd.d.HandleMount(ctx, mev(mountwatch.KindRemountRO, "/media/alice/STICK", true))
	bd.d.HandleMount(ctx, mev(mountwatch.KindUnmount, "/media/alice/STICK", true))
	bd.d.HandleMount(ctx, mev(mountwatch.KindMount, "/mnt/gone", false))
	// At the next start /mnt/gone is no longer mounted and /mnt/seen is.
	bd.d.reconcileMounts(ctx, []mountwatch.Event{mev(mountwatch.KindSeenAtStart, "/mnt/seen", false)})
	// The stick's registration is withdrawn (lost): its decision blocks, its mount is a violation.
	_, err = s.SetStatus(ctx, a.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{})
	must(err)
	bd.ev("add", diskP, "block", "disk") // the disk decided again: blocked
	bd.d.HandleMount(ctx, mev(mountwatch.KindMount, "/mnt/x", false))
	src.Close()
	bd.d.Rescan(ctx) // release 2: one summary row per rescan
	must(bd.d.Run(ctx))

	// Release 3: an enrolled host's policy rows (applied, refused).
	writePolicyRows(t, s)

	// Release 5: the office register (mediagate server): a host, its token, enrolment, a
	// registration request approved and one rejected, an officer, a refused call,
	// a relevel and a revocation.
	oh, err := s.AddOfficeHost(ctx, registry.OfficeHost{Host: media.Host{Number: "HOST-07", Level: media.Secret, Department: "办公室"},
		Location: "302", Custodian: "zhang"}, "tokenhash1", now.Add(24*time.Hour))
	must(err)
	must(s.AddEnrolToken(ctx, oh.Number, "tokenhash2", now.Add(24*time.Hour)))
	_, err = s.Enrol(ctx, oh.Number, "tokenhash2", "1f2e3d", []string{"wwn:0x5002538e40a1b2c7"}, "10.0.2.15:40000")
	must(err)
	top := media.TopSecret
	_, err = s.UpdateOfficeHost(ctx, oh.Number, registry.OfficeHostUpdate{Level: &top})
	must(err)
	rq := func(serial string) registry.Request {
		t.Helper()
		r, err := s.AddRequest(ctx, registry.Request{Host: oh.Number, Identity: media.Identity{Kind: media.KindUSBDisk,
			Key: identity.USBKey("46f4", "0001", serial), Serial: serial, VendorID: "46f4", ProductID: "0001"},
			Level: media.Secret, Purpose: "项目资料", Requester: "alice", Label: "蓝色U盘"})
		must(err)
		return r
	}
	r1, r2 := rq("REQ1"), rq("REQ2")
	_, err = s.DecideRequest(ctx, r1.ID, true, "S-2026-0101", "zhang", "")
	must(err)
	_, err = s.DecideRequest(ctx, r2.ID, false, "", "", "个人U盘")
	must(err)
	_, err = s.AddOfficer(ctx, "wang", "abc123")
	must(err)
	_, err = s.RecordEvent(ctx, event.KindOfficeRefused, "", event.OfficeRefused{Code: "token-used", Detail: "token already used",
		Endpoint: "/v1/enroll", Host: oh.Number, Remote: "10.0.2.15:40001"})
	must(err)
	// Release 6: the office's copy of the host's log broke; the host frozen, thawed.
	_, _, err = s.BreakHostChain(ctx, oh.ID, 42, "row differs from the row the office acknowledged (log rewritten, rolled back or replaced)",
		event.OfficeLogBroken{HostSeq: 45, OfficeSeq: 44, Source: "network"})
	must(err)
	_, err = s.FreezeHost(ctx, oh.ID, true, "日志被回滚")
	must(err)
	_, err = s.FreezeHost(ctx, oh.ID, false, "")
	must(err)
	// Release 6: files carried to and from a standalone host.
	_, err = s.RecordEvent(ctx, event.KindCarryLogImport, "", event.CarryLogImport{AckSeq: 42, File: strings.Repeat("ab", 32),
		First: 1, Host: oh.Number, Last: 42, Rows: 42})
	must(err)
	_, err = s.RecordEvent(ctx, event.KindCarryRefused, "", event.CarryRefused{Error: "verify log file: file signature invalid (altered after signing)",
		File: strings.Repeat("cd", 32), Host: oh.Number, Reason: "bad-signature", Type: "log"})
	must(err)
	_, err = s.RecordEvent(ctx, event.KindCarryAck, "", event.CarryAck{File: strings.Repeat("ef", 32), Hash: strings.Repeat("01", 32),
		Host: oh.Number, Previous: 0, Seq: 42})
	must(err)
	_, err = s.RevokeOfficeHost(ctx, oh.Number, "主机报废")
	must(err)

	// The last person leaves.
	must(s.DeactivatePerson(ctx, "zhao"))
	n, err := s.VerifyLog(ctx)
	must(err)
	kinds := map[event.Kind]bool{}
	evs, err := s.Events(ctx, registry.EventFilter{})
	must(err)
	for _, e := range evs {
		kinds[e.Kind] = true
	}
	for _, k := range event.Kinds() {
		if !kinds[k] {
			t.Errorf("no %s row written", k)
		}
	}
	if p := bd.d.Status().Problems; len(p) > 0 {
		t.Errorf("daemon problems: %q", p)
	}
	t.Logf("%d rows, %d kinds", n, len(kinds))
	must(s.Close())
	// Closing folds the WAL into the file: one file is the whole register.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("write-ahead log left beside the database: %v", err)
	}
}
