package service_test

import (
	"errors"
	"strings"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/service"
	"mediagate/internal/sheet"
)

// importCSV runs an import of CSV text on the bed.
func (b *bed) importCSV(text string, dry, create bool) (service.ImportReport, error) {
	b.t.Helper()
	tab, err := sheet.Read([]byte(text), sheet.DefaultLimits)
	if err != nil {
		b.t.Fatal(err)
	}
	cols, err := sheet.MapColumns(tab, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.svc.Import(b.ctx, service.ImportRequest{File: "t.csv", SHA256: strings.Repeat("ab", 32), Table: tab, Columns: cols,
		DryRun: dry, CreatePeople: create})
}

const importHeader = "编号,密级,类型,序列号,VID,PID,责任人,部门,启用日期,状态\n"

func TestImportRowRules(t *testing.T) {
	b := newBed(t)
	b.register("4C530001EXIST", 0) // S-2026-0001, zhang
	for _, c := range []struct {
		name, row string
		action    service.ImportAction
		code      string // of the first problem
		column    string
	}{
		{"pending", "S-2019-0001,机密,U盘,AB12CD34EF,,,zhang,,2019-03-01,在用", service.ImportPending, "", ""},
		{"complete", "S-2019-0002,机密,U盘,AB12CD34F0,0781,5567,zhang,,,", service.ImportRegister, "", ""},
		{"no serial, pending", "S-2019-0003,秘密,光盘,,,,li,,,", service.ImportPending, "", ""},
		{"exists by number", "S-2026-0001,机密,U盘,4C530001EXIST,,,zhang,,,", service.ImportExists, "", ""},
		{"exists by identity", ",机密,U盘,4C530001EXIST,0781,5567,zhang,,,", service.ImportExists, "", ""},
		{"known serial other number", "S-2019-0004,机密,U盘,4C530001EXIST,,,zhang,,,", service.ImportFailed, "err.import-serial-known", "D (序列号)"},
		{"weak serial", "S-2019-0005,机密,U盘,00000000,,,zhang,,,", service.ImportFailed, "err.import-weak-serial", "D (序列号)"},
		{"weak serial complete", "S-2019-0006,机密,U盘,00000000,0781,5567,zhang,,,", service.ImportFailed, "err.weak-serial", "D (序列号)"},
		{"bad level", "S-2019-0007,内部,U盘,AB12CD34F1,,,zhang,,,", service.ImportFailed, "err.import-level", "B (密级)"},
		{"unknown person", "S-2019-0008,机密,U盘,AB12CD34F2,,,nobody,,,", service.ImportFailed, "err.import-unknown-person", "G (责任人)"},
		{"lent", "S-2019-0009,机密,U盘,AB12CD34F3,,,zhang,,,借出", service.ImportFailed, "err.import-lent", "J (状态)"},
		{"bad date", "S-2019-0010,机密,U盘,AB12CD34F4,,,zhang,,2019-02-30,", service.ImportFailed, "err.import-date", "I (启用日期)"},
		{"no number no serial", ",机密,U盘,,,,zhang,,,", service.ImportFailed, "err.import-unrecognisable", "A (编号)"},
		{"destroyed", "S-2019-0011,绝密,硬盘,WD-123456789,,,li,,,已销毁", service.ImportPending, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := b.importCSV(importHeader+c.row+"\n", true, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Lines) != 1 {
				t.Fatalf("%d lines", len(rep.Lines))
			}
			ln := rep.Lines[0]
			if ln.Action != c.action || ln.Line != 2 {
				t.Fatalf("row %d: %s %+v, want %s", ln.Line, ln.Action, ln.Problems, c.action)
			}
			if c.code == "" {
				if len(ln.Problems) > 0 {
					t.Errorf("problems %+v", ln.Problems)
				}
				return
			}
			if len(ln.Problems) == 0 || code(ln.Problems[0].Err) != c.code || ln.Problems[0].Column != c.column {
				t.Errorf("problems %+v, want %s in %s", ln.Problems, c.code, c.column)
			}
		})
	}
}

func TestImportAppliesAndBinds(t *testing.T) {
	b := newBed(t)
	if _, err := b.svc.UpdatePerson(b.ctx, "zhang", service.PersonUpdate{Department: ptr("办公室")}); err != nil {
		t.Fatal(err)
	}
	text := importHeader +
		"S-2019-0007,机密,U盘,AB12CD34EF,,,zhang,办公室,2019/3/1,\n" + // follows zhang's department
		"S-2019-0002,机密,U盘,AB12CD34F0,0781,5567,zhang,档案室,,\n" + // its own department
		"C-2018-0001,秘密,光盘,,,,钱七,财务处,,入柜保存\n"
	before := b.rec.count()
	if _, err := b.importCSV(text, false, false); code(err) != "err.import-errors" {
		t.Fatalf("unknown person without --create-people: %v", err)
	}
	if n, _ := b.svc.ListMedia(b.ctx, service.MediaFilter{}); len(n) != 0 {
		t.Fatalf("a refused import registered %d media", len(n))
	}
	rep, err := b.importCSV(text, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied || rep.Registered != 1 || rep.Pending != 2 || len(rep.People) != 1 || b.rec.count() != before+1 {
		t.Fatalf("report %+v, changed %d", rep, b.rec.count()-before)
	}
	m, err := b.svc.Medium(b.ctx, "S-2019-0007")
	if err != nil {
		t.Fatal(err)
	}
	if !m.IdentityPending || !strings.HasPrefix(m.Identity.Key, service.PendingKeyPrefix) || m.InService != "2019-03-01" ||
		m.Department != "办公室" || m.DepartmentSet || m.CustodianName != "zhang" {
		t.Errorf("pending medium %+v", m)
	}
	own, _ := b.svc.Medium(b.ctx, "S-2019-0002")
	if own.IdentityPending || own.Department != "档案室" || !own.DepartmentSet {
		t.Errorf("medium with identity %+v", own)
	}
	disc, _ := b.svc.Medium(b.ctx, "C-2018-0001")
	if disc.Status != media.StatusInVault || disc.Custodian != "钱七" || disc.Department != "财务处" {
		t.Errorf("disc %+v", disc)
	}
	// The department follows the custodian's.
	if _, err := b.svc.UpdatePerson(b.ctx, "zhang", service.PersonUpdate{Department: ptr("保密办")}); err != nil {
		t.Fatal(err)
	}
	if m, _ = b.svc.Medium(b.ctx, "S-2019-0007"); m.Department != "保密办" {
		t.Errorf("department %q does not follow the custodian's", m.Department)
	}
	if own, _ = b.svc.Medium(b.ctx, "S-2019-0002"); own.Department != "档案室" {
		t.Errorf("department set for the medium changed to %q", own.Department)
	}
	// The audit rows: one per medium, the summary, the person.
	rows, err := b.svc.Events(b.ctx, service.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[event.Kind]int{}
	for _, e := range rows {
		kinds[e.Kind]++
		if e.Kind == event.KindMediumImport {
			d, _ := event.As[event.MediumImport](e.Kind, e.Details)
			if d.Media != 3 || d.Pending != 2 || d.People != 1 || d.Rows != 3 {
				t.Errorf("summary %+v", d)
			}
		}
	}
	if kinds[event.KindMediumRegister] != 3 || kinds[event.KindMediumImport] != 1 {
		t.Errorf("rows %v", kinds)
	}
	pend, _ := b.svc.ListMedia(b.ctx, service.MediaFilter{Pending: true})
	if len(pend) != 2 {
		t.Errorf("%d pending", len(pend))
	}
	// Again: nothing.
	again, err := b.importCSV(text, false, true)
	if err != nil || again.Applied || again.Exists != 3 {
		t.Errorf("second import: %+v %v", again, err)
	}
	// Numbers go on after the imported ones (this year is 2026; the file's are older,
	// so import one of this year).
	if _, err := b.importCSV(importHeader+"S-2026-0041,机密,U盘,AB12CD34AA,,,zhang,,,\n", false, false); err != nil {
		t.Fatal(err)
	}
	if n := b.register("4C530001NEXT", 0); n.Number != "S-2026-0042" {
		t.Errorf("next number %s, want S-2026-0042", n.Number)
	}

	// Bind: the pending stick gets its device's identity; the register's serial of
	// that very medium is no conflict.
	dev := stick("AB12CD34EF", 0)
	res, err := b.svc.Bind(b.ctx, service.BindRequest{Number: "S-2019-0007", Identity: dev, Model: "SanDisk Cruzer"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Medium.IdentityPending || res.Medium.Identity.Key != dev.Key || res.Medium.Model != "SanDisk Cruzer" {
		t.Errorf("bound %+v", res.Medium)
	}
	if got, err := b.svc.MediumByIdentity(b.ctx, dev.Key); err != nil || got.Number != "S-2019-0007" || got.IdentityPending {
		t.Errorf("by identity: %+v %v", got, err)
	}
	if _, err := b.svc.Bind(b.ctx, service.BindRequest{Number: "S-2019-0007", Identity: stick("OTHER12345", 0)}); code(err) != "err.not-pending" {
		t.Errorf("bind twice: %v", err)
	}
	// A device whose identity is registered already cannot be bound to another.
	if _, err := b.svc.Bind(b.ctx, service.BindRequest{Number: "S-2026-0041", Identity: dev}); !errors.Is(err, service.ErrDuplicateIdentity) {
		t.Errorf("bind a registered identity: %v", err)
	}
	// A weak serial needs extra identity, as at registration.
	weak := stick("0000000000", 0)
	if _, err := b.svc.Bind(b.ctx, service.BindRequest{Number: "S-2026-0041", Identity: weak}); code(err) != "err.weak-serial" {
		t.Errorf("bind weak: %v", err)
	}
	weak.Capacity, weak.DescriptorHash = 16<<30, strings.Repeat("c", 64)
	if _, err := b.svc.Bind(b.ctx, service.BindRequest{Number: "S-2026-0041", Identity: weak}); err != nil {
		t.Errorf("bind weak with extra identity: %v", err)
	}
}

// TestVaultStationBindsPending: at the vault station a pending medium is bound while
// it is checked in when that is simple (the only pending medium of the device's
// serial, or the one the officer names), never when two share the serial.
func TestVaultStationBindsPending(t *testing.T) {
	b := newBed(t)
	text := importHeader +
		"S-2019-0001,机密,U盘,ab12cd34ef,,,zhang,,,\n" + // the device says AB12CD34EF
		"S-2019-0002,机密,U盘,,,,zhang,,,\n" +
		"S-2019-0003,机密,U盘,77AA88BB99,,,zhang,,,\n"
	if _, err := b.importCSV(text, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("AB12CD34EF", 0), Device: "/dev/sdb", Cabinet: "A"})
	if err != nil || res.CheckIn.Number != "S-2019-0001" {
		t.Fatalf("plug by serial: %+v %v", res, err)
	}
	if m, _ := b.svc.Medium(b.ctx, "S-2019-0001"); m.IdentityPending || m.Identity.Serial != "AB12CD34EF" {
		t.Errorf("not bound: %+v", m)
	}
	// No serial match and no number: refused as unregistered, nothing bound.
	if _, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("FFEE0011223344", 0), Device: "/dev/sdc"}); code(err) != "err.ci-unregistered" {
		t.Errorf("unknown device: %v", err)
	}
	if m, _ := b.svc.Medium(b.ctx, "S-2019-0002"); !m.IdentityPending {
		t.Error("a pending medium was bound to an unknown device")
	}
	// The officer names it.
	if res, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("FFEE0011223344", 0), Number: "S-2019-0002"}); err != nil || res.CheckIn.Number != "S-2019-0002" {
		t.Errorf("named: %+v %v", res, err)
	}
	rows, _ := b.svc.Events(b.ctx, service.EventFilter{Medium: "S-2019-0002"})
	var bound bool
	for _, e := range rows {
		if e.Kind == event.KindMediumBind {
			d, _ := event.As[event.MediumBind](e.Kind, e.Details)
			bound = d.Station && d.Identity.Serial == "FFEE0011223344"
		}
	}
	if !bound {
		t.Error("no medium.bind row by the station")
	}
}
