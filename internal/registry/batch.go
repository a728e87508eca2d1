package registry

import (
	"context"
	"database/sql"
	"encoding/json"

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
	// Checked and encoded before the writer lock is taken; the head is read once, under
	// it, and moved once, after the last row.
	details := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		d, err := rowDetails(r.Kind, r.Details)
		if err != nil {
			return err
		}
		details[i] = d
	}
	if s.d.engine == SQLite {
		return s.writer.appendRows(ctx, s, rows, details)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.appender(ctx, tx)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if _, err := a.add(ctx, r.Kind, r.Medium, details[i]); err != nil {
				return err
			}
		}
		return a.finish(ctx)
	})
}

// WithPageCache bounds SQLite's page cache to kib KiB per connection (SQLite's default
// is 2,000 KiB): the resident daemon reads the register once into memory and then
// mostly appends, so a small cache keeps it small as the log grows
// (docs/performance.md, "Memory"). No effect on PostgreSQL.
func WithPageCache(kib int) Option { return func(s *Store) { s.cacheKiB = kib } }
