package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"mediagate/internal/audit"
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
	// Create makes a new, empty register when path does not exist. Without it a
	// missing file is an error (ErrNoRegister): a mistyped path must not yield an
	// empty register whose audit log verifies as intact.
	Create bool
}

// ErrNoRegister: the register file does not exist (and LocalOptions.Create was not
// set), most likely a mistyped path. It is the Kind of an *Error with code
// "err.no-register" and is itself an ErrBadRequest (a front-end's usage error).
var ErrNoRegister = fmt.Errorf("%w: no register", ErrBadRequest)

// OpenLocal opens the SQLite registry at path (creating it only with o.Create) and
// returns the service on it. Close it when done.
func OpenLocal(ctx context.Context, path string, o LocalOptions) (*Local, error) {
	if !o.Create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Kind: ErrNoRegister, Code: "err.no-register", Args: []any{path}}
		} else if err != nil {
			return nil, fmt.Errorf("open registry %s: %w", path, err)
		}
	}
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
