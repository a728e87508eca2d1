package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/identity"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
)

// Local is the register — an SQLite file, or a PostgreSQL database — with the
// service on it.
type Local struct {
	*Service
	store   *registry.Store
	discKey func() ([]byte, error)
}

// LocalOptions configures OpenLocal.
type LocalOptions struct {
	Now   func() time.Time // default time.Now
	Actor audit.Actor      // who makes the changes, unless a context names one (audit.WithActor)
	// Service configures the service (its Now defaults to the Now above).
	Service Config
	// PageCacheKiB, when positive, bounds the SQLite register's page cache per
	// connection (registry.WithPageCache; the daemon's).
	PageCacheKiB int
	// Connections, when positive, bounds the connections to an SQLite register
	// (registry.WithConnections; the daemon's).
	Connections int
	// Create makes a new, empty register when path does not exist. Without it a
	// missing file is an error (ErrNoRegister): a mistyped path must not yield an
	// empty register whose audit log verifies as intact.
	Create bool
	// Appended, when set, is called after every change to the register commits (see
	// registry.WithAppended); it must not block.
	Appended func()
}

// ErrNoRegister: the register file does not exist (and LocalOptions.Create was not
// set), most likely a mistyped path. It is the Kind of an *Error with code
// "err.no-register" and is itself an ErrBadRequest (a front-end's usage error).
var ErrNoRegister = fmt.Errorf("%w: no register", ErrBadRequest)

// SQLiteFile returns the file of an SQLite register named by db (the --db value: a
// path or sqlite:PATH); ok is false for a postgres://… URL.
func SQLiteFile(db string) (path string, ok bool) { return registry.SQLiteFile(db) }

// OpenLocal opens the registry db names and returns the service on it: a file path
// (or sqlite:PATH) is an SQLite file, created only with o.Create; a postgres://… URL
// is a PostgreSQL database, whose tables are created if needed. Close it when done.
func OpenLocal(ctx context.Context, db string, o LocalOptions) (*Local, error) {
	if path, isFile := SQLiteFile(db); isFile && !o.Create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Kind: ErrNoRegister, Code: "err.no-register", Args: []any{db}}
		} else if err != nil {
			return nil, fmt.Errorf("open registry %s: %w", db, err)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	opts := []registry.Option{registry.WithClock(o.Now), registry.WithActor(o.Actor), registry.WithAppended(o.Appended)}
	if o.PageCacheKiB > 0 {
		opts = append(opts, registry.WithPageCache(o.PageCacheKiB))
	}
	if o.Connections > 0 {
		opts = append(opts, registry.WithConnections(o.Connections))
	}
	st, err := registry.Open(ctx, db, opts...)
	if err != nil {
		return nil, err
	}
	cfg := o.Service
	if cfg.Now == nil {
		cfg.Now = o.Now
	}
	l := &Local{Service: New(st, cfg), store: st}
	l.discKey = discKeySource(st)
	return l, nil
}

// discKeySource is where the register keeps its disc sample key: the file
// <db>.disc-key beside an SQLite register (identity.DiscKeyFile), the disc_key table
// of a PostgreSQL one. Either is created on first use and kept once loaded.
func discKeySource(st *registry.Store) func() ([]byte, error) {
	if st.Engine() == registry.SQLite {
		return identity.DiscKeyFile(identity.DiscKeyPath(st.Path()))
	}
	var mu sync.Mutex
	var key []byte
	return func() ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if key != nil {
			return key, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		k, err := st.DiscKey(ctx, identity.DiscKeySize)
		if err != nil {
			return nil, err
		}
		key = k
		return key, nil
	}
}

// DiscKey is the register's disc sample key source, for identity.Roots.
func (l *Local) DiscKey() ([]byte, error) { return l.discKey() }

// LogHead is the audit log's recorded head (what an enrolled host ships from).
func (l *Local) LogHead(ctx context.Context) (audit.Head, error) { return l.store.LogHead(ctx) }

// LogRows returns the audit rows from seq from on, oldest first, at most limit.
func (l *Local) LogRows(ctx context.Context, from int64, limit int) ([]*audit.Event, error) {
	return l.store.LogRows(ctx, from, limit)
}

// Close closes the registry.
func (l *Local) Close() error { return l.store.Close() }

// Path is the registry file, or the PostgreSQL URL with its password hidden.
func (l *Local) Path() string { return l.store.Path() }

// DecisionIndex is the daemon's in-memory copy of the register's decision data,
// filled from this registry and brought up to date from its audit log (see
// internal/regindex).
func (l *Local) DecisionIndex() *regindex.Index {
	return regindex.New(&regindex.Registry{Store: l.store})
}
