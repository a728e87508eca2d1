package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// open opens a new SQLite register; tests that run on both engines use forEngines
// and e.open.
func open(t *testing.T) (*Store, *clock) {
	t.Helper()
	return testEngine{SQLite}.open(t)
}

func seed(t *testing.T, s *Store, handles ...string) {
	t.Helper()
	for _, h := range handles {
		if _, err := s.AddPerson(context.Background(), media.Person{Handle: h, Name: "Name " + h, Department: "Dept"}); err != nil {
			t.Fatal(err)
		}
	}
}

func usb(serial string) media.Identity {
	return media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + serial, Serial: serial, VendorID: "0781", ProductID: "5567"}
}

func register(t *testing.T, s *Store, serial string, level media.Level, custodian string) media.Medium {
	t.Helper()
	m, err := s.Register(context.Background(), Registration{Identity: usb(serial), Level: level, Custodian: custodian})
	if err != nil {
		t.Fatalf("register %s: %v", serial, err)
	}
	return m
}

func eventCount(t *testing.T, s *Store) int {
	t.Helper()
	ev, err := s.Events(context.Background(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

func TestNumbering(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, c := eng.open(t)
		seed(t, s, "alice")
		want := []struct {
			level media.Level
			num   string
		}{
			{media.Secret, "S-2026-0001"}, {media.Secret, "S-2026-0002"}, {media.Confidential, "C-2026-0001"},
			{media.TopSecret, "TS-2026-0001"}, {media.Secret, "S-2026-0003"},
		}
		for i, w := range want {
			if m := register(t, s, fmt.Sprint("SER", i), w.level, "alice"); m.Number != w.num {
				t.Errorf("registration %d got %s; want %s", i, m.Number, w.num)
			}
		}
		c.t = time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
		if m := register(t, s, "NEWYEAR", media.Secret, "alice"); m.Number != "S-2027-0001" {
			t.Errorf("new year number = %s", m.Number)
		}
		// An explicit number that the sequence would produce next is skipped by the sequence.
		if _, err := s.Register(context.Background(), Registration{Number: "S-2027-0002", Identity: usb("X1"), Level: media.Secret, Custodian: "alice"}); err != nil {
			t.Fatal(err)
		}
		if m := register(t, s, "X2", media.Secret, "alice"); m.Number != "S-2027-0003" {
			t.Errorf("after explicit number got %s; want S-2027-0003", m.Number)
		}
		// Custom pattern and codes: the per-level, per-year sequence carries on.
		if _, err := s.SetNumbering(context.Background(), "MJ{year}{level_code}{seq:03}", map[media.Level]string{media.Secret: "JM"}); err != nil {
			t.Fatal(err)
		}
		if m := register(t, s, "X3", media.Secret, "alice"); m.Number != "MJ2027JM004" {
			t.Errorf("custom pattern number = %s", m.Number)
		}
	})
}

func TestValidatePattern(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		good := []string{DefaultPattern, "{level_code}{year}{seq}", "密-{year}-{level_code}-{seq:06}"}
		for _, p := range good {
			if err := ValidatePattern(p); err != nil {
				t.Errorf("ValidatePattern(%q) = %v", p, err)
			}
		}
		bad := []string{"", "{year}-{seq}", "{level_code}-{seq}", "{level_code}-{year}", "{level_code}-{year}-{seq}-{seq}",
			"{level_code}-{year}-{serial}", "{level_code} {year} {seq}", "{level_code}/{year}/{seq}", "{level_code:02}-{year}-{seq}",
			"{level_code}-{year}-{seq:0}", "{level_code}-{year}-{seq}\x00"}
		for _, p := range bad {
			if err := ValidatePattern(p); !errors.Is(err, ErrBadPattern) {
				t.Errorf("ValidatePattern(%q) = %v; want ErrBadPattern", p, err)
			}
		}
		s, _ := eng.open(t)
		before := eventCount(t, s)
		if _, err := s.SetNumbering(context.Background(), "{year}", nil); !errors.Is(err, ErrBadPattern) {
			t.Errorf("SetNumbering bad pattern = %v", err)
		}
		if _, err := s.SetNumbering(context.Background(), "", map[media.Level]string{media.Secret: "C"}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("SetNumbering duplicate code = %v", err)
		}
		if eventCount(t, s) != before {
			t.Error("refused numbering change was logged")
		}
	})
}

func TestRegisterRefusals(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		seed(t, s, "alice", "bob")
		m := register(t, s, "AAA1", media.Secret, "alice")
		if err := s.DeactivatePerson(context.Background(), "bob"); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tests := []struct {
			name string
			reg  Registration
			want error
		}{
			{"duplicate identity", Registration{Identity: usb("AAA1"), Level: media.Secret, Custodian: "alice"}, ErrDuplicateIdentity},
			{"duplicate number", Registration{Number: m.Number, Identity: usb("AAA2"), Level: media.Secret, Custodian: "alice"}, ErrDuplicateNumber},
			{"unknown custodian", Registration{Identity: usb("AAA3"), Level: media.Secret, Custodian: "nobody"}, ErrNotFound},
			{"missing custodian", Registration{Identity: usb("AAA3"), Level: media.Secret}, ErrInvalid},
			{"inactive custodian", Registration{Identity: usb("AAA3"), Level: media.Secret, Custodian: "bob"}, ErrInactivePerson},
			{"bad level", Registration{Identity: usb("AAA3"), Level: 7, Custodian: "alice"}, ErrInvalid},
			{"no identity", Registration{Identity: media.Identity{Kind: media.KindUSBDisk}, Level: 1, Custodian: "alice"}, ErrInvalid},
			{"bad kind", Registration{Identity: media.Identity{Kind: "tape", Key: "x"}, Level: 1, Custodian: "alice"}, ErrInvalid},
			{"number with space", Registration{Number: "S 1", Identity: usb("AAA3"), Level: 1, Custodian: "alice"}, ErrInvalid},
			{"note with control", Registration{Note: "a\x1b[2J", Identity: usb("AAA3"), Level: 1, Custodian: "alice"}, ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := eventCount(t, s)
				list, _ := s.ListMedia(ctx, MediaFilter{})
				_, err := s.Register(ctx, tt.reg)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Register = %v; want %v", err, tt.want)
				}
				after, _ := s.ListMedia(ctx, MediaFilter{})
				if len(after) != len(list) || eventCount(t, s) != before {
					t.Error("a refused registration wrote something")
				}
			})
		}
	})
}

func TestNumberNeverReused(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		seed(t, s, "alice", "boss", "wit")
		ctx := context.Background()
		m := register(t, s, "D1", media.Secret, "alice")
		if _, err := s.SetStatus(ctx, m.Number, media.StatusDestroyed, event.KindMediumDestroy, event.MediumStatus{Method: "shred"}, "boss", "wit"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, Registration{Number: m.Number, Identity: usb("D2"), Level: media.Secret, Custodian: "alice"}); !errors.Is(err, ErrDuplicateNumber) {
			t.Errorf("reusing a destroyed medium's number: %v", err)
		}
		if n := register(t, s, "D3", media.Secret, "alice"); n.Number == m.Number {
			t.Errorf("sequence reused %s", n.Number)
		}
	})
}

func TestLifecycle(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, c := eng.open(t)
		seed(t, s, "alice", "bob", "carol", "boss")
		ctx := context.Background()
		m := register(t, s, "L1", media.Confidential, "alice")

		if _, err := s.Handover(ctx, m.Number, "bob", "bob", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("witness = recipient accepted: %v", err)
		}
		h, err := s.Handover(ctx, m.Number, "bob", "carol", "job change")
		if err != nil || h.Custodian != "bob" {
			t.Fatalf("handover = %+v, %v", h, err)
		}
		var n int
		s.db.QueryRow(`SELECT COUNT(*) FROM handovers`).Scan(&n)
		if n != 1 {
			t.Errorf("handover records = %d", n)
		}
		due := c.t.Add(72 * time.Hour)
		l, err := s.Lend(ctx, m.Number, "carol", due, "boss", "")
		if err != nil || l.Status != media.StatusLent || l.Holder != "carol" || !l.DueAt.Equal(due) {
			t.Fatalf("lend = %+v, %v", l, err)
		}
		if err := s.DeactivatePerson(ctx, "carol"); !errors.Is(err, ErrPersonHoldsMedia) {
			t.Errorf("deactivate a holder = %v", err)
		}
		if _, err := s.Handover(ctx, m.Number, "alice", "carol", ""); !errors.Is(err, ErrTransition) {
			t.Errorf("handover while lent = %v", err)
		}
		if _, err := s.SetStatus(ctx, m.Number, media.StatusRepair, event.KindMediumRepair, event.MediumStatus{}); !errors.Is(err, ErrTransition) {
			t.Errorf("lent → repair = %v", err)
		}
		r, err := s.Return(ctx, m.Number, "")
		if err != nil || r.Status != media.StatusActive || r.Holder != "" || !r.DueAt.IsZero() {
			t.Fatalf("return = %+v, %v", r, err)
		}
		if _, err := s.Relevel(ctx, m.Number, media.Unclassified, ""); !errors.Is(err, ErrRelevelDown) {
			t.Errorf("relevel down = %v", err)
		}
		if _, err := s.Relevel(ctx, m.Number, media.Confidential, ""); !errors.Is(err, ErrRelevelDown) {
			t.Errorf("relevel same = %v", err)
		}
		if up, err := s.Relevel(ctx, m.Number, media.TopSecret, ""); err != nil || up.Level != media.TopSecret {
			t.Errorf("relevel up = %+v, %v", up, err)
		}
		for _, step := range []struct {
			to   media.Status
			kind event.Kind
		}{{media.StatusLost, event.KindMediumLost}, {media.StatusActive, event.KindMediumFound}, {media.StatusRepair, event.KindMediumRepair},
			{media.StatusActive, event.KindMediumRepaired}, {media.StatusRetired, event.KindMediumRetire}} {
			if _, err := s.SetStatus(ctx, m.Number, step.to, step.kind, event.MediumStatus{}); err != nil {
				t.Fatalf("→ %s: %v", step.to, err)
			}
		}
		if _, err := s.SetStatus(ctx, m.Number, media.StatusActive, event.KindMediumFound, event.MediumStatus{}); !errors.Is(err, ErrTransition) {
			t.Errorf("retired → active = %v", err)
		}
		if _, err := s.Relevel(ctx, m.Number, media.TopSecret+0, ""); err == nil {
			t.Error("relevel of a retired medium accepted")
		}
		ev, _ := s.Events(ctx, EventFilter{Medium: m.Number})
		if len(ev) != 10 {
			t.Errorf("medium history has %d rows; want 10", len(ev))
		}
		if k := ev[1].Kind; k != "medium.handover" {
			t.Errorf("second event = %s", k)
		}
		if ev[0].Actor.Login != "officer" {
			t.Errorf("actor not recorded: %+v", ev[0].Actor)
		}
		if n, err := s.VerifyLog(ctx); err != nil || n < 10 {
			t.Errorf("VerifyLog = %d, %v", n, err)
		}
	})
}

func TestPeople(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		seed(t, s, "alice")
		if _, err := s.AddPerson(ctx, media.Person{Handle: "alice", Name: "Again"}); !errors.Is(err, ErrDuplicateHandle) {
			t.Errorf("duplicate handle = %v", err)
		}
		for _, h := range []string{"", "a b", "-x", "x\x00", string(make([]byte, 65))} {
			if _, err := s.AddPerson(ctx, media.Person{Handle: h, Name: "N"}); !errors.Is(err, ErrInvalid) {
				t.Errorf("handle %q = %v", h, err)
			}
		}
		if _, err := s.AddPerson(ctx, media.Person{Handle: "王伟", Name: "王伟"}); err != nil {
			t.Errorf("Chinese handle refused: %v", err)
		}
		name := "Alice Liddell"
		p, err := s.UpdatePerson(ctx, "alice", PersonUpdate{Name: &name})
		if err != nil || p.Name != name || p.Department != "Dept" {
			t.Errorf("update = %+v, %v", p, err)
		}
		empty := ""
		if _, err := s.UpdatePerson(ctx, "alice", PersonUpdate{Name: &empty}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty name = %v", err)
		}
		if err := s.DeactivatePerson(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListPeople(ctx, false); len(l) != 1 {
			t.Errorf("active people = %d", len(l))
		}
		if l, _ := s.ListPeople(ctx, true); len(l) != 2 {
			t.Errorf("all people = %d", len(l))
		}
	})
}

func TestHost(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		if _, err := s.Host(ctx); !errors.Is(err, ErrNoHost) {
			t.Errorf("Host before init = %v", err)
		}
		h, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, Department: "Office"})
		if err != nil || h.Mode != media.ModeEnforce || h.ID != s.HostID() {
			t.Fatalf("InitHost = %+v, %v", h, err)
		}
		h2, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.TopSecret, Mode: media.ModeAudit, Baseline: []string{"wwn:0x1"}})
		if err != nil || !h2.Created.Equal(h.Created) {
			t.Fatal(err)
		}
		got, err := s.Host(ctx)
		if err != nil || got.Level != media.TopSecret || got.Mode != media.ModeAudit || len(got.Baseline) != 1 {
			t.Errorf("Host = %+v, %v", got, err)
		}
		if _, err := s.InitHost(ctx, media.Host{Number: "", Level: 1}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty number = %v", err)
		}
	})
}

// TestConcurrentWriters runs two stores on one database, as two CLI processes (or
// two office servers on one PostgreSQL database) would: no number is given twice and
// the audit chain does not fork.
func TestConcurrentWriters(t *testing.T) {
	forEngines(t, testConcurrentWriters)
}

func testConcurrentWriters(t *testing.T, eng testEngine) {
	path := eng.dsn(t)
	ctx := context.Background()
	var stores []*Store
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	seed(t, stores[0], "alice")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for i := range 25 {
				if _, err := s.Register(ctx, Registration{Identity: usb(fmt.Sprintf("W%d-%d", w, i)), Level: media.Secret, Custodian: "alice"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := stores[1].ListMedia(ctx, MediaFilter{})
	if err != nil || len(list) != 100 {
		t.Fatalf("media = %d, %v", len(list), err)
	}
	seen := map[string]bool{}
	for _, m := range list {
		if seen[m.Number] {
			t.Errorf("number %s given twice", m.Number)
		}
		seen[m.Number] = true
	}
	if n, err := stores[0].VerifyLog(ctx); err != nil || n != 101 {
		t.Errorf("VerifyLog = %d, %v", n, err)
	}
}

// TestTamperDetected edits the database directly, as someone with the sqlite3 or psql
// tool would.
func TestTamperDetected(t *testing.T) {
	dropTrigger := map[Engine]string{SQLite: `DROP TRIGGER %s`, PostgreSQL: `DROP TRIGGER %s ON events`}
	tests := []struct {
		name    string
		trigger string
		sql     string
		wantSeq int64
	}{
		{"edit", "events_no_update", `UPDATE events SET medium = 'S-2026-9999' WHERE seq = 3`, 3},
		{"delete", "events_no_delete", `DELETE FROM events WHERE seq = 2`, 2},
		{"delete last", "events_no_delete", `DELETE FROM events WHERE seq = 4`, 4},
		{"swap details", "events_no_update", `UPDATE events SET details = (SELECT details FROM events WHERE seq = 4) WHERE seq = 3`, 3},
	}
	forEngines(t, func(t *testing.T, eng testEngine) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := eng.open(t)
				seed(t, s, "a", "b")
				register(t, s, "T1", media.Secret, "a")
				register(t, s, "T2", media.Secret, "b")
				ctx := context.Background()
				if _, err := s.VerifyLog(ctx); err != nil {
					t.Fatal(err)
				}
				// A connection of its own, as the tool's would be.
				raw, err := Open(ctx, eng.rawDSN(t, s))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := raw.db.Exec(fmt.Sprintf(dropTrigger[eng.engine], tt.trigger) + "; " + tt.sql); err != nil {
					t.Fatal(err)
				}
				raw.Close()
				_, err = s.VerifyLog(ctx)
				var be *audit.BrokenError
				if !errors.As(err, &be) || be.Seq != tt.wantSeq {
					t.Errorf("VerifyLog after %s = %v; want broken at %d", tt.name, err, tt.wantSeq)
				}
			})
		}
		s, _ := eng.open(t)
		seed(t, s, "a")
		if _, err := s.db.Exec(`UPDATE events SET kind = 'x' WHERE seq = 1`); err == nil {
			t.Error("the append-only trigger did not stop an update")
		}
		if _, err := s.db.Exec(`DELETE FROM events WHERE seq = 1`); err == nil {
			t.Error("the append-only trigger did not stop a delete")
		}
		if n, err := s.VerifyLog(context.Background()); err != nil || n != 1 {
			t.Errorf("VerifyLog after refused edits = %d, %v", n, err)
		}
	})
}

func TestNewRegistryIsNotWorldReadable(t *testing.T) {
	s, _ := open(t)
	st, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("registry mode %v is open to everyone", st.Mode().Perm())
	}
}

func TestOpenMounts(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		row := func(kind event.Kind, src, mp string) {
			if _, err := s.RecordEvent(ctx, kind, "S-1", event.Mount{Device: event.MountDevice{Source: src}, MountPoint: mp}); err != nil {
				t.Fatal(err)
			}
		}
		row(event.KindMountAttach, "/dev/sda1", "/mnt/a")
		row(event.KindMountAttach, "/dev/sdb1", "/mnt/b")
		row(event.KindMountDetach, "/dev/sda1", "/mnt/a")
		row(event.KindMountSeenAtStart, "/dev/sdc1", "/mnt/c")
		row(event.KindMountViolation, "/dev/sdd1", "/mnt/d")
		row(event.KindMountRemount, "/dev/sde1", "/mnt/e")
		if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, "S-1", event.DeviceDecision{Device: event.DecisionDevice{Name: "sdf"}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.OpenMounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].MountPoint != "/mnt/b" || got[1].MountPoint != "/mnt/c" || got[0].Medium != "S-1" || got[0].Source != "/dev/sdb1" {
			t.Errorf("OpenMounts = %+v; want /mnt/b and /mnt/c", got)
		}
	})
}

func TestUpgradeIdentityKey(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		seed(t, s, "alice")
		ctx := context.Background()
		old := media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:" + fmt.Sprintf("%064x", 1)}
		m, err := s.Register(ctx, Registration{Identity: old, Level: media.Secret, Custodian: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.Register(ctx, Registration{Identity: media.Identity{Kind: media.KindOpticalDisc, Key: "disc:v2-iso9660:taken"}, Level: media.Secret, Custodian: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		before := eventCount(t, s)
		if _, err := s.UpgradeIdentityKey(ctx, old.Key, other.Identity.Key); !errors.Is(err, ErrDuplicateIdentity) {
			t.Errorf("upgrade onto a registered key: %v", err)
		}
		if _, err := s.UpgradeIdentityKey(ctx, "disc:iso9660:none", "disc:v2-iso9660:new"); !errors.Is(err, ErrNotFound) {
			t.Errorf("upgrade of an unregistered key: %v", err)
		}
		if eventCount(t, s) != before {
			t.Fatal("a refused upgrade wrote an audit row")
		}
		const v2 = "disc:v2-iso9660:new"
		up, err := s.UpgradeIdentityKey(ctx, old.Key, v2)
		if err != nil || up.Number != m.Number || up.Identity.Key != v2 {
			t.Fatalf("upgrade: %+v, %v", up, err)
		}
		if got, err := s.MediumByIdentity(ctx, v2); err != nil || got.Number != m.Number || got.Access != media.AccessReadOnly {
			t.Errorf("by the new key: %+v, %v", got, err)
		}
		if _, err := s.MediumByIdentity(ctx, old.Key); !errors.Is(err, ErrNotFound) {
			t.Errorf("the old key still finds the medium: %v", err)
		}
		ev, err := s.Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		last := ev[len(ev)-1]
		if last.Kind != "medium.identity-upgrade" || last.Medium != m.Number {
			t.Errorf("last audit row %s %s", last.Kind, last.Medium)
		}
		if _, err := s.VerifyLog(ctx); err != nil {
			t.Errorf("audit chain after the upgrade: %v", err)
		}
	})
}

// TestChangeTextIsChecked: the free text of a change (note, method, approver …) goes
// into the log as typed, so text with control or format characters, or longer than
// 2000 bytes, is refused with the field's name and nothing is written.
func TestChangeTextIsChecked(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		seed(t, s, "alice", "bob", "boss", "wit")
		ctx := context.Background()
		m := register(t, s, "T1", media.Secret, "alice")
		before := eventCount(t, s)
		for _, c := range []struct {
			name  string
			do    func() error
			field string
		}{
			{"lend note with a right-to-left override", func() error {
				_, err := s.Lend(ctx, m.Number, "bob", time.Now().Add(48*time.Hour), "", "ok\u202etxt.exe")
				return err
			}, "note"},
			{"relevel note with an escape", func() error {
				_, err := s.Relevel(ctx, m.Number, media.TopSecret, "\x1b[2J")
				return err
			}, "note"},
			{"destroy method too long", func() error {
				_, err := s.SetStatus(ctx, m.Number, media.StatusDestroyed, event.KindMediumDestroy,
					event.MediumStatus{ApprovedBy: "boss", Witness: "wit", Method: strings.Repeat("x", 2001)}, "boss", "wit")
				return err
			}, "method"},
		} {
			t.Run(c.name, func(t *testing.T) {
				var e *Error
				if err := c.do(); !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || len(e.Args) == 0 || e.Args[0] != Field(c.field) {
					t.Errorf("err = %v; want an invalid %s", err, c.field)
				}
				if eventCount(t, s) != before {
					t.Error("a refused change wrote a row")
				}
			})
		}
		if got, _ := s.Medium(ctx, m.Number); got.Status != media.StatusActive || got.Level != media.Secret {
			t.Errorf("medium changed: %+v", got)
		}
	})
}

// TestAuditChainConcurrentAppends: many writers on several connections append to the
// log at once (the daemon's decisions while officers register media). Every row must
// land on the chain exactly once: no two rows on one head (a fork), no gap.
func TestAuditChainConcurrentAppends(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		dsn := eng.dsn(t)
		ctx := context.Background()
		const stores, writers, rows = 3, 6, 25
		var ss []*Store
		for range stores {
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ss = append(ss, s)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers*rows)
		seqs := make(chan int64, writers*rows)
		for w := range writers {
			wg.Go(func() {
				for i := range rows {
					e, err := ss[w%stores].RecordEvent(ctx, event.KindDeviceDecision, "",
						event.DeviceDecision{Device: event.DecisionDevice{Name: fmt.Sprintf("w%d-%d", w, i)}})
					if err != nil {
						errs <- err
						continue
					}
					seqs <- e.Seq
				}
			})
		}
		wg.Wait()
		close(errs)
		close(seqs)
		for err := range errs {
			t.Error(err)
		}
		seen := map[int64]bool{}
		for q := range seqs {
			if seen[q] {
				t.Errorf("sequence %d given to two rows", q)
			}
			seen[q] = true
		}
		if n, err := ss[0].VerifyLog(ctx); err != nil || n != writers*rows {
			t.Errorf("VerifyLog = %d, %v; want %d rows intact", n, err, writers*rows)
		}
	})
}

// outsideListSQL must list exactly KindsOutsideRegister: a kind missing from it would
// make every decision row reload the daemon's index, an extra one would hide a change.
func TestOutsideListSQL(t *testing.T) {
	var want []string
	for _, k := range KindsOutsideRegister {
		want = append(want, "'"+string(k)+"'")
	}
	if got := strings.Join(want, ", "); got != outsideListSQL {
		t.Errorf("outsideListSQL\n got %s\nwant %s", outsideListSQL, got)
	}
}
