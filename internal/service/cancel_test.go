package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/service"
)

// cancelAfter is a context that is cancelled at its n-th look: the database layer and
// the driver look at Done and Err at every step, so n walks the cancellation through
// an operation from its first statement to its commit.
type cancelAfter struct {
	context.Context
	mu   sync.Mutex
	left int
	done chan struct{}
}

func newCancelAfter(n int) *cancelAfter {
	return &cancelAfter{Context: context.Background(), left: n, done: make(chan struct{})}
}

func (c *cancelAfter) look() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == 0 {
		close(c.done)
	}
	c.left--
}

func (c *cancelAfter) Done() <-chan struct{} { c.look(); return c.done }

func (c *cancelAfter) Err() error {
	c.look()
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// TestCancelMidOperation interrupts a registration and a handover at every point until
// they get through: each attempt either committed the change with its audit row or left
// the register and the log exactly as they were, and the log always verifies.
func TestCancelMidOperation(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0)
	ops := []struct {
		name string
		run  func(ctx context.Context) error
		done func() bool // whether the change is in the register
	}{
		{"register", func(ctx context.Context) error {
			_, err := b.svc.Register(ctx, service.RegisterRequest{Identity: stick("4C530001231120109199", 0), Level: media.Secret,
				Custodian: "zhang", Number: "S-CANCEL-1"})
			return err
		}, func() bool { _, err := b.svc.Medium(b.ctx, "S-CANCEL-1"); return err == nil }},
		{"handover", func(ctx context.Context) error {
			_, err := b.svc.Handover(ctx, service.HandoverRequest{Number: m.Number, To: "li", Witness: "wang"})
			return err
		}, func() bool { got, _ := b.svc.Medium(b.ctx, m.Number); return got.Custodian == "li" }},
	}
	for _, op := range ops {
		interrupted := 0
		for n := 0; ; n++ {
			if n > 5000 {
				t.Fatalf("%s never got through", op.name)
			}
			rows0, err := b.svc.VerifyLog(b.ctx)
			if err != nil {
				t.Fatal(err)
			}
			changes0 := b.rec.count()
			err = op.run(newCancelAfter(n))
			rows, verr := b.svc.VerifyLog(b.ctx)
			if verr != nil {
				t.Fatalf("%s cancelled at look %d: log broken: %v", op.name, n, verr)
			}
			if err == nil {
				if !op.done() || rows != rows0+1 || b.rec.count() != changes0+1 {
					t.Fatalf("%s succeeded at look %d, yet change %v, rows %d → %d", op.name, n, op.done(), rows0, rows)
				}
				break
			}
			if !errors.Is(err, context.Canceled) {
				// the driver may report the interruption in its own words; the state is what counts
				t.Logf("%s at look %d: %v", op.name, n, err)
			}
			interrupted++
			if op.done() || rows != rows0 || b.rec.count() != changes0 {
				t.Fatalf("%s cancelled at look %d (%v) left a half change: done %v, rows %d → %d", op.name, n, err, op.done(), rows0, rows)
			}
			time.Sleep(time.Millisecond) // let the driver finish rolling back
		}
		if interrupted < 3 {
			t.Errorf("%s was interrupted only %d times; the test did not reach inside it", op.name, interrupted)
		}
		t.Logf("%s: interrupted at %d points before it got through", op.name, interrupted)
	}
}
