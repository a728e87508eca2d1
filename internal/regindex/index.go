// Package regindex keeps the register's decision data in memory for the daemon: the
// host profile, the media by identity key and the people by handle. The store stays
// the source of truth; the index is a copy that a Source fills and that is reloaded
// when the Source reports a change (Fresh) or when the daemon is told the register
// changed (Refresh). Two sources fill it: the local register (Registry) and, on an
// enrolled host, the office's signed host policy.
//
// Lookups never touch the store, so a decision reads nothing from disk. If the
// Source cannot be read, the index is empty until the next successful load: every
// lookup then misses and every device is blocked (fail closed).
package regindex

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"mediagate/internal/media"
)

// Data is one load of the decision data.
type Data struct {
	Host   *media.Host // nil: the host is not initialised
	Media  []media.Medium
	People []media.Person
}

// Source delivers the decision data.
type Source interface {
	// Load reads all of it, as one consistent state.
	Load(ctx context.Context) (Data, error)
	// Changed reports whether the data may differ from what the last Load returned.
	// A Source that cannot tell returns true; an error counts as a change.
	Changed(ctx context.Context) (bool, error)
}

// Index is the in-memory copy. Lookups are safe from any goroutine.
type Index struct {
	src    Source
	reload sync.Mutex // one load at a time
	cur    atomic.Pointer[snapshot]
}

type snapshot struct {
	host   *media.Host
	media  map[string]*media.Medium
	people map[string]*media.Person
	err    error // the last load failed: everything misses
}

// New returns an empty index over src; call Refresh to fill it.
func New(src Source) *Index {
	x := &Index{src: src}
	x.cur.Store(&snapshot{err: fmt.Errorf("decision data not loaded")})
	return x
}

// Refresh reloads everything from the source. On error the index is emptied (fail
// closed) and the error returned.
func (x *Index) Refresh(ctx context.Context) error {
	x.reload.Lock()
	defer x.reload.Unlock()
	return x.load(ctx)
}

func (x *Index) load(ctx context.Context) error {
	d, err := x.src.Load(ctx)
	if err != nil {
		err = fmt.Errorf("load decision data: %w", err)
		x.cur.Store(&snapshot{err: err})
		return err
	}
	x.cur.Store(build(d))
	return nil
}

// Fill replaces the contents with d, for a source that pushes its data (a policy
// that just arrived) instead of being asked.
func (x *Index) Fill(d Data) {
	x.reload.Lock()
	defer x.reload.Unlock()
	x.cur.Store(build(d))
}

func build(d Data) *snapshot {
	s := &snapshot{media: make(map[string]*media.Medium, len(d.Media)), people: make(map[string]*media.Person, len(d.People))}
	if d.Host != nil {
		h := *d.Host
		s.host = &h
	}
	for i := range d.Media {
		m := &d.Media[i]
		if m.Identity.Key != "" {
			s.media[m.Identity.Key] = m
		}
	}
	for i := range d.People {
		p := &d.People[i]
		s.people[p.Handle] = p
	}
	return s
}

// Fresh reloads when the source reports a change since the last load, or when the
// last load failed. It is what the daemon calls before each event.
func (x *Index) Fresh(ctx context.Context) error {
	x.reload.Lock()
	defer x.reload.Unlock()
	if x.cur.Load().err == nil {
		changed, err := x.src.Changed(ctx)
		if err == nil && !changed {
			return nil
		}
	}
	return x.load(ctx)
}

// ownAppender is a Source told of the store's own appends to the log (Registry).
type ownAppender interface{ OwnAppended() }

// OwnAppended tells the source that the daemon has just appended rows of its own to
// the register's log (Registry.OwnAppended); a source that cannot use it ignores it.
func (x *Index) OwnAppended() {
	if o, ok := x.src.(ownAppender); ok {
		o.OwnAppended()
	}
}

// Err is the error of the last load, nil when the index holds data.
func (x *Index) Err() error { return x.cur.Load().err }

// Host returns the host profile; false when the host is not initialised or the data
// could not be loaded.
func (x *Index) Host() (media.Host, bool) {
	s := x.cur.Load()
	if s.host == nil {
		return media.Host{}, false
	}
	return *s.host, true
}

// MediumByIdentity returns the medium registered under key.
func (x *Index) MediumByIdentity(key string) (media.Medium, bool) {
	m, ok := x.cur.Load().media[key]
	if !ok {
		return media.Medium{}, false
	}
	return *m, true
}

// Person returns the person with handle.
func (x *Index) Person(handle string) (media.Person, bool) {
	p, ok := x.cur.Load().people[handle]
	if !ok {
		return media.Person{}, false
	}
	return *p, true
}

// Len is the number of media held.
func (x *Index) Len() int { return len(x.cur.Load().media) }
