package daemon

import (
	"context"
	"fmt"
	"sync/atomic"

	"mediagate/internal/media"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
)

// registerReads are the register reads of a decision: the store's, or the in-memory
// index's (Config.Index).
type registerReads interface {
	Host(ctx context.Context) (media.Host, error)
	MediumByIdentity(ctx context.Context, key string) (media.Medium, error)
	Person(ctx context.Context, handle string) (media.Person, error)
}

// indexReads answers from the index with the store's errors: registry.ErrNoHost and
// registry.ErrNotFound for what is not there, the load error when the index holds
// nothing (every device is then blocked). With due set, the first read after
// Handle armed it brings the index up to date first: only an event that reads the
// register pays for the check.
type indexReads struct {
	x   *regindex.Index
	due *atomic.Bool
	d   *Daemon
}

func (r indexReads) fresh(ctx context.Context) {
	if r.due != nil && r.due.CompareAndSwap(true, false) {
		r.d.freshIndex(ctx)
	}
}

func (r indexReads) Host(ctx context.Context) (media.Host, error) {
	r.fresh(ctx)
	if h, ok := r.x.Host(); ok {
		return h, nil
	}
	if err := r.x.Err(); err != nil {
		return media.Host{}, err
	}
	return media.Host{}, fmt.Errorf("%w (in-memory register)", registry.ErrNoHost)
}

func (r indexReads) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	r.fresh(ctx)
	if m, ok := r.x.MediumByIdentity(key); ok {
		return m, nil
	}
	if err := r.x.Err(); err != nil {
		return media.Medium{}, err
	}
	return media.Medium{}, fmt.Errorf("%w: identity %s (in-memory register)", registry.ErrNotFound, key)
}

func (r indexReads) Person(ctx context.Context, handle string) (media.Person, error) {
	r.fresh(ctx)
	if p, ok := r.x.Person(handle); ok {
		return p, nil
	}
	if err := r.x.Err(); err != nil {
		return media.Person{}, err
	}
	return media.Person{}, fmt.Errorf("%w: person %s (in-memory register)", registry.ErrNotFound, handle)
}

// freshIndex brings the index up to date before an event: it reloads only when the
// register changed since the last load. A failure leaves the index empty, so the
// event is decided as if nothing were registered (blocked) and the problem is shown.
func (d *Daemon) freshIndex(ctx context.Context) {
	if d.cfg.Index == nil {
		return
	}
	if err := d.cfg.Index.Fresh(ctx); err != nil {
		d.problem("register: %v", err)
		return
	}
	d.indexLoaded()
}

func (d *Daemon) indexLoaded() {
	if d.cfg.IndexLoaded != nil {
		d.cfg.IndexLoaded(d.cfg.Index.Len())
	}
}

// refreshIndex reloads the index (told that the register changed, or a rescan).
func (d *Daemon) refreshIndex(ctx context.Context) {
	if d.cfg.Index == nil {
		return
	}
	if err := d.cfg.Index.Refresh(ctx); err != nil {
		d.problem("register: %v", err)
		return
	}
	d.indexLoaded()
}

// viewReads are the register reads of the control socket's answers, outside the
// event loop: the index as it is (or the store), never a reload.
func (d *Daemon) viewReads() registerReads {
	if d.cfg.Index != nil {
		return indexReads{x: d.cfg.Index}
	}
	return d.cfg.Store
}
