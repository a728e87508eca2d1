package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"mediagate/internal/audit"
)

// EventFilter selects audit rows; zero fields match everything.
type EventFilter struct {
	Medium string    // medium number
	Kind   string    // exact kind, or a prefix ending in "." (e.g. "medium.")
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Limit  int       // 0 for no limit; the newest rows are kept when limited
	// AfterSeq keeps only rows after this sequence number (log --follow).
	AfterSeq int64
}

const eventCols = `seq, id, time, host_id, kind, medium, actor_uid, actor_user, actor_sudo, details, prev_hash, hash`

func scanEvent(row interface{ Scan(...any) error }) (*audit.Event, error) {
	var e audit.Event
	var t, details string
	err := row.Scan(&e.Seq, &e.ID, &t, &e.HostID, &e.Kind, &e.Medium, &e.Actor.UID, &e.Actor.User, &e.Actor.Login,
		&details, &e.PrevHash, &e.Hash)
	if err != nil {
		return nil, err
	}
	e.Time = parseStamp(t)
	if details != "" {
		e.Details = []byte(details)
	}
	return &e, nil
}

// Events returns audit rows in sequence order (the newest f.Limit when limited).
func (s *Store) Events(ctx context.Context, f EventFilter) ([]*audit.Event, error) {
	return s.SearchEvents(ctx, EventQuery{EventFilter: f})
}

// VerifyLog checks the whole audit log against its hash chain and recorded head.
// It returns the number of rows checked and an *audit.BrokenError for the first bad row.
func (s *Store) VerifyLog(ctx context.Context) (int64, error) {
	// One snapshot for the head and the rows: a row appended meanwhile must not
	// look like a log longer than its head.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	defer tx.Rollback()
	var head audit.Head
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM event_head WHERE singleton = 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("verify: read head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+eventCols+` FROM events ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	seq := iter.Seq2[*audit.Event, error](func(yield func(*audit.Event, error) bool) {
		for rows.Next() {
			if !yield(scanEvent(rows)) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, err)
		}
	})
	return audit.Verify(seq, head)
}

// LogHead returns the audit log's recorded head (seq 0 when the log is empty).
func (s *Store) LogHead(ctx context.Context) (audit.Head, error) {
	var head audit.Head
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM event_head WHERE singleton = 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return head, fmt.Errorf("read audit head: %w", err)
	}
	return head, nil
}

// LogRows returns the audit rows from seq from on, oldest first, at most limit.
func (s *Store) LogRows(ctx context.Context, from int64, limit int) ([]*audit.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
