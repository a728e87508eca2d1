package regindex

import (
	"context"
	"sync"

	"mediagate/internal/registry"
)

// RegistryStore is what Registry reads from the local register (*registry.Store).
type RegistryStore interface {
	DecisionData(ctx context.Context) (registry.DecisionData, error)
	ChangedSince(ctx context.Context, mark int64) (bool, int64, error)
}

// Registry is the local register as a Source. Every change of the register commits
// with its audit row, so the audit log is the change feed: Changed asks the store for
// register rows after the log head seen at the last load (one indexed query). Rows
// the daemon writes about itself (decisions, mounts) do not count.
type Registry struct {
	Store RegistryStore

	mu   sync.Mutex
	mark int64
	feed *registry.ChangeFeed // the prepared check, when the store offers one
	// quiet is the register's commit state (SQLite) taken just before the last check
	// that found nothing new: while it is the same, nobody has committed since, and
	// Changed answers without a query.
	quiet registry.LogState
}

// logStater is a store that tells its commit state without a query, and its own last
// batch of audit rows (*registry.Store on SQLite).
type logStater interface {
	LogState() (registry.LogState, bool)
	LastAppend() (registry.OwnAppend, bool)
}

// feeder is a store that prepares the check once (*registry.Store).
type feeder interface {
	ChangeFeed(ctx context.Context) (*registry.ChangeFeed, error)
}

// Load reads the decision data in one transaction and remembers the log head.
func (r *Registry) Load(ctx context.Context) (Data, error) {
	d, err := r.Store.DecisionData(ctx)
	if err != nil {
		return Data{}, err
	}
	r.mu.Lock()
	r.mark = d.Mark
	r.mu.Unlock()
	return Data{Host: d.Host, Media: d.Media, People: d.People}, nil
}

// OwnAppended counts the store's last batch of audit rows as checked when its rows are
// all outside the register and its commit was the only one since the last check:
// the state read right after it is one commit past the last check's. The daemon calls
// it after each of its commits, so that its own rows cost neither a query nor a read.
func (r *Registry) OwnAppended() {
	if ls, ok := r.Store.(logStater); ok {
		r.mu.Lock()
		r.ownAppended(ls)
		r.mu.Unlock()
	}
}

func (r *Registry) ownAppended(ls logStater) {
	if a, ok := ls.LastAppend(); ok && a.Outside && a.After.OneCommitAfter(r.quiet) {
		r.quiet = a.After
		r.mark = max(r.mark, a.Head)
	}
}

// Changed reports register rows after the last load; rows that change nothing move
// the mark on, so the next call reads only what is new.
//
// Without a query while the commit state is the one of the last check that found
// nothing, counting as checked the store's own batch of rows outside the register (the
// daemon's decisions, its control calls' rows) when it was the only commit since
// (OwnAppended).
func (r *Registry) Changed(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Taken before the query: a commit after it changes the state, so the next call
	// queries again.
	var before registry.LogState
	if ls, ok := r.Store.(logStater); ok {
		r.ownAppended(ls)
		before, _ = ls.LogState()
		if before.Known() && before == r.quiet {
			return false, nil
		}
	}
	r.quiet = registry.LogState{}
	if f, ok := r.Store.(feeder); ok && r.feed == nil {
		if feed, err := f.ChangeFeed(ctx); err == nil {
			r.feed = feed
		}
	}
	var changed bool
	var head int64
	var err error
	if r.feed != nil {
		changed, head, err = r.feed.ChangedSince(ctx, r.mark)
	} else {
		changed, head, err = r.Store.ChangedSince(ctx, r.mark)
	}
	if err != nil {
		return true, err
	}
	if !changed {
		r.mark = head
		r.quiet = before
	}
	return changed, nil
}
