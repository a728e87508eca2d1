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
	// quiet is the state of the register's write-ahead log (SQLite) taken just before
	// the last check that found nothing new: while the file is as it was, nobody has
	// committed since, and Changed answers without a query.
	quiet fileState
}

// walFiler is a store with a write-ahead log file every commit writes
// (*registry.Store on SQLite).
type walFiler interface {
	WALFile() string
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

// Changed reports register rows after the last load; rows that change nothing move
// the mark on, so the next call reads only what is new.
func (r *Registry) Changed(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var wal string
	if w, ok := r.Store.(walFiler); ok {
		wal = w.WALFile()
	}
	// Taken before the query: a commit after it changes the file, so the next call
	// queries again.
	before := stateOf(wal)
	if before.known() && before == r.quiet {
		return false, nil
	}
	r.quiet = fileState{}
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

// fileState is what a file's status says of its content: a commit appends to the log
// or, after a checkpoint, writes it again from the start, and either changes the
// modification and change times (and mostly the size).
type fileState struct {
	ino, size        uint64
	mtimeNs, ctimeNs int64
}

func (f fileState) known() bool { return f != fileState{} }
