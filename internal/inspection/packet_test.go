package inspection_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/inspection"
	"mediagate/internal/media"
	"mediagate/internal/policydoc"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testKey is a fixed office key, so that the key id in the golden files is stable.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// office is a small office register: two departments, two enrolled hosts whose logs
// the office collected (one of them with a row edited after it was collected), three
// media (one lost, one lent past its due date), and the year's check-in campaign.
type office struct {
	t     *testing.T
	ctx   context.Context
	now   time.Time
	path  string // the SQLite file, or a PostgreSQL database's URL
	pg    bool
	svc   *service.Local
	hosts map[string]service.OfficeHost
}

func stick(serial string) media.Identity {
	return media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", serial), Serial: serial,
		VendorID: "0781", ProductID: "5567", Capacity: 32 << 30}
}

func newOffice(t *testing.T) *office { return newOfficeOn(t, false) }

// engines runs f on an office register in an SQLite file, and in a PostgreSQL
// database when MEDIAGATE_PG_DSN names a server (scripts/test.sh starts one).
func engines(t *testing.T, f func(t *testing.T, o *office)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newOfficeOn(t, false)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv("MEDIAGATE_PG_DSN") == "" {
			t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set (scripts/test.sh starts a server and sets it)")
		}
		f(t, newOfficeOn(t, true))
	})
}

func newOfficeOn(t *testing.T, pg bool) *office {
	t.Helper()
	o := &office{t: t, ctx: context.Background(), now: time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC),
		path: filepath.Join(t.TempDir(), "office.db"), pg: pg, hosts: map[string]service.OfficeHost{}}
	if pg {
		server := os.Getenv("MEDIAGATE_PG_DSN")
		name, dsn, err := registry.CreateDatabase(o.ctx, server, "mg_insp")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := registry.DropDatabase(context.Background(), server, name); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		})
		o.path = dsn
	}
	svc, err := service.OpenLocal(o.ctx, o.path, service.LocalOptions{Create: true,
		Now:     func() time.Time { return o.now },
		Actor:   audit.Actor{UID: 0, User: "root", Login: "wangwu"},
		Service: service.Config{Location: time.UTC},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	o.svc = svc
	o.must(svc.AddPerson(o.ctx, media.Person{Handle: "zhang", Name: "张三", Department: "科研处"}))
	o.must(svc.AddPerson(o.ctx, media.Person{Handle: "li", Name: "李四", Department: "办公室"}))
	o.must(svc.AddPerson(o.ctx, media.Person{Handle: "wang", Name: "王五", Department: "办公室"}))
	for _, h := range []struct {
		number, dept string
		level        media.Level
	}{{"HOST-07", "办公室", media.Secret}, {"HOST-09", "科研处", media.Confidential}} {
		res, err := svc.AddOfficeHost(o.ctx, service.AddHostRequest{Number: h.number, Level: h.level, Department: h.dept, Location: "Room 302", Custodian: "wang"})
		if err != nil {
			t.Fatal(err)
		}
		o.hosts[h.number] = res.Host
	}
	o.now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, m := range []struct {
		number, serial, custodian string
		level                     media.Level
	}{{"S-2026-0001", "AA0000000001", "zhang", media.Secret}, {"C-2026-0001", "AA0000000002", "li", media.Confidential},
		{"S-2026-0002", "AA0000000003", "wang", media.Secret}} {
		o.must(svc.Register(o.ctx, service.RegisterRequest{Identity: stick(m.serial), Level: m.level, Custodian: m.custodian,
			Number: m.number, Model: "SanDisk Ultra"}))
	}
	o.now = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	o.must(svc.Lend(o.ctx, service.LendRequest{Number: "C-2026-0001", To: "zhang", Due: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), ApprovedBy: "wang"}))
	o.must(svc.SetStatus(o.ctx, service.StatusRequest{Number: "S-2026-0002", Change: service.ChangeLost, Note: "left on a train"}))
	o.now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	o.must(svc.OpenCampaign(o.ctx, service.OpenCampaignRequest{Year: 2026, Deadline: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}))
	o.must(svc.CheckInManual(o.ctx, service.ManualCheckIn{Number: "S-2026-0001", Reason: "label unreadable", By: "zhang"}))
	o.now = time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	o.collect()
	return o
}

func (o *office) must(_ any, err error) {
	o.t.Helper()
	if err != nil {
		o.t.Fatal(err)
	}
}

// collect writes the hosts' collected logs: HOST-07's intact, HOST-09's with its
// third row edited after collection and flagged by the office at receipt.
func (o *office) collect() {
	t := o.t
	driver, dsn, rebind := "sqlite", "file:"+o.path+"?_pragma=busy_timeout(5000)", func(q string) string { return q }
	if o.pg {
		driver, dsn = "pgx", o.path
		rebind = func(q string) string {
			for n := 1; strings.Contains(q, "?"); n++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", n), 1)
			}
			return q
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := func(month, day, hour int) time.Time {
		return time.Date(2026, time.Month(month), day, hour, 0, 0, 0, time.UTC)
	}
	mount := func(kind event.Kind, host, number string) any {
		return event.Mount{Event: "attach", Host: host, Hostname: strings.ToLower(host), Medium: number, MountPoint: "/media/usb",
			FSType: "vfat", Attribution: "fanotify", Device: event.MountDevice{Source: "/dev/sda1"}}
	}
	decision := func(host, number, verdict, reason string) any {
		return event.DeviceDecision{Host: host, HostLevel: "secret", Verdict: verdict, Effective: verdict, Reason: reason, Stage: "usb", Enforce: true,
			Identity: stick("ZZ0000000009")}
	}
	type row struct {
		t      time.Time
		kind   event.Kind
		medium string
		d      func(host string) any
	}
	logs := map[string][]row{
		"HOST-07": {
			{at(3, 2, 9), event.KindMountAttach, "S-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "S-2026-0001") }},
			{at(3, 2, 10), event.KindMountDetach, "S-2026-0001", func(h string) any { return mount(event.KindMountDetach, h, "S-2026-0001") }},
			{at(4, 5, 9), event.KindMountAttach, "S-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "S-2026-0001") }},
			{at(4, 6, 9), event.KindDeviceDecision, "", func(h string) any { return decision(h, "", "block", "unregistered") }},
			{at(5, 6, 9), event.KindDeviceDecision, "S-2026-0001", func(h string) any { return decision(h, "S-2026-0001", "allow", "allowed") }},
			{at(2, 1, 9), event.KindMountAttach, "S-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "S-2026-0001") }},
		},
		"HOST-09": {
			{at(3, 3, 9), event.KindMountAttach, "C-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "C-2026-0001") }},
			{at(3, 4, 9), event.KindMountViolation, "S-2026-0001", func(h string) any { return mount(event.KindMountViolation, h, "S-2026-0001") }},
			{at(3, 5, 9), event.KindMountAttach, "C-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "C-2026-0001") }},
			{at(3, 6, 9), event.KindMountDetach, "C-2026-0001", func(h string) any { return mount(event.KindMountDetach, h, "C-2026-0001") }},
			{at(3, 7, 9), event.KindMountAttach, "S-2026-0001", func(h string) any { return mount(event.KindMountAttach, h, "S-2026-0001") }},
		},
	}
	// HOST-07's last row is from 2025: collected, but outside the year's extract.
	logs["HOST-07"][5].t = time.Date(2025, 12, 31, 9, 0, 0, 0, time.UTC)
	for _, number := range []string{"HOST-07", "HOST-09"} {
		h := o.hosts[number]
		var prev audit.Head
		rows := logs[number]
		if number == "HOST-07" { // keep sequence order and time order apart: the 2025 row comes first
			rows = append(rows[5:], rows[:5]...)
		}
		for i, r := range rows {
			d, err := audit.Details(r.d(number))
			if err != nil {
				t.Fatal(err)
			}
			e := &audit.Event{ID: fmt.Sprintf("%s-%d", number, i+1), Time: r.t, HostID: "hostid-" + number, Kind: r.kind,
				Medium: r.medium, Actor: audit.Actor{UID: 0, User: "root"}, Details: d}
			audit.Seal(e, prev.Seq, prev.Hash)
			prev = audit.Head{Seq: e.Seq, Hash: e.Hash}
			if number == "HOST-09" && e.Seq == 3 {
				e.Details = []byte(strings.Replace(string(e.Details), "C-2026-0001", "C-2026-0099", 1)) // edited after collection
			}
			if _, err := db.Exec(rebind(`INSERT INTO office_host_events (host, seq, id, time, host_id, kind, medium, actor_uid, actor_user,
				actor_sudo, details, prev_hash, hash, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				h.ID, e.Seq, e.ID, e.Time.UTC().Format(audit.TimeLayout), e.HostID, string(e.Kind), e.Medium, e.Actor.UID,
				e.Actor.User, e.Actor.Login, string(e.Details), e.PrevHash, e.Hash, e.Time.UTC().Format(audit.TimeLayout)); err != nil {
				t.Fatal(err)
			}
		}
		broken, reason := 0, ""
		if number == "HOST-09" {
			broken, reason = 3, "previous hash does not match the acknowledged chain"
		}
		if _, err := db.Exec(rebind(`INSERT INTO office_chains (host, seq, hash, acked, broken_seq, broken_reason, broken_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			h.ID, prev.Seq, prev.Hash, "2026-12-01T09:00:00.000Z", broken, reason, map[bool]string{true: "2026-12-02T09:00:00.000Z"}[broken > 0]); err != nil {
			t.Fatal(err)
		}
	}
}

func (o *office) options(lang, dept string) inspection.Options {
	r, err := o.svc.CampaignReport(o.ctx, 2026, checkin.ByDepartment)
	if err != nil {
		o.t.Fatal(err)
	}
	return inspection.Options{Year: 2026, Department: dept, Lang: lang, Office: "某某大学保密办", Location: time.UTC, Now: o.now,
		Key:       testKey,
		Translate: func(key string, args ...any) string { return catalog.T(lang, key, args...) },
		Describe: func(e *audit.Event) (string, string) {
			return string(e.Kind), ""
		},
		Checkin: &r}
}

func (o *office) write(lang, dept string) (string, inspection.Result) {
	o.t.Helper()
	dir := filepath.Join(o.t.TempDir(), "packet")
	if err := inspection.PrepareDir(dir, false); err != nil {
		o.t.Fatal(err)
	}
	res, err := inspection.Write(o.ctx, o.svc.Store().(inspection.Register), dir, o.options(lang, dept))
	if err != nil {
		o.t.Fatal(err)
	}
	return dir, res
}

// packetJSON is what the tests read back from inspection.json.
type packetJSON struct {
	Format     string `json:"format"`
	Department string `json:"department"`
	Hosts      []struct {
		Number string `json:"number"`
	} `json:"hosts"`
	Chains []struct {
		Host    string `json:"host"`
		Rows    int64  `json:"rows"`
		OK      bool   `json:"ok"`
		BadSeq  int64  `json:"bad_seq"`
		Broken  int64  `json:"broken"`
		HeadSeq int64  `json:"head_seq"`
	} `json:"chains"`
	Lost []struct {
		Number string `json:"number"`
	} `json:"lost"`
	Overdue []struct {
		Number      string `json:"number"`
		DaysOverdue int    `json:"days_overdue"`
	} `json:"overdue_loans"`
	Violations []struct {
		Host   string     `json:"host"`
		Kind   event.Kind `json:"kind"`
		Medium string     `json:"medium"`
	} `json:"violations"`
	Media []struct {
		Number  string `json:"number"`
		Checkin string `json:"checkin"`
	} `json:"media"`
	History []struct {
		Medium string     `json:"medium"`
		Kind   event.Kind `json:"kind"`
	} `json:"history"`
	Mounts []struct {
		Medium string `json:"medium"`
		Mounts int64  `json:"mounts"`
		Hosts  []struct {
			Host   string `json:"host"`
			Mounts int64  `json:"mounts"`
		} `json:"hosts"`
	} `json:"mounts"`
	Checkin struct {
		Totals checkin.Totals `json:"totals"`
	} `json:"checkin"`
	Summary inspection.Summary `json:"summary"`
}

func readPacket(t *testing.T, dir string) packetJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, inspection.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var p packetJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("inspection.json is not JSON: %v", err)
	}
	return p
}

// TestPacketContents: every section holds what the register and the collected logs
// say — the hosts, the chains re-verified row by row (the edited row found), the
// incidents, the violations of the year only, the register with check-in states,
// each medium's history and the mount extract.
func TestPacketContents(t *testing.T) { engines(t, testPacketContents) }

func testPacketContents(t *testing.T, o *office) {
	dir, res := o.write("en", "")
	p := readPacket(t, dir)
	if p.Format != inspection.Format || len(p.Hosts) != 2 || len(p.Media) != 3 {
		t.Fatalf("packet: format %q, %d hosts, %d media", p.Format, len(p.Hosts), len(p.Media))
	}
	chains := map[string]int{}
	for i, c := range p.Chains {
		chains[c.Host] = i
	}
	own, h7, h9 := p.Chains[chains[""]], p.Chains[chains["HOST-07"]], p.Chains[chains["HOST-09"]]
	if !own.OK || own.Rows < 10 || own.Rows != own.HeadSeq {
		t.Errorf("office's own chain: %+v", own)
	}
	if !h7.OK || h7.Rows != 6 || h7.HeadSeq != 6 {
		t.Errorf("HOST-07's chain: %+v", h7)
	}
	if h9.OK || h9.BadSeq != 3 || h9.Broken != 3 || h9.HeadSeq != 5 {
		t.Errorf("HOST-09's chain: want broken at row 3 (re-verified and flagged), got %+v", h9)
	}
	if res.Summary.ChainsBroken != 1 || p.Summary.ChainsBroken != 1 {
		t.Errorf("broken chains: result %d, json %d", res.Summary.ChainsBroken, p.Summary.ChainsBroken)
	}
	if len(p.Lost) != 1 || p.Lost[0].Number != "S-2026-0002" {
		t.Errorf("lost: %+v", p.Lost)
	}
	if len(p.Overdue) != 1 || p.Overdue[0].Number != "C-2026-0001" || p.Overdue[0].DaysOverdue != 172 {
		t.Errorf("overdue loans: %+v", p.Overdue)
	}
	var kinds []string
	for _, v := range p.Violations {
		kinds = append(kinds, v.Host+" "+string(v.Kind))
	}
	if want := "HOST-09 mount.violation,HOST-07 device.decision"; strings.Join(kinds, ",") != want {
		t.Errorf("violations %v, want %s (the allowed decision is none)", kinds, want)
	}
	states := map[string]string{}
	for _, m := range p.Media {
		states[m.Number] = m.Checkin
	}
	if states["S-2026-0001"] != "manual" || states["C-2026-0001"] != "outstanding" || states["S-2026-0002"] != "" {
		t.Errorf("check-in states in the register: %v", states)
	}
	if p.Checkin.Totals.Expected != 2 || p.Checkin.Totals.CheckedIn != 1 {
		t.Errorf("check-in totals: %+v", p.Checkin.Totals)
	}
	hist := map[string][]event.Kind{}
	for _, h := range p.History {
		hist[h.Medium] = append(hist[h.Medium], h.Kind)
	}
	if k := hist["S-2026-0002"]; len(k) != 2 || k[0] != event.KindMediumRegister || k[1] != event.KindMediumLost {
		t.Errorf("history of S-2026-0002: %v", k)
	}
	if k := hist["C-2026-0001"]; len(k) != 2 || k[1] != event.KindMediumLend {
		t.Errorf("history of C-2026-0001: %v", k)
	}
	mounts := map[string]int64{}
	for _, m := range p.Mounts {
		mounts[m.Medium] = m.Mounts
		for _, h := range m.Hosts {
			mounts[m.Medium+"@"+h.Host] = h.Mounts
		}
	}
	// S-2026-0001: two mounts on HOST-07 in 2026 (the 2025 one is outside the year),
	// one on HOST-09; one line for the medium, with both hosts.
	if mounts["S-2026-0001"] != 3 || mounts["S-2026-0001@HOST-07"] != 2 || mounts["S-2026-0001@HOST-09"] != 1 ||
		mounts["C-2026-0001"] != 2 || len(p.Mounts) != 2 {
		t.Errorf("mount extract: %v", mounts)
	}
	if p.Summary.Violations != 2 || p.Summary.Media != 3 || p.Summary.HistoryRows != int64(len(p.History)) {
		t.Errorf("summary: %+v", p.Summary)
	}
	page, err := os.ReadFile(filepath.Join(dir, inspection.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Secrecy inspection 2026", "HOST-09", "BROKEN", "row 3: content does not match its hash",
		"S-2026-0002", "C-2026-0001", "Security officer (signature)", "Inspector (signature)"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestPacketDepartment: a department's packet holds its hosts and media only; its
// violations are those on its hosts or about its media.
func TestPacketDepartment(t *testing.T) { engines(t, testPacketDepartment) }

func testPacketDepartment(t *testing.T, o *office) {
	dir, _ := o.write("zh", "办公室")
	p := readPacket(t, dir)
	if p.Department != "办公室" || len(p.Hosts) != 1 || p.Hosts[0].Number != "HOST-07" {
		t.Fatalf("hosts of 办公室: %+v", p.Hosts)
	}
	var media []string
	for _, m := range p.Media {
		media = append(media, m.Number)
	}
	if strings.Join(media, ",") != "C-2026-0001,S-2026-0002" {
		t.Errorf("media of 办公室: %v", media)
	}
	if len(p.Chains) != 2 || len(p.Violations) != 1 || p.Violations[0].Host != "HOST-07" {
		t.Errorf("chains %d, violations %+v", len(p.Chains), p.Violations)
	}
	if len(p.Mounts) != 1 || p.Mounts[0].Medium != "C-2026-0001" {
		t.Errorf("mounts of 办公室's media: %+v", p.Mounts)
	}
	if p.Checkin.Totals.Expected != 1 {
		t.Errorf("check-in of 办公室: %+v", p.Checkin.Totals)
	}
}

// TestPacketRefuses: an unknown department, a year out of range and a directory in
// use are refused before anything is written.
func TestPacketRefuses(t *testing.T) {
	o := newOffice(t)
	reg := o.svc.Store().(inspection.Register)
	dir := t.TempDir()
	if _, err := inspection.Write(o.ctx, reg, dir, o.options("en", "财务处")); !errors.Is(err, inspection.ErrUnknownDepartment) {
		t.Errorf("unknown department: %v", err)
	}
	for _, y := range []int{1999, 2027} {
		opts := o.options("en", "")
		opts.Year = y
		if _, err := inspection.Write(o.ctx, reg, dir, opts); !errors.Is(err, inspection.ErrYear) {
			t.Errorf("year %d: %v", y, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused packet wrote %d files", len(entries))
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if err := inspection.PrepareDir(dir, false); !errors.Is(err, inspection.ErrNotEmpty) {
		t.Errorf("non-empty directory: %v", err)
	}
	if err := inspection.PrepareDir(dir, true); !errors.Is(err, inspection.ErrNotEmpty) {
		t.Errorf("--force over a file that is not the packet's: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("--force removed a file that is not the packet's: %v", err)
	}
	// A packet that fails half-way (here: printing the PDF) leaves nothing behind.
	half := t.TempDir()
	opts := o.options("en", "")
	opts.PDF = func(context.Context, string, string) error { return errors.New("no printer") }
	if _, err := inspection.Write(o.ctx, reg, half, opts); err == nil {
		t.Error("a failing PDF printer did not fail the packet")
	}
	if entries, _ := os.ReadDir(half); len(entries) != 0 {
		t.Errorf("a failed packet left %d files", len(entries))
	}
	// --force replaces an earlier packet.
	pdir, _ := o.write("en", "")
	if err := inspection.PrepareDir(pdir, true); err != nil {
		t.Fatalf("--force over an earlier packet: %v", err)
	}
	if _, err := inspection.Write(o.ctx, reg, pdir, o.options("en", "")); err != nil {
		t.Fatal(err)
	}
	if _, probs, err := inspection.Verify(pdir, testKey.Public().(ed25519.PublicKey)); err != nil || len(probs) > 0 {
		t.Errorf("replaced packet: %v %v", probs, err)
	}
}

// TestVerify: the signed manifest holds; an altered, removed or added file, an edited
// manifest and another key are each named.
func TestVerify(t *testing.T) {
	o := newOffice(t)
	pub := testKey.Public().(ed25519.PublicKey)
	fresh := func() string {
		dir, _ := o.write("en", "")
		return dir
	}
	dir := fresh()
	m, probs, err := inspection.Verify(dir, pub)
	if err != nil || len(probs) != 0 || len(m.Files) != 2 || m.Year != 2026 || m.KeyID != policydoc.KeyID(pub) {
		t.Fatalf("fresh packet: %+v %v %v", m, probs, err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	cases := []struct {
		name   string
		change func(dir string)
		key    ed25519.PublicKey
		want   inspection.Problem
	}{
		{"altered", func(dir string) {
			p := filepath.Join(dir, inspection.HTMLFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("S-2026-0002"), []byte("S-2026-0003"), 1), 0o644)
		}, pub, inspection.Problem{File: inspection.HTMLFile, What: "altered"}},
		{"removed", func(dir string) { os.Remove(filepath.Join(dir, inspection.JSONFile)) }, pub,
			inspection.Problem{File: inspection.JSONFile, What: "missing"}},
		{"added", func(dir string) { os.WriteFile(filepath.Join(dir, "extra.html"), []byte("x"), 0o644) }, pub,
			inspection.Problem{File: "extra.html", What: "added"}},
		{"manifest edited", func(dir string) {
			p := filepath.Join(dir, inspection.ManifestFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("year 2026"), []byte("year 2025"), 1), 0o644)
		}, pub, inspection.Problem{File: inspection.ManifestFile, What: "signature"}},
		{"manifest removed", func(dir string) { os.Remove(filepath.Join(dir, inspection.ManifestFile)) }, pub,
			inspection.Problem{File: inspection.ManifestFile, What: "missing"}},
		{"other key", func(string) {}, otherPub, inspection.Problem{File: inspection.ManifestFile, What: "signature"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fresh()
			c.change(dir)
			_, probs, err := inspection.Verify(dir, c.key)
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) != 1 || probs[0].File != c.want.File || probs[0].What != c.want.What {
				t.Errorf("problems %+v, want %+v", probs, c.want)
			}
		})
	}
}

// hashes hides what differs from run to run: the office's own hashes (its rows
// have random ids).
var hashes = regexp.MustCompile(`[0-9a-f]{16}…`)

// TestPacketGolden compares the page in both languages with testdata (-update
// rewrites them after a look).
func TestPacketGolden(t *testing.T) {
	o := newOffice(t)
	for _, lang := range []string{"en", "zh"} {
		dir, _ := o.write(lang, "")
		b, err := os.ReadFile(filepath.Join(dir, inspection.HTMLFile))
		if err != nil {
			t.Fatal(err)
		}
		got := hashes.ReplaceAllString(string(b), "HASH…")
		golden := filepath.Join("testdata", "packet."+lang+".html")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s page differs from %s (run with -update after checking it):\n%s", lang, golden, got)
		}
	}
}

// TestPacketOfEmptyOffice: an office with no hosts yet gets its packet: its own log
// verified, every section empty.
func TestPacketOfEmptyOffice(t *testing.T) {
	ctx := context.Background()
	svc, err := service.OpenLocal(ctx, filepath.Join(t.TempDir(), "r.db"), service.LocalOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := inspection.Write(ctx, svc.Store().(inspection.Register), dir, inspection.Options{Year: time.Now().Year(), Lang: "en",
		Now: time.Now(), Key: testKey, Translate: func(key string, args ...any) string { return catalog.T("en", key, args...) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Chains != 1 || res.Summary.ChainsBroken != 0 {
		t.Errorf("summary %+v", res.Summary)
	}
	if _, probs, err := inspection.Verify(dir, testKey.Public().(ed25519.PublicKey)); err != nil || len(probs) > 0 {
		t.Errorf("verify: %v %v", probs, err)
	}
}
