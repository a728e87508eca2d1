package service

import (
	"context"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
)

// Local is the register in a local SQLite file with the service on it.
type Local struct {
	*Service
	store *registry.Store
}

// LocalOptions configures OpenLocal.
type LocalOptions struct {
	Now   func() time.Time // default time.Now
	Actor audit.Actor      // who makes the changes, unless a context names one (audit.WithActor)
	// Service configures the service (its Now defaults to the Now above).
	Service Config
}

// OpenLocal opens (creating if needed) the SQLite registry at path and returns the
// service on it. Close it when done.
func OpenLocal(ctx context.Context, path string, o LocalOptions) (*Local, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := registry.Open(ctx, path, registry.WithClock(o.Now), registry.WithActor(o.Actor))
	if err != nil {
		return nil, err
	}
	cfg := o.Service
	if cfg.Now == nil {
		cfg.Now = o.Now
	}
	return &Local{Service: New(st, cfg), store: st}, nil
}

// Close closes the registry.
func (l *Local) Close() error { return l.store.Close() }

// Path is the registry file.
func (l *Local) Path() string { return l.store.Path() }

// DecisionIndex is the daemon's in-memory copy of the register's decision data,
// filled from this registry and brought up to date from its audit log (see
// internal/regindex).
func (l *Local) DecisionIndex() *regindex.Index {
	return regindex.New(&regindex.Registry{Store: l.store})
}
