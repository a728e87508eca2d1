package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"mediagate/internal/event"
)

// RecordEvents appends its rows in order in one transaction, chained like single rows;
// a row refused for its details leaves none of the batch behind.
func TestRecordEventsBatch(t *testing.T) {
	forEngines(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		s, _ := e.open(t)
		before, err := s.Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		rows := []EventRow{
			{Kind: event.KindDeviceDecision, Details: event.DeviceDecision{Stage: "usb-device", Note: "one"}},
			{Kind: event.KindDaemonRescan, Details: event.DaemonRescan{Trigger: "request"}},
			{Kind: event.KindDeviceDecision, Details: event.DeviceDecision{Stage: "usb-device", Note: "three"}},
		}
		if err := s.RecordEvents(ctx, rows); err != nil {
			t.Fatal(err)
		}
		// A wrong details type: refused, and the good row before it is not written.
		bad := []EventRow{
			{Kind: event.KindDeviceDecision, Details: event.DeviceDecision{Stage: "usb-device", Note: "four"}},
			{Kind: event.KindDeviceDecision, Details: event.DaemonRescan{}},
		}
		if err := s.RecordEvents(ctx, bad); err == nil {
			t.Fatal("a row with the wrong details type was accepted")
		}
		after, err := s.Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := after[len(before):]
		if len(got) != 3 {
			t.Fatalf("%d rows appended, want 3", len(got))
		}
		for i, want := range rows {
			if got[i].Kind != want.Kind {
				t.Errorf("row %d: kind %s, want %s", i, got[i].Kind, want.Kind)
			}
		}
		if n, err := s.VerifyLog(ctx); err != nil || n != int64(len(after)) {
			t.Errorf("verify: %d rows, %v; want %d", n, err, len(after))
		}
	})
}

// WithPageCache bounds the page cache of every pooled connection.
func TestWithPageCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/reg.db", WithPageCache(256))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.SetMaxIdleConns(2)
	// Two connections at once: both have the pragma.
	c1, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for i, c := range []interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}{c1, c2} {
		var n int
		if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil || n != -256 {
			t.Errorf("connection %d: cache_size %d (%v), want -256", i, n, err)
		}
	}
}

// Batches appended at once by several stores on one database (the daemon's burst while
// another process writes): each batch reads the head once, under the writer lock, and
// lands on the chain as one run of consecutive rows; the chain does not fork.
func TestRecordEventsConcurrentBatches(t *testing.T) {
	forEngines(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		dsn := e.dsn(t)
		const stores, writers, batches, size = 2, 4, 10, 5
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
		errs := make(chan error, writers*batches)
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					rows := make([]EventRow, size)
					for i := range rows {
						rows[i] = EventRow{Kind: event.KindDeviceDecision,
							Details: event.DeviceDecision{Stage: "usb-device", Note: fmt.Sprintf("w%d b%d r%d", w, b, i)}}
					}
					if err := ss[w%stores].RecordEvents(ctx, rows); err != nil {
						errs <- err
					}
					// A single row from the same writer in between.
					if _, err := ss[w%stores].RecordEvent(ctx, event.KindDaemonRescan, "", event.DaemonRescan{Trigger: "request"}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		all, err := ss[0].Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := writers * batches * (size + 1); len(all) != want {
			t.Fatalf("%d rows, want %d", len(all), want)
		}
		// Every batch is one run: its rows r0…r4 follow each other.
		for i, ev := range all {
			var d event.DeviceDecision
			if ev.Kind != event.KindDeviceDecision {
				continue
			}
			if err := json.Unmarshal(ev.Details, &d); err != nil {
				t.Fatal(err)
			}
			var w, b, r int
			if _, err := fmt.Sscanf(d.Note, "w%d b%d r%d", &w, &b, &r); err != nil {
				t.Fatalf("row %d: note %q: %v", ev.Seq, d.Note, err)
			}
			if r > 0 {
				var prev event.DeviceDecision
				if err := json.Unmarshal(all[i-1].Details, &prev); err != nil || prev.Note != fmt.Sprintf("w%d b%d r%d", w, b, r-1) {
					t.Errorf("row %d (%s) does not follow its batch's row before it (row %d: %q)", ev.Seq, d.Note, all[i-1].Seq, prev.Note)
				}
			}
		}
		if n, err := ss[1].VerifyLog(ctx); err != nil || n != int64(len(all)) {
			t.Errorf("VerifyLog = %d, %v; want %d rows intact", n, err, len(all))
		}
	})
}
