package mountwatch

import (
	"context"
	"errors"
	"sync"
)

// Source delivers mount events one at a time. The daemon owns its copy of
// this interface; the watchers here and Fake satisfy it.
type Source interface {
	// Next blocks until an event is available, ctx is done, or the source
	// is closed (ErrClosed).
	Next(ctx context.Context) (Event, error)
	Close() error
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("mount watcher closed")

// Fake is an in-memory Source for tests: Push queues events, Next returns
// them in order.
type Fake struct {
	mu     sync.Mutex
	queue  []Event
	ready  chan struct{} // closed and replaced when the queue gains an event
	closed bool
}

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{ready: make(chan struct{})} }

// Push queues events for Next.
func (f *Fake) Push(events ...Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, events...)
	close(f.ready)
	f.ready = make(chan struct{})
}

// Next implements Source.
func (f *Fake) Next(ctx context.Context) (Event, error) {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return Event{}, ErrClosed
		}
		if len(f.queue) > 0 {
			e := f.queue[0]
			f.queue = f.queue[1:]
			f.mu.Unlock()
			return e, nil
		}
		ready := f.ready
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-ready:
		}
	}
}

// Close implements Source.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.ready)
	}
	return nil
}
