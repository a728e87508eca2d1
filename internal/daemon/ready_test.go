package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/udev"
)

// runBed starts b.d.Run on src in the background and stops it at the end of the test.
func runBed(t *testing.T, b *bed, src udev.Source) {
	t.Helper()
	b.d.cfg.Source = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// READY goes to systemd only after every device present at start is decided: the
// enumeration's events come first, then the source's settled marker, then what
// arrived meanwhile.
func TestReadyAfterStartupBacklog(t *testing.T) {
	b := newBed(t, secretHost())
	b.register("RDY1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	u, blk := stick("RDY1", 64<<20)
	b.devs.set(u)
	b.devs.set(blk)
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))

	type at struct {
		decisions int
		netDone   bool
	}
	var mu sync.Mutex
	var calls []at
	b.d.cfg.Ready = func() {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, at{len(b.store.decisions()), b.d.standing(netP) != nil})
	}
	src := udev.NewFake(0)
	src.Push(
		udev.Event{Action: udev.ActionAdd, DevPath: stickP, Subsystem: "usb", DevType: "usb_device", Enumerated: true},
		udev.Event{Action: udev.ActionAdd, DevPath: kbdP, Subsystem: "usb", DevType: "usb_device", Enumerated: true},
		udev.Event{Action: udev.ActionAdd, DevPath: diskP, Subsystem: "block", DevType: "disk", Enumerated: true},
		udev.Event{Action: udev.ActionSettled},
		udev.Event{Action: udev.ActionAdd, DevPath: netP, Subsystem: "usb", DevType: "usb_device"},
	)
	runBed(t, b, src)
	waitUntil(t, "the event after the backlog", func() bool { return b.d.standing(netP) != nil })
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("ready reported %d times, want once", len(calls))
	}
	if calls[0].decisions != 3 || calls[0].netDone {
		t.Errorf("at READY: %d decisions (want the backlog's 3), event after the backlog decided: %v", calls[0].decisions, calls[0].netDone)
	}
	if st := b.d.Status(); st.State != "running" {
		t.Errorf("state %s", st.State)
	}
}

// When the queue overflowed during start, the rescan that replaces the lost events
// decides everything present: READY follows it.
func TestReadyAfterStartupRescan(t *testing.T) {
	b := newBed(t, secretHost())
	var ready atomic.Int32
	var rowsAtReady atomic.Int32
	b.d.cfg.Ready = func() {
		ready.Add(1)
		rowsAtReady.Store(int32(len(b.store.rescans())))
	}
	src := udev.NewFake(2)
	for range 5 { // overflows: the queued events are dropped, a rescan is due
		src.Push(udev.Event{Action: udev.ActionAdd, DevPath: stickP, Subsystem: "usb", DevType: "usb_device", Enumerated: true})
	}
	runBed(t, b, src)
	waitUntil(t, "READY", func() bool { return ready.Load() > 0 })
	if rowsAtReady.Load() != 1 {
		t.Errorf("READY before the rescan was done (%d rescan rows)", rowsAtReady.Load())
	}
	src.Push(udev.Event{Action: udev.ActionSettled})
	src.Push(udev.Event{Action: udev.ActionRescan})
	waitUntil(t, "the second rescan", func() bool { return len(b.store.rescans()) == 2 })
	if n := ready.Load(); n != 1 {
		t.Errorf("ready reported %d times", n)
	}
}

// The event loop itself pings the watchdog: while idle at the configured interval, and
// never while it is stuck in an event.
func TestWatchdogPingsFromTheLoop(t *testing.T) {
	b := newBed(t, secretHost())
	var pings atomic.Int64
	b.d.cfg.Watchdog = 5 * time.Millisecond
	b.d.cfg.Ping = func() { pings.Add(1) }
	entered, release := make(chan struct{}), make(chan struct{})
	read := b.d.cfg.Read
	b.d.cfg.Read = func(p string) (identity.Device, error) {
		if p == netP {
			close(entered)
			<-release
		}
		return read(p)
	}
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	src := udev.NewFake(0)
	runBed(t, b, src)
	waitUntil(t, "pings while idle", func() bool { return pings.Load() >= 3 })

	src.Push(udev.Event{Action: udev.ActionAdd, DevPath: netP, Subsystem: "usb", DevType: "usb_device"})
	<-entered
	stuck := pings.Load()
	time.Sleep(60 * time.Millisecond) // a dozen intervals
	if n := pings.Load(); n != stuck {
		t.Errorf("%d pings while the loop was stuck in an event", n-stuck)
	}
	close(release)
	waitUntil(t, "pings after the event", func() bool { return pings.Load() >= stuck+2 })
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"30000000", "", 15 * time.Second},
		{"30000000", "4242", 15 * time.Second},
		{"30000000", "1", 0}, // meant for another process
		{"", "", 0},
		{"0", "", 0},
		{"-5", "", 0},
		{"abc", "", 0},
		{"1", "", time.Millisecond}, // never a busy loop
	} {
		env := map[string]string{"WATCHDOG_USEC": tc.usec, "WATCHDOG_PID": tc.pid}
		got := WatchdogInterval(func(k string) string { return env[k] }, 4242)
		if got != tc.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, want %v", tc.usec, tc.pid, got, tc.want)
		}
	}
}
