package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/office/ledger"
	"mediagate/internal/registry"
)

// The ledger's tests run on SQLite always and on PostgreSQL when MEDIAGATE_PG_DSN
// names a server where they may create databases.

type engine string

func forEngines(t *testing.T, f func(t *testing.T, open func(t testing.TB) *registry.Store)) {
	for _, e := range []engine{"sqlite", "postgres"} {
		t.Run(string(e), func(t *testing.T) {
			if e == "postgres" && os.Getenv("MEDIAGATE_PG_DSN") == "" {
				t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set")
			}
			f(t, func(t testing.TB) *registry.Store { return openStore(t, e) })
		})
	}
}

func openStore(t testing.TB, e engine) *registry.Store {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "office.db")
	if e == "postgres" {
		server := os.Getenv("MEDIAGATE_PG_DSN")
		name, d, err := registry.CreateDatabase(ctx, server, "mg_ledger")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := registry.DropDatabase(context.Background(), server, name); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		})
		dsn = d
	}
	s, err := registry.Open(ctx, dsn, registry.WithActor(audit.Actor{UID: 0, User: "root"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// hostLog is a host's audit chain as its register would hold it.
type hostLog struct {
	reg  string
	rows []*audit.Event
	t    time.Time
}

func newHostLog(reg string, n int) *hostLog {
	h := &hostLog{reg: reg, t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	h.add(n)
	return h
}

// add appends n rows.
func (h *hostLog) add(n int) {
	for range n {
		var prev audit.Head
		if len(h.rows) > 0 {
			last := h.rows[len(h.rows)-1]
			prev = audit.Head{Seq: last.Seq, Hash: last.Hash}
		}
		h.t = h.t.Add(time.Second)
		d, _ := audit.Details(event.DaemonStart{Mode: "enforce", PID: len(h.rows)})
		e := &audit.Event{ID: fmt.Sprintf("%s-%d", h.reg, len(h.rows)+1), Time: h.t, HostID: h.reg, Kind: event.KindDaemonStart,
			Actor: audit.Actor{UID: 0, User: "root"}, Details: d}
		audit.Seal(e, prev.Seq, prev.Hash)
		h.rows = append(h.rows, e)
	}
}

// cut keeps the first k rows (rows deleted from the end, or an older copy).
func (h *hostLog) cut(k int) *hostLog {
	return &hostLog{reg: h.reg, rows: append([]*audit.Event(nil), h.rows[:k]...), t: h.t}
}

// seqs returns rows from through to (1-based, inclusive).
func (h *hostLog) seqs(from, to int) []*audit.Event {
	out := make([]*audit.Event, 0, to-from+1)
	for _, e := range h.rows[from-1 : to] {
		c := *e
		out = append(out, &c)
	}
	return out
}

type fixture struct {
	st  *registry.Store
	l   *ledger.Ledger
	pub ed25519.PublicKey
	log *bytes.Buffer
	mu  *sync.Mutex
}

func newFixture(t testing.TB, st *registry.Store) fixture {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mu := &sync.Mutex{}
	l, err := ledger.New(ledger.Config{Store: st, Key: key, Log: slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: mu}, nil)),
		Now: func() time.Time { return time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{st: st, l: l, pub: pub, log: &buf, mu: mu}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func (f fixture) logText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

// wantAck checks an acknowledgement: signed by the office key, for the register and
// the row given.
func (f fixture) wantAck(t *testing.T, a anchor.Ack, err error, h *hostLog, seq int) {
	t.Helper()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if err := a.Verify(f.pub); err != nil {
		t.Fatalf("ack does not verify: %v", err)
	}
	// The file a host keeps must parse.
	if _, err := anchor.Parse(a.Marshal()); err != nil {
		t.Fatalf("ack does not parse: %v", err)
	}
	want := h.rows[seq-1]
	if a.Host != h.reg || a.Seq != want.Seq || a.Hash != want.Hash {
		t.Fatalf("ack = %s/%d/%s, want %s/%d/%s", a.Host, a.Seq, a.Hash, h.reg, want.Seq, want.Hash)
	}
}

// wantBroken checks that err is the chain's break at seq, recorded in the office's
// chain, its audit log (one office.host-log-broken row) and the alert.
func (f fixture) wantBroken(t *testing.T, err error, host string, seq int64) {
	t.Helper()
	var be *ledger.BrokenError
	if !errors.As(err, &be) || !errors.Is(err, ledger.ErrBroken) {
		t.Fatalf("err = %v, want a break at row %d", err, seq)
	}
	if be.Seq != seq || be.Host != host {
		t.Fatalf("break at %s row %d (%s), want row %d", be.Host, be.Seq, be.Reason, seq)
	}
	ctx := context.Background()
	c, err := f.l.Chain(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	if c.BrokenSeq != seq || c.BrokenReason == "" || c.BrokenAt.IsZero() {
		t.Fatalf("chain = %+v, want broken at %d", c, seq)
	}
	rows, err := f.st.Events(ctx, registry.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range rows {
		if e.Kind != event.KindOfficeLogBroken {
			continue
		}
		n++
		var d event.OfficeLogBroken
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.HostID != host || d.Seq != seq || d.Reason != c.BrokenReason {
			t.Errorf("audit row details = %+v", d)
		}
	}
	if n != 1 {
		t.Errorf("%d office.host-log-broken rows, want 1", n)
	}
	if _, err := f.st.VerifyLog(ctx); err != nil {
		t.Errorf("office log: %v", err)
	}
	if !bytes.Contains([]byte(f.logText()), []byte("ALERT")) {
		t.Errorf("no alert in the server's log: %q", f.logText())
	}
}

func TestReceiveContinuityAndIdempotence(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) *registry.Store) {
		ctx := context.Background()
		f := newFixture(t, open(t))
		h := newHostLog("reg-A", 30)
		a, err := f.l.Receive(ctx, "host-1", h.seqs(1, 10))
		f.wantAck(t, a, err, h, 10)
		// The same batch again: acknowledged again, nothing stored twice.
		a, err = f.l.Receive(ctx, "host-1", h.seqs(1, 10))
		f.wantAck(t, a, err, h, 10)
		// Overlapping the head: rows held are compared, the rest stored.
		a, err = f.l.Receive(ctx, "host-1", h.seqs(10, 20))
		f.wantAck(t, a, err, h, 20)
		// An old batch, wholly held: the office's head is acknowledged.
		a, err = f.l.Receive(ctx, "host-1", h.seqs(3, 5))
		f.wantAck(t, a, err, h, 20)
		// A batch after a gap: refused, nothing marked; it says where to resume.
		_, err = f.l.Receive(ctx, "host-1", h.seqs(25, 30))
		var gap *ledger.GapError
		if !errors.As(err, &gap) || gap.Head != 20 || gap.First != 25 {
			t.Fatalf("gap: err = %v", err)
		}
		a, err = f.l.Receive(ctx, "host-1", h.seqs(21, 30))
		f.wantAck(t, a, err, h, 30)
		// The office's head, as the shipper asks for it at start.
		a, err = f.l.Head(ctx, "host-1")
		f.wantAck(t, a, err, h, 30)
		if _, err := f.l.Head(ctx, "host-2"); !errors.Is(err, ledger.ErrNoChain) {
			t.Fatalf("head of an unknown host: %v", err)
		}
		// ReceiveHead at the office's head is no break.
		a, err = f.l.ReceiveHead(ctx, "host-1", h.seqs(30, 30)[0])
		f.wantAck(t, a, err, h, 30)
		// Every row is held once, as sent.
		got, err := f.st.HostLogRows(ctx, "host-1", 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 30 {
			t.Fatalf("%d rows held, want 30", len(got))
		}
		var chain audit.Chain
		for i, e := range got {
			if err := chain.Add(e); err != nil {
				t.Fatalf("held row %d: %v", i+1, err)
			}
		}
		c, err := f.l.Chain(ctx, "host-1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Broken() || c.Seq != 30 || c.RegisterID != "reg-A" || c.Acked.IsZero() {
			t.Fatalf("chain = %+v", c)
		}
		if n := len(f.logText()); n != 0 {
			t.Errorf("alerts without a break: %s", f.logText())
		}
	})
}

// TestReceiveCatchesTampering is every way a host's log can stop continuing the chain
// the office acknowledged.
func TestReceiveCatchesTampering(t *testing.T) {
	type attack struct {
		name string
		// do sends what the host's shipper sends after the attack (the office holds
		// rows 1..20 of orig) and returns the error.
		do   func(l *ledger.Ledger, orig *hostLog) error
		seq  int64
		host string
	}
	ctx := context.Background()
	attacks := []attack{
		{name: "last rows deleted and head reset", seq: 16, do: func(l *ledger.Ledger, orig *hostLog) error {
			// The log now ends at row 15: the shipper no longer has row 20.
			_, err := l.ReceiveHead(ctx, "host-1", orig.cut(15).seqs(15, 15)[0])
			return err
		}},
		{name: "older database copied back, then new rows", seq: 20, do: func(l *ledger.Ledger, orig *hostLog) error {
			old := orig.cut(12)
			old.add(13) // the daemon ran on: rows 13..25 differ from the office's
			_, err := l.Receive(ctx, "host-1", old.seqs(20, 25))
			return err
		}},
		{name: "older database copied back, fewer rows than acknowledged", seq: 14, do: func(l *ledger.Ledger, orig *hostLog) error {
			old := orig.cut(12)
			old.add(2)
			_, err := l.ReceiveHead(ctx, "host-1", old.seqs(14, 14)[0])
			return err
		}},
		{name: "register replaced with a fresh one", seq: 5, do: func(l *ledger.Ledger, orig *hostLog) error {
			fresh := newHostLog("reg-B", 5)
			_, err := l.ReceiveHead(ctx, "host-1", fresh.seqs(5, 5)[0])
			return err
		}},
		{name: "register replaced, fresh log longer than the acknowledged one", seq: 20, do: func(l *ledger.Ledger, orig *hostLog) error {
			fresh := newHostLog("reg-B", 40)
			_, err := l.Receive(ctx, "host-1", fresh.seqs(20, 40))
			return err
		}},
		{name: "acknowledged row edited", seq: 20, do: func(l *ledger.Ledger, orig *hostLog) error {
			rows := orig.seqs(20, 20)
			rows[0].Medium = "SECRET-0001"
			rows[0].Hash = audit.ComputeHash(rows[0])
			_, err := l.Receive(ctx, "host-1", rows)
			return err
		}},
		{name: "new row edited after it was written", seq: 23, do: func(l *ledger.Ledger, orig *hostLog) error {
			more := orig.cut(20)
			more.add(10)
			rows := more.seqs(20, 30)
			rows[3].Medium = "SECRET-0001" // row 23, hash left as written
			_, err := l.Receive(ctx, "host-1", rows)
			return err
		}},
		{name: "row deleted from the middle of new rows", seq: 24, do: func(l *ledger.Ledger, orig *hostLog) error {
			more := orig.cut(20)
			more.add(10)
			rows := append(more.seqs(20, 23), more.seqs(25, 30)...)
			_, err := l.Receive(ctx, "host-1", rows)
			return err
		}},
		{name: "rows after the head rewritten to hide one", seq: 21, do: func(l *ledger.Ledger, orig *hostLog) error {
			// Rows 21.. re-chained from a made-up row 20: they do not continue the head.
			other := orig.cut(19)
			other.t = other.t.Add(time.Hour)
			other.add(6)
			_, err := l.Receive(ctx, "host-1", other.seqs(21, 25))
			return err
		}},
		{name: "rows of another register continuing the chain", seq: 21, do: func(l *ledger.Ledger, orig *hostLog) error {
			more := orig.cut(20)
			more.reg = "reg-C"
			more.add(2)
			_, err := l.Receive(ctx, "host-1", more.seqs(21, 22))
			return err
		}},
	}
	forEngines(t, func(t *testing.T, open func(testing.TB) *registry.Store) {
		for _, at := range attacks {
			t.Run(at.name, func(t *testing.T) {
				f := newFixture(t, open(t))
				h := newHostLog("reg-A", 20)
				a, err := f.l.Receive(ctx, "host-1", h.seqs(1, 20))
				f.wantAck(t, a, err, h, 20)
				f.wantBroken(t, at.do(f.l, h), "host-1", at.seq)
				// Broken stays broken: the genuine next rows are refused, nothing is stored,
				// no second audit row.
				h.add(5)
				_, err = f.l.Receive(ctx, "host-1", h.seqs(20, 25))
				var be *ledger.BrokenError
				if !errors.As(err, &be) || be.New || be.Seq != at.seq {
					t.Fatalf("after the break: %v", err)
				}
				if _, err := f.l.Head(ctx, "host-1"); !errors.Is(err, ledger.ErrBroken) {
					t.Fatalf("head after the break: %v", err)
				}
				f.wantBroken(t, err, "host-1", at.seq)
				c, _ := f.l.Chain(ctx, "host-1")
				if c.Seq != 20 {
					t.Fatalf("head moved to %d after the break", c.Seq)
				}
				// Another host is not affected.
				o := newHostLog("reg-O", 3)
				a, err = f.l.Receive(ctx, "host-2", o.seqs(1, 3))
				f.wantAck(t, a, err, o, 3)
			})
		}
	})
}

// TestRegisterEditedBehindTheLog: an INSERT or UPDATE of the register's tables
// without a log row leaves the chain as it was: the office acknowledges it (the host's
// audit verify is what finds it — and on an enrolled host the register's media are not
// what the daemon decides by).
func TestRegisterEditedBehindTheLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openStore(t, "sqlite"))
	h := newHostLog("reg-A", 10)
	a, err := f.l.Receive(ctx, "host-1", h.seqs(1, 10))
	f.wantAck(t, a, err, h, 10)
	h.add(2)
	a, err = f.l.Receive(ctx, "host-1", h.seqs(10, 12))
	f.wantAck(t, a, err, h, 12)
}

func TestReceiveRefusesBadBatches(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openStore(t, "sqlite"))
	h := newHostLog("reg-A", 3)
	mut := func(m func(e *audit.Event)) []*audit.Event {
		rows := h.seqs(1, 3)
		m(rows[1])
		return rows
	}
	big := newHostLog("reg-A", ledger.MaxBatch+1)
	for name, rows := range map[string][]*audit.Event{
		"empty":          nil,
		"nil row":        {nil},
		"too many":       big.rows,
		"seq 0":          mut(func(e *audit.Event) { e.Seq = 0 }),
		"short hash":     mut(func(e *audit.Event) { e.Hash = "abc" }),
		"upper-case":     mut(func(e *audit.Event) { e.PrevHash = "A" + e.PrevHash[1:] }),
		"no kind":        mut(func(e *audit.Event) { e.Kind = "" }),
		"no register id": mut(func(e *audit.Event) { e.HostID = "" }),
		"huge details":   mut(func(e *audit.Event) { e.Details = make([]byte, ledger.MaxDetails+1) }),
		"no time":        mut(func(e *audit.Event) { e.Time = time.Time{} }),
	} {
		if _, err := f.l.Receive(ctx, "host-1", rows); !errors.Is(err, ledger.ErrBadBatch) {
			t.Errorf("%s: err = %v, want ErrBadBatch", name, err)
		}
	}
	if _, err := f.l.Receive(ctx, "", h.rows); !errors.Is(err, ledger.ErrBadBatch) {
		t.Errorf("no host: %v", err)
	}
	c, err := f.l.Chain(ctx, "host-1")
	if err != nil || c.Seq != 0 || c.Broken() {
		t.Fatalf("chain after refusals = %+v, %v", c, err)
	}
}

// TestReceiveConcurrent: the same batches of one host sent by several senders at once
// (retries racing) and other hosts at the same time: every row held once, no break.
func TestReceiveConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) *registry.Store) {
		ctx := context.Background()
		f := newFixture(t, open(t))
		const hosts, rows, batch = 4, 200, 20
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for hi := range hosts {
			h := newHostLog(fmt.Sprint("reg-", hi), rows)
			for range 3 {
				wg.Go(func() {
					for from := 1; from <= rows; from += batch {
						_, err := f.l.Receive(ctx, fmt.Sprint("host-", hi), h.seqs(from, from+batch-1))
						var gap *ledger.GapError
						if errors.As(err, &gap) {
							from = int(gap.Head) + 1 - batch
							continue
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		chains, err := f.l.Chains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(chains) != hosts {
			t.Fatalf("%d chains", len(chains))
		}
		for _, c := range chains {
			got, err := f.st.HostLogRows(ctx, c.Host, 1, 10*rows)
			if err != nil {
				t.Fatal(err)
			}
			if c.Seq != rows || c.Broken() || len(got) != rows {
				t.Errorf("%s: head %d, %d rows held, broken %q", c.Host, c.Seq, len(got), c.BrokenReason)
			}
		}
	})
}

func TestFreeze(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) *registry.Store) {
		ctx := context.Background()
		f := newFixture(t, open(t))
		c, err := f.l.Freeze(ctx, "host-1", true, "log rolled back")
		if err != nil || c.Frozen.IsZero() {
			t.Fatalf("freeze: %+v, %v", c, err)
		}
		if _, err := f.l.Freeze(ctx, "host-1", true, "again"); err != nil {
			t.Fatal(err)
		}
		c, err = f.l.Freeze(ctx, "host-1", false, "")
		if err != nil || !c.Frozen.IsZero() {
			t.Fatalf("thaw: %+v, %v", c, err)
		}
		rows, err := f.st.Events(ctx, registry.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []event.Kind
		for _, e := range rows {
			kinds = append(kinds, e.Kind)
		}
		if fmt.Sprint(kinds) != fmt.Sprint([]event.Kind{event.KindOfficeHostFreeze, event.KindOfficeHostUnfreeze}) {
			t.Fatalf("audit rows %v", kinds)
		}
		// A frozen host still ships its log: the evidence keeps coming.
		if _, err := f.l.Freeze(ctx, "host-1", true, ""); err != nil {
			t.Fatal(err)
		}
		h := newHostLog("reg-A", 3)
		a, err := f.l.Receive(ctx, "host-1", h.seqs(1, 3))
		f.wantAck(t, a, err, h, 3)
	})
}
