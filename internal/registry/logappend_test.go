package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/event"
)

func decisionRow(medium, note string) EventRow {
	return EventRow{Kind: event.KindDeviceDecision, Medium: medium, Details: event.DeviceDecision{Stage: "usb-device", Note: note}}
}

// A batch that fails inside its transaction (here a trigger refuses its second row)
// leaves nothing behind and no transaction open: the next batch, and another writer,
// append on the same chain.
func TestRecordEventsFailureLeavesNothing(t *testing.T) {
	forEngines(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		dsn := e.dsn(t)
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "first")}); err != nil {
			t.Fatal(err)
		}
		refuse := `CREATE TRIGGER refuse_fail BEFORE INSERT ON events WHEN NEW.medium = 'FAIL'
			BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`
		if e.engine == PostgreSQL {
			refuse = `CREATE FUNCTION refuse_fail() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.medium = 'FAIL' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
				CREATE TRIGGER refuse_fail BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_fail()`
		}
		if _, err := s.db.ExecContext(ctx, refuse); err != nil {
			t.Fatal(err)
		}
		err = s.RecordEvents(ctx, []EventRow{decisionRow("", "second"), decisionRow("FAIL", "third")})
		if err == nil {
			t.Fatal("a batch with a refused row was written")
		}
		// Another store (another process) is not kept waiting by a transaction left open.
		other, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := other.RecordEvent(wctx, event.KindDeviceDecision, "", event.DeviceDecision{Note: "other"}); err != nil {
			t.Fatalf("another writer after the failed batch: %v", err)
		}
		if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "fourth")}); err != nil {
			t.Fatalf("the next batch: %v", err)
		}
		rows, err := s.Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, r := range rows {
			d, err := event.As[event.DeviceDecision](r.Kind, r.Details)
			if err != nil {
				t.Fatal(err)
			}
			notes = append(notes, d.Note)
		}
		if want := []string{"first", "other", "fourth"}; !slices.Equal(notes, want) {
			t.Errorf("rows %q, want %q", notes, want)
		}
		if n, err := s.VerifyLog(ctx); err != nil || n != 3 {
			t.Errorf("VerifyLog = %d, %v; want 3 rows intact", n, err)
		}
	})
}

// While another connection holds the writer lock, a batch waits for it; one whose
// context ends first fails, writes nothing, and the store appends again once the lock
// is free.
func TestRecordEventsWaitsForTheWriterLock(t *testing.T) {
	forEngines(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		dsn := e.dsn(t)
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "first")}); err != nil {
			t.Fatal(err)
		}
		other, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		hold := make(chan struct{})
		held := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- other.inTx(ctx, func(*sql.Tx) error {
				close(held)
				<-hold
				return nil
			})
		}()
		<-held
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := s.RecordEvents(short, []EventRow{decisionRow("", "refused")}); err == nil {
			t.Fatal("a batch was written while another writer held the lock")
		} else if !errors.Is(err, context.DeadlineExceeded) && e.engine == SQLite {
			t.Logf("busy batch: %v", err)
		}
		// Released while the next batch waits: it is written after it.
		next := make(chan error, 1)
		go func() { next <- s.RecordEvents(ctx, []EventRow{decisionRow("", "second")}) }()
		time.Sleep(100 * time.Millisecond)
		close(hold)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := <-next; err != nil {
			t.Fatalf("the batch after the lock was freed: %v", err)
		}
		if n, err := s.VerifyLog(ctx); err != nil || n != 2 {
			t.Errorf("VerifyLog = %d, %v; want 2 rows intact", n, err)
		}
	})
}

// The connection the log's batches are appended on has the pragmas of every
// connection: WAL, synchronous NORMAL (a commit survives a crash of the process), the
// busy timeout and foreign keys. With one connection (the daemon's), the batches, the
// change checks and the reads all run on it: the schema is parsed once.
func TestLogWriterPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/reg.db", WithPageCache(256), WithConnections(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "one")}); err != nil {
		t.Fatal(err)
	}
	feed, err := s.ChangeFeed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	if _, _, err := feed.ChangedSince(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Events(ctx, EventFilter{}); err != nil {
		t.Fatal(err)
	}
	if n := s.db.Stats().OpenConnections; n != 1 {
		t.Errorf("%d connections open, want 1", n)
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var prepared bool
	if err := c.Raw(func(dc any) error { prepared = dc.(*liteConn).log != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if !prepared {
		t.Error("RecordEvents did not prepare the log's statements on the connection")
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "busy_timeout": "10000", "foreign_keys": "1", "cache_size": "-256"} {
		var got string
		if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
}

// Audit row ids are version-7 UUIDs: the row's time in milliseconds, then random bits;
// ids of later rows sort after those of earlier ones, and none repeats.
func TestEventIDs(t *testing.T) {
	ms := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixMilli()
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		id := eventIDs.next(ms + int64(i/100))
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[14] != '7' || id[18] != '-' || !strings.ContainsAny(id[19:20], "89ab") || id[23] != '-' {
			t.Fatalf("id %q is not a version-7 UUID", id)
		}
		if got := strings.ReplaceAll(id[:13], "-", ""); got != fmt.Sprintf("%012x", ms+int64(i/100)) {
			t.Fatalf("id %q: time %s, want %012x", id, got, ms+int64(i/100))
		}
		if seen[id] {
			t.Fatalf("id %q handed out twice", id)
		}
		seen[id] = true
		if i%100 == 0 && id <= prev {
			t.Errorf("id %q of a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
	// The rows' ids carry their time.
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/reg.db", WithClock(func() time.Time { return time.UnixMilli(ms).UTC() }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "one")}); err != nil {
		t.Fatal(err)
	}
	e, err := s.RecordEvent(ctx, event.KindDeviceDecision, "", event.DeviceDecision{Note: "two"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Events(ctx, EventFilter{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if !strings.HasPrefix(strings.ReplaceAll(r.ID, "-", ""), fmt.Sprintf("%012x7", ms)) {
			t.Errorf("row %d: id %q does not start with its time", r.Seq, r.ID)
		}
	}
	if e.ID != rows[1].ID {
		t.Errorf("RecordEvent returned id %q, stored %q", e.ID, rows[1].ID)
	}
}

// A connection the log's transaction may have been left open on is closed, its
// statements finalized first, and the next batch takes a new one.
func TestLogWriterDropsABadConnection(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/reg.db", WithConnections(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "one")}); err != nil {
		t.Fatal(err)
	}
	var first *liteConn
	errLeft := errors.New("a transaction may be open")
	err = s.writer.onConn(ctx, s.db, func(l *logConnStmts) (bool, error) {
		if err := exec(ctx, l.begin); err != nil {
			t.Fatal(err)
		}
		return true, errLeft
	})
	if !errors.Is(err, errLeft) {
		t.Fatalf("onConn = %v, want the callback's error", err)
	}
	if err := s.RecordEvents(ctx, []EventRow{decisionRow("", "two")}); err != nil {
		t.Fatalf("the batch after a bad connection: %v", err)
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Raw(func(dc any) error { first = dc.(*liteConn); return nil })
	c.Close()
	if st := s.db.Stats(); st.OpenConnections != 1 {
		t.Errorf("%d connections open, want 1", st.OpenConnections)
	}
	if first.log == nil {
		t.Error("the new connection has no log statements after the batch")
	}
	if n, err := s.VerifyLog(ctx); err != nil || n != 2 {
		t.Errorf("VerifyLog = %d, %v; want 2", n, err)
	}
}
