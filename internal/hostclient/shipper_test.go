package hostclient

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// memLog is a host's log in memory (LogSource).
type memLog struct {
	mu   sync.Mutex
	rows []*audit.Event
	head audit.Head // as event_head records it
}

func (l *memLog) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		e := &audit.Event{ID: fmt.Sprint("id-", len(l.rows)+1), Time: time.Date(2026, 11, 30, 9, 0, len(l.rows), 0, time.UTC),
			HostID: "reg-1", Kind: event.KindDaemonStart, Actor: audit.Actor{User: "root"}}
		audit.Seal(e, l.head.Seq, l.head.Hash)
		l.rows = append(l.rows, e)
		l.head = audit.Head{Seq: e.Seq, Hash: e.Hash}
	}
}

func (l *memLog) LogHead(context.Context) (audit.Head, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head, nil
}

func (l *memLog) LogRows(_ context.Context, from int64, limit int) ([]*audit.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*audit.Event
	for _, e := range l.rows {
		if e.Seq >= from && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// memOffice keeps the office's head for one host and records what it was sent.
type memOffice struct {
	key     ed25519.PrivateKey
	head    *anchor.Ack
	batches [][]int64 // the sequence numbers of each batch
	heads   int       // head batches (the host's log ends before the office's head)
	down    bool
}

func (o *memOffice) LogHead(context.Context) (*anchor.Ack, error) {
	if o.down {
		return nil, errors.New("connection refused")
	}
	return o.head, nil
}

func (o *memOffice) SendLog(_ context.Context, rows []*audit.Event, head bool) (*anchor.Ack, error) {
	if o.down {
		return nil, errors.New("connection refused")
	}
	if head {
		o.heads++
		return nil, &LogBrokenError{Seq: rows[0].Seq + 1, Reason: "log cut"}
	}
	var seqs []int64
	for _, e := range rows {
		seqs = append(seqs, e.Seq)
	}
	o.batches = append(o.batches, seqs)
	var at int64
	if o.head != nil {
		at = o.head.Seq
	}
	if rows[0].Seq > at+1 {
		return nil, &LogGapError{Head: at}
	}
	last := rows[len(rows)-1]
	a := anchor.Sign(anchor.Ack{Host: last.HostID, Seq: last.Seq, Hash: last.Hash, Time: time.Now()}, o.key)
	o.head = &a
	return &a, nil
}

func TestShipperSendsInOrderFromTheAcknowledgedRow(t *testing.T) {
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(nil)
	log, off := &memLog{}, &memOffice{key: key}
	log.add(12)
	ackFile := filepath.Join(t.TempDir(), "reg.db.ack")
	s := NewShipper(ShipperConfig{Client: off, Source: log, Key: pub, AckFile: ackFile, BatchRows: 5})
	for {
		more, err := s.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	want := "[[1 2 3 4 5] [5 6 7 8 9] [9 10 11 12]]"
	if got := fmt.Sprint(off.batches); got != want {
		t.Fatalf("batches %s, want %s (each from the acknowledged row)", got, want)
	}
	a, ok, err := anchor.Load(ackFile)
	if err != nil || !ok || a.Seq != 12 || a.Verify(pub) != nil {
		t.Fatalf("ack file: %+v %v %v", a, ok, err)
	}
	// Nothing new: no request at all.
	n := len(off.batches)
	if more, err := s.Step(ctx); more || err != nil || len(off.batches) != n {
		t.Fatalf("idle step sent %d batches (more %v, err %v)", len(off.batches)-n, more, err)
	}
	if st := s.Status(); st.Acked != 12 || st.Head != 12 {
		t.Fatalf("status %+v", st)
	}

	// The log cut below the acknowledged row: the shipper tells the office.
	s2 := NewShipper(ShipperConfig{Client: off, Source: &memLog{rows: log.rows[:7], head: audit.Head{Seq: 7, Hash: log.rows[6].Hash}},
		Key: pub, AckFile: ackFile})
	_, err = s2.Step(ctx)
	if !errors.Is(err, ErrLogBroken) || off.heads != 1 || s2.Status().BrokenSeq != 8 {
		t.Fatalf("cut log: err %v, head batches %d, status %+v", err, off.heads, s2.Status())
	}
}

func TestShipperRefusesAnAcknowledgementOfAnotherKey(t *testing.T) {
	ctx := context.Background()
	pub, _, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	log, off := &memLog{}, &memOffice{key: other}
	log.add(3)
	ackFile := filepath.Join(t.TempDir(), "reg.db.ack")
	s := NewShipper(ShipperConfig{Client: off, Source: log, Key: pub, AckFile: ackFile})
	if _, err := s.Step(ctx); err == nil {
		t.Fatal("an acknowledgement signed by another key was taken")
	}
	if _, ok, _ := anchor.Load(ackFile); ok {
		t.Fatal("an acknowledgement signed by another key was kept")
	}
}

// TestShipperWaitsForWake: once everything is sent, Run makes no request until woken;
// after a failure it tries again by itself.
func TestShipperWaitsForWake(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	log, off := &memLog{}, &memOffice{key: key, down: true}
	log.add(3)
	var mu sync.Mutex
	c := &countingClient{inner: off, mu: &mu}
	s := NewShipper(ShipperConfig{Client: c, Source: log, Key: pub, AckFile: filepath.Join(t.TempDir(), "a.ack"), MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait := func(cond func() bool, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, s.Status())
			}
		}
	}
	wait(func() bool { return s.Status().LastError != "" }, "the failure")
	mu.Lock()
	off.down = false
	mu.Unlock()
	wait(func() bool { return s.Status().Acked == 3 }, "the retry after the outage")
	mu.Lock()
	calls := c.calls
	mu.Unlock()
	time.Sleep(300 * time.Millisecond) // longer than MaxBackoff: an idle shipper must not call
	mu.Lock()
	idle := c.calls - calls
	mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d requests while idle", idle)
	}
	log.add(2)
	s.Wake()
	wait(func() bool { return s.Status().Acked == 5 }, "the rows after Wake")
}

type countingClient struct {
	inner *memOffice
	mu    *sync.Mutex
	calls int
}

func (c *countingClient) LogHead(ctx context.Context) (*anchor.Ack, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.inner.LogHead(ctx)
}

func (c *countingClient) SendLog(ctx context.Context, rows []*audit.Event, head bool) (*anchor.Ack, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.inner.SendLog(ctx, rows, head)
}
