package udev

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFakeInOrder(t *testing.T) {
	f := NewFake(0)
	for i := 1; i <= 100; i++ {
		f.Push(Event{Seq: uint64(i), Action: ActionAdd, DevPath: fmt.Sprintf("/devices/x/%d", i)})
	}
	ctx := context.Background()
	for i := 1; i <= 100; i++ {
		e, err := f.Receive(ctx)
		if err != nil || e.Seq != uint64(i) {
			t.Fatalf("event %d: got seq %d, %v", i, e.Seq, err)
		}
	}
	f.Close()
	if _, err := f.Receive(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestReceiveWaitsAndCancels(t *testing.T) {
	f := NewFake(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty receive: %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); f.Push(Event{Seq: 7}) }()
	e, err := f.Receive(context.Background())
	if err != nil || e.Seq != 7 {
		t.Fatalf("got %v, %v", e, err)
	}
}

func TestEnumerationGoesFirst(t *testing.T) {
	q := newQueue(0)
	// events that arrive while the enumeration runs
	q.push(Event{Seq: 10, Action: ActionRemove}, Event{Seq: 11, Action: ActionAdd})
	q.pushFront([]Event{{Action: ActionAdd, Enumerated: true, DevPath: "/devices/a"}, {Action: ActionAdd, Enumerated: true, DevPath: "/devices/b"}})
	q.push(Event{Seq: 12})
	var got []string
	for range 5 {
		e, _ := q.receive(context.Background())
		got = append(got, fmt.Sprintf("%s%d%v", e.Action, e.Seq, e.Enumerated))
	}
	want := "[add0true add0true remove10false add11false 12false]"
	if fmt.Sprint(got) != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

func TestOverflowGivesOneRescan(t *testing.T) {
	f := NewFake(10)
	for i := range 25 {
		f.Push(Event{Seq: uint64(i + 1)})
	}
	e, _ := f.Receive(context.Background())
	if e.Action != ActionRescan {
		t.Fatalf("first after overflow: %+v", e)
	}
	f.Push(Event{Seq: 99})
	if e, _ := f.Receive(context.Background()); e.Seq != 99 {
		t.Fatalf("after rescan: %+v", e)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/devices/pci0000:00/usb2/2-1": "/devices/pci0000:00/usb2/2-1",
		"/devices/../etc":              "",
		"/sys/devices/x":               "",
		"/devices/x/..":                "",
		"/devices/a\x00b":              "",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q", in, got)
		}
	}
}

// Queued counts what waits, a pending rescan as one event (the daemon commits a
// burst's rows once nothing waits).
func TestQueuedCountsTheBacklog(t *testing.T) {
	f := NewFake(3)
	var b Backlog = f
	if n := b.Queued(); n != 0 {
		t.Fatalf("empty: %d", n)
	}
	f.Push(Event{Action: ActionAdd, DevPath: "/devices/a"}, Event{Action: ActionAdd, DevPath: "/devices/b"})
	if n := f.Queued(); n != 2 {
		t.Fatalf("two pushed: %d", n)
	}
	if _, err := f.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.Queued(); n != 1 {
		t.Fatalf("one received: %d", n)
	}
	f.Push(Event{}, Event{}, Event{}) // overflows: the queue is dropped, a rescan is due
	if n := f.Queued(); n != 1 {
		t.Fatalf("after an overflow: %d, want the one rescan", n)
	}
}
