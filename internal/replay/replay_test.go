package replay_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/replay"
	"mediagate/internal/service"
)

// engine is a store the replay runs on: SQLite always, PostgreSQL when
// MEDIAGATE_PG_DSN names a server where the tests may create databases
// (scripts/test.sh starts one).
type engine struct{ pg bool }

func forEngines(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range []engine{{false}, {true}} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[e.pg]
		t.Run(name, func(t *testing.T) {
			if e.pg && os.Getenv("MEDIAGATE_PG_DSN") == "" {
				t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set (scripts/test.sh starts a server and sets it)")
			}
			f(t, e)
		})
	}
}

// newDB is an empty register's location: a file, or a database created on the
// server and dropped when t ends.
func (e engine) newDB(t *testing.T) string {
	t.Helper()
	if !e.pg {
		return filepath.Join(t.TempDir(), "mediagate.db")
	}
	server := os.Getenv("MEDIAGATE_PG_DSN")
	name, dsn, err := registry.CreateDatabase(context.Background(), server, "mg_replay")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := registry.DropDatabase(context.Background(), server, name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// raw opens the register's database without the registry, as root with the sqlite3
// tool or psql would.
func raw(t *testing.T, db string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(db, "postgres") {
		driver = "pgx"
	}
	d, err := sql.Open(driver, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// clock advances by a second on every read, so that every stamp has its own time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func usb(serial string) media.Identity {
	return media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + serial, Serial: serial, VendorID: "0781", ProductID: "5567",
		InterfaceClasses: []int{8}}
}

// build writes a register with a row of every kind that changes it: people, host
// profile, numbering, registrations (numbered and given), every change of a medium,
// and a check-in campaign opened, checked in and closed. It returns the register's
// path.
func build(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	l, err := service.OpenLocal(ctx, path, service.LocalOptions{Create: true, Now: c.now, Actor: audit.Actor{UID: 0, User: "root", Login: "officer"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st := l.Store()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"zhang", "li", "wang", "zhao"} {
		_, err := st.AddPerson(ctx, media.Person{Handle: h, Name: "Name " + h, Department: "office"})
		must(err)
	}
	name := "Zhao Liu"
	_, err = st.UpdatePerson(ctx, "zhao", service.PersonUpdate{Name: &name})
	must(err)
	_, err = st.AddPerson(ctx, media.Person{Handle: "gone", Name: "Gone"})
	must(err)
	must(st.DeactivatePerson(ctx, "gone"))
	_, err = st.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Mode: media.ModeEnforce})
	must(err)
	_, err = st.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Mode: media.ModeEnforce, AllowDevices: []string{"046d:c52b"},
		DevicePins: []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01/01"}}}, LowerMedia: media.LowerRefuse})
	must(err)
	_, err = st.SetNumbering(ctx, "", map[media.Level]string{media.Secret: "JM"})
	must(err)
	reg := func(serial string, level media.Level, who, number string) media.Medium {
		t.Helper()
		m, err := st.Register(ctx, service.Registration{Identity: usb(serial), Level: level, Custodian: who, Number: number,
			AllowedHosts: []string{"HOST-01"}, Note: "n " + serial})
		must(err)
		return m
	}
	a := reg("A1", media.Secret, "zhang", "")
	b := reg("B1", media.Confidential, "li", "")
	cc := reg("C1", media.Confidential, "li", "GIVEN-1")
	d := reg("D1", media.Secret, "zhang", "")
	e := reg("E1", media.Secret, "zhang", "")
	_, err = st.Handover(ctx, a.Number, "li", "wang", "job change")
	must(err)
	_, err = st.Lend(ctx, b.Number, "zhang", c.t.Add(240*time.Hour), "wang", "project")
	must(err)
	_, err = st.Relevel(ctx, cc.Number, media.Secret, "more")
	must(err)
	_, err = st.UpgradeIdentityKey(ctx, d.Identity.Key, d.Identity.Key+":v2")
	must(err)
	_, err = st.SetStatus(ctx, d.Number, media.StatusRepair, event.KindMediumRepair, event.MediumStatus{ApprovedBy: "wang"}, "wang")
	must(err)
	_, err = st.SetStatus(ctx, e.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{Note: "train"})
	must(err)
	_, _, err = st.OpenCampaign(ctx, 2026, c.t.Add(480*time.Hour))
	must(err)
	_, err = st.CheckInPlugged(ctx, a.Number, media.Identity{Key: a.Identity.Key}, "cab1", "s1")
	must(err)
	_, err = st.CheckInManual(ctx, service.ManualCheckIn{Number: d.Number, Reason: "at repairer", By: "wang", Away: true})
	must(err)
	_, err = st.Return(ctx, b.Number, "back")
	must(err)
	_, err = st.CloseCampaign(ctx, func(c checkin.Campaign, items []checkin.Item) ([]byte, error) {
		return json.Marshal(items)
	})
	must(err)
	_, err = st.Issue(ctx, a.Number, "zhang", "new year")
	must(err)
	_, err = st.SetStatus(ctx, e.Number, media.StatusActive, event.KindMediumFound, event.MediumStatus{Note: "found"})
	must(err)
	_, err = st.RecordEvent(ctx, event.KindDaemonStart, "", event.DaemonStart{Mode: media.ModeEnforce, PID: 1})
	must(err)
	// An imported register: a pending medium with a number of the pattern (it moves
	// the sequence), one with its own department, and a bind.
	_, err = st.Import(ctx, service.ImportBatch{People: []media.Person{{Handle: "qian", Name: "Qian Qi", Department: "finance"}},
		Media: []service.Registration{
			{Number: "JM-2026-0040", Identity: media.Identity{Kind: media.KindUSBDisk, Serial: "PRINTED"}, Pending: true, Level: media.Secret,
				Custodian: "qian", Model: "Kingston", CapacityText: "32GB", Purpose: "copies", InService: "2019-03-01"},
			{Number: "OLD-7", Identity: media.Identity{Kind: media.KindOpticalDisc}, Pending: true, Level: media.Confidential,
				Custodian: "zhang", Department: "archive", Status: media.StatusInVault}},
		Summary: event.MediumImport{File: "r.csv", Format: "csv", Media: 2, Pending: 2, People: 1, Rows: 2, SHA256: "ab"}})
	must(err)
	_, err = st.BindIdentity(ctx, "OLD-7", media.Identity{Kind: media.KindOpticalDisc, Key: "disc:v2-iso9660:" + strings.Repeat("ab", 32),
		Capacity: 1 << 20}, "DVD-R", false)
	must(err)
	return path
}

func verify(t *testing.T, path string, opts replay.Options) replay.Report {
	t.Helper()
	l, err := service.OpenLocal(context.Background(), path, service.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rep, err := replay.Verify(context.Background(), l, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs SQL on the register as root with the sqlite3 tool or psql would.
func tamper(t *testing.T, path, query string) {
	t.Helper()
	if _, err := raw(t, path).Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestReplayOfEveryWriterIsClean(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) { replayClean(t, build(t, e.newDB(t))) })
}

func replayClean(t *testing.T, path string) {
	rep := verify(t, path, replay.Options{})
	if !rep.Intact() {
		t.Fatalf("fresh register not intact: broken %v, findings %+v", rep.Broken, rep.Findings)
	}
	if len(rep.Unverifiable) != 0 {
		t.Errorf("a register of this release has unverifiable fields: %+v", rep.Unverifiable)
	}
	if rep.Rows < 25 {
		t.Errorf("only %d rows replayed", rep.Rows)
	}
}

// has reports whether findings hold one about table, key and field with problem p.
func has(fs []replay.Finding, table, key, field string, p replay.Problem) bool {
	for _, f := range fs {
		if f.Table == table && f.Key == key && f.Field == field && f.Problem == p {
			return true
		}
	}
	return false
}

// TestTamperingCaught edits a register behind its log, as root with SQL can: each
// edit must be named by table, key and field, while the hash chain stays intact.
func TestTamperingCaught(t *testing.T) {
	tests := []struct {
		name        string
		sql         string
		table, key  string
		field       string
		problem     replay.Problem
		chainIntact bool
	}{
		{"lost set active", `UPDATE media SET status = 'active' WHERE number = 'GIVEN-1'`,
			"media", "GIVEN-1", "status", replay.ProblemDiffers, true},
		{"stick added", `INSERT INTO media (id, number, kind, identity_key, level, custodian_id, status, access, created, updated)
			SELECT 'x-1', 'JM-2026-0099', 'usb-disk', 'usb:dead:beef:1', 2, custodian_id, 'active', 'rw', created, updated FROM media LIMIT 1`,
			"media", "JM-2026-0099", "", replay.ProblemNotInLog, true},
		{"medium removed", `PRAGMA foreign_keys = OFF; DELETE FROM campaign_media WHERE medium_id = (SELECT id FROM media WHERE number = 'C-2026-0001');
			DELETE FROM media WHERE number = 'C-2026-0001'`,
			"media", "C-2026-0001", "", replay.ProblemMissing, true},
		{"level lowered", `UPDATE media SET level = 1 WHERE number = 'GIVEN-1'`, "media", "GIVEN-1", "level", replay.ProblemDiffers, true},
		{"pending medium made usable", `UPDATE media SET pending = 0, identity_key = 'usb:0781:5567:PRINTED' WHERE number = 'JM-2026-0040'`,
			"media", "JM-2026-0040", "identity_key", replay.ProblemDiffers, true},
		{"purpose rewritten", `UPDATE media SET purpose = 'anything' WHERE number = 'JM-2026-0040'`,
			"media", "JM-2026-0040", "purpose", replay.ProblemDiffers, true},
		{"own department dropped", `UPDATE media SET department_set = 0 WHERE number = 'OLD-7'`,
			"media", "OLD-7", "department_set", replay.ProblemDiffers, true},
		{"custodian changed", `UPDATE media SET custodian_id = (SELECT id FROM people WHERE handle = 'wang') WHERE number = 'JM-2026-0001'`,
			"media", "JM-2026-0001", "custodian", replay.ProblemDiffers, true},
		{"identity swapped", `UPDATE media SET identity_key = 'usb:0781:5567:OTHER' WHERE number = 'JM-2026-0001'`,
			"media", "JM-2026-0001", "identity_key", replay.ProblemDiffers, true},
		{"registration back-dated", `UPDATE media SET created = '2020-01-01T00:00:00.000Z' WHERE number = 'JM-2026-0001'`,
			"media", "JM-2026-0001", "created", replay.ProblemDiffers, true},
		{"person added", `INSERT INTO people (id, handle, name, created, updated) VALUES ('p-x', 'ghost', 'Ghost', '2026-12-01T09:00:00.000Z', '2026-12-01T09:00:00.000Z')`,
			"people", "ghost", "", replay.ProblemNotInLog, true},
		{"person reactivated", `UPDATE people SET active = 1 WHERE handle = 'gone'`, "people", "gone", "active", replay.ProblemDiffers, true},
		{"host lowered", `UPDATE host SET level = 1`, "host", "HOST-01", "level", replay.ProblemDiffers, true},
		{"host audit mode", `UPDATE host SET mode = 'audit'`, "host", "HOST-01", "mode", replay.ProblemDiffers, true},
		{"allow list widened", `UPDATE host SET allow_classes = '["mass-storage"]'`, "host", "HOST-01", "allow_classes", replay.ProblemDiffers, true},
		{"pins dropped", `UPDATE host SET device_pins = '[]'`, "host", "HOST-01", "device_pins", replay.ProblemDiffers, true},
		{"write-down allowed", `UPDATE host SET lower_media = 'read-only'`, "host", "HOST-01", "lower_media", replay.ProblemDiffers, true},
		{"numbering changed", `UPDATE settings SET value = '{"pattern":"{level_code}-{year}-{seq:04}","level_codes":{"0":"U","1":"C","2":"X","3":"TS"}}' WHERE key = 'numbering'`,
			"settings", "numbering", "level_codes.secret", replay.ProblemDiffers, true},
		{"number freed", `DELETE FROM numbers_used WHERE number = 'JM-2026-0001'`, "numbers_used", "JM-2026-0001", "", replay.ProblemMissing, true},
		{"sequence moved", `UPDATE number_seq SET next = 1 WHERE level = 2`, "number_seq", "secret 2026", "next", replay.ProblemDiffers, true},
		{"handover forged", `INSERT INTO handovers (id, medium_id, from_id, to_id, witness_id, at) SELECT 'h-x', medium_id, to_id, from_id, witness_id, at FROM handovers`,
			"handovers", "JM-2026-0001 #2", "", replay.ProblemNotInLog, true},
		{"check-in forged", `INSERT INTO checkins (id, campaign_id, medium_id, at, source, manual) SELECT 'c-x', campaign_id, medium_id, '2026-12-01T10:00:00.000Z', 'plugged', 0
			FROM campaign_media WHERE medium_id = (SELECT id FROM media WHERE number = 'C-2026-0001')`,
			"checkins", "2026 C-2026-0001", "", replay.ProblemNotInLog, true},
		{"outcome changed", `UPDATE campaign_media SET outcome = 'vault' WHERE outcome = 'missing'`,
			"campaign_media", "2026 GIVEN-1", "outcome", replay.ProblemDiffers, true},
		{"report replaced", `UPDATE campaigns SET report = X'7b7d'`, "campaigns", "2026", "report", replay.ProblemDiffers, true},
	}
	// The same edits on PostgreSQL, where its SQL differs.
	pgSQL := map[string]string{
		"medium removed": `SET session_replication_role = replica;
			DELETE FROM campaign_media WHERE medium_id = (SELECT id FROM media WHERE number = 'C-2026-0001');
			DELETE FROM media WHERE number = 'C-2026-0001'`,
		"report replaced": `UPDATE campaigns SET report = '\x7b7d'::bytea`,
	}
	forEngines(t, func(t *testing.T, eng engine) {
		var orig []byte
		if !eng.pg { // SQLite: edit copies of one register
			b, err := os.ReadFile(build(t, eng.newDB(t)))
			if err != nil {
				t.Fatal(err)
			}
			orig = b
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				path, query := eng.newDB(t), tt.sql
				if eng.pg {
					build(t, path)
					if q, ok := pgSQL[tt.name]; ok {
						query = q
					}
				} else if err := os.WriteFile(path, orig, 0o600); err != nil {
					t.Fatal(err)
				}
				tamper(t, path, query)
				rep := verify(t, path, replay.Options{})
				if rep.Broken != nil {
					t.Fatalf("the chain broke (%v); this edit leaves it intact", rep.Broken)
				}
				if !has(rep.Findings, tt.table, tt.key, tt.field, tt.problem) {
					t.Errorf("no %s finding for %s %q field %q; findings: %+v", tt.problem, tt.table, tt.key, tt.field, rep.Findings)
				}
				if rep.Intact() {
					t.Error("reported intact")
				}
			})
		}
	})
}

// TestCutLogCaught deletes the last rows of the log together with what they did and
// moves event_head to the new last row: the chain is intact, but the register still
// holds what the cut rows made.
func TestCutLogCaught(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		path := build(t, e.newDB(t))
		// The last rows: issue of JM-2026-0001, found (JM-2026-0003 active again),
		// daemon.start. Cut from the issue on.
		var cut int64
		if err := raw(t, path).QueryRow(`SELECT seq FROM events WHERE kind = 'medium.issue'`).Scan(&cut); err != nil {
			t.Fatal(err)
		}
		drop := "DROP TRIGGER events_no_delete"
		if e.pg {
			drop += " ON events"
		}
		tamper(t, path, drop+`; DELETE FROM events WHERE seq >= `+itoa(cut)+`;
			UPDATE event_head SET seq = (SELECT MAX(seq) FROM events), hash = (SELECT hash FROM events ORDER BY seq DESC LIMIT 1)`)
		rep := verify(t, path, replay.Options{})
		if rep.Broken != nil {
			t.Fatalf("chain broken after a clean cut: %v", rep.Broken)
		}
		if rep.Head.Seq != cut-1 {
			t.Errorf("head %d; want %d", rep.Head.Seq, cut-1)
		}
		for _, f := range []struct{ key, field string }{{"JM-2026-0001", "status"}, {"JM-2026-0001", "custodian"}, {"JM-2026-0003", "status"}, {"JM-2026-0003", "updated"}} {
			if !has(rep.Findings, "media", f.key, f.field, replay.ProblemDiffers) {
				t.Errorf("no finding for media %s %s after the cut: %+v", f.key, f.field, rep.Findings)
			}
		}
	})
}

// TestRollbackCaughtByAcknowledgement copies an older file of the register back: it
// is self-consistent, and only the office's acknowledgement of a later head shows it.
func TestRollbackCaughtByAcknowledgement(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := build(t, filepath.Join(t.TempDir(), "mediagate.db"))
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// More happens, the office acknowledges the new head.
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)}
	l, err := service.OpenLocal(ctx, path, service.LocalOptions{Create: true, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Store().SetStatus(ctx, "JM-2026-0001", media.StatusLost, event.KindMediumLost, event.MediumStatus{Note: "lost again"}); err != nil {
		t.Fatal(err)
	}
	last, err := l.Events(ctx, service.EventFilter{Limit: 1})
	if err != nil || len(last) != 1 {
		t.Fatal(err)
	}
	l.Close()
	ack := anchor.Sign(anchor.Ack{Host: last[0].HostID, Seq: last[0].Seq, Hash: last[0].Hash, Time: time.Now()}, priv)
	if err := ack.Verify(pub); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, path, replay.Options{Ack: &ack}); !rep.Intact() || !rep.Anchored {
		t.Fatalf("acknowledged register: intact %v anchored %v %+v", rep.Intact(), rep.Anchored, rep.Findings)
	}
	// Root copies the older file back (the loss never happened).
	for _, sfx := range []string{"-wal", "-shm"} {
		os.Remove(path + sfx)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, path, replay.Options{}); !rep.Intact() {
		t.Fatalf("the older file is self-consistent, yet: %+v", rep.Findings)
	}
	rep := verify(t, path, replay.Options{Ack: &ack})
	if rep.Intact() || rep.Anchored || !has(rep.Findings, "acknowledgement", "row "+itoa(ack.Seq), "", replay.ProblemAnchor) {
		t.Errorf("rollback not caught: %+v", rep.Findings)
	}
	// A rewritten chain of the same length: the acknowledged hash differs.
	forged := ack
	forged.Seq = 3
	rep = verify(t, path, replay.Options{Ack: &forged})
	if !has(rep.Findings, "acknowledgement", "row 3", "hash", replay.ProblemAnchor) {
		t.Errorf("differing hash not caught: %+v", rep.Findings)
	}
	other := ack
	other.Host = "another-host"
	rep = verify(t, path, replay.Options{Ack: &other})
	if !has(rep.Findings, "acknowledgement", "row "+itoa(ack.Seq), "host", replay.ProblemAnchor) {
		t.Errorf("acknowledgement of another host not caught: %+v", rep.Findings)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBrokenChainNotReplayed: an edited row stops the check at the chain.
func TestBrokenChainNotReplayed(t *testing.T) {
	path := build(t, filepath.Join(t.TempDir(), "mediagate.db"))
	tamper(t, path, `DROP TRIGGER events_no_update; UPDATE events SET details = replace(details, 'li', 'wang') WHERE kind = 'medium.handover'`)
	rep := verify(t, path, replay.Options{})
	if rep.Broken == nil || rep.Intact() {
		t.Fatalf("edited row not caught: %+v", rep)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("a broken log was compared with the register: %+v", rep.Findings)
	}
}
