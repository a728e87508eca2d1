package udev

import (
	"context"
	"time"
)

// Fake is an in-memory Source for tests: Push queues events that Receive hands out in
// order. Its queue is unbounded unless Limit is given to NewFake.
type Fake struct{ q *queue }

// NewFake returns an empty Fake. limit bounds the queue (0: unbounded); on overflow
// Receive returns one Rescan event, as the real source does.
func NewFake(limit int) *Fake { return &Fake{q: newQueue(limit)} }

// Push queues events; those without a Received time get the current time.
func (f *Fake) Push(evs ...Event) {
	now := time.Now()
	for i := range evs {
		if evs[i].Received.IsZero() {
			evs[i].Received = now
		}
	}
	f.q.push(evs...)
}

// Receive returns the next event.
func (f *Fake) Receive(ctx context.Context) (Event, error) { return f.q.receive(ctx) }

// Queued is how many events wait to be received (Backlog).
func (f *Fake) Queued() int { return f.q.queued() }

// Close ends the source: queued events are still handed out, then ErrClosed.
func (f *Fake) Close() error {
	f.q.close(nil)
	return nil
}
