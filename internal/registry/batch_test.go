package registry

import (
	"context"
	"database/sql"
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
