package registry

import (
	"context"
	"database/sql"

	"mediagate/internal/event"
)

// EventRow is one audit row to append with RecordEvents.
type EventRow struct {
	Kind    event.Kind
	Medium  string
	Details any // the details type of Kind (package event)
}

// RecordEvents appends rows to the audit log in order, in one transaction: all of them
// or, on any error, none. One commit for many rows is what lets the daemon keep up
// with a burst of device events (docs/performance.md).
func (s *Store) RecordEvents(ctx context.Context, rows []EventRow) error {
	if len(rows) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			if _, err := s.appendEvent(ctx, tx, r.Kind, r.Medium, r.Details); err != nil {
				return err
			}
		}
		return nil
	})
}

// WALFile is the write-ahead log of an SQLite register: every commit, by any process,
// writes it. "" for PostgreSQL.
func (s *Store) WALFile() string {
	if s.d.engine != SQLite {
		return ""
	}
	return s.path + "-wal"
}

// WithPageCache bounds SQLite's page cache to kib KiB per connection (SQLite's default
// is 2,000 KiB): the resident daemon reads the register once into memory and then
// mostly appends, so a small cache keeps it small as the log grows
// (docs/performance.md, "Memory"). No effect on PostgreSQL.
func WithPageCache(kib int) Option { return func(s *Store) { s.cacheKiB = kib } }
