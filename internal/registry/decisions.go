package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// DecisionData is everything the daemon's decisions read from the register, read in
// one transaction: the host profile (nil before host init), every medium, every
// person, and Mark, the audit log's head sequence number at that moment. Every change
// of the register commits together with its audit row, so ChangedSince(Mark) tells
// whether this copy is still the register's state.
type DecisionData struct {
	Host   *media.Host
	Media  []media.Medium
	People []media.Person
	Mark   int64
}

// DecisionData reads the decision data in one read transaction.
func (s *Store) DecisionData(ctx context.Context) (DecisionData, error) {
	var out DecisionData
	// One snapshot on both engines (SQLite's read transaction is one already): the
	// media, people and Mark of one moment.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return out, fmt.Errorf("read decision data: begin: %w", err)
	}
	defer tx.Rollback()
	if out.Mark, err = headSeq(ctx, tx); err != nil {
		return out, err
	}
	h, err := hostTx(ctx, tx)
	switch {
	case err == nil:
		out.Host = &h
	case !errors.Is(err, ErrNoHost):
		return out, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+mediumCols+mediumFrom)
	if err != nil {
		return out, fmt.Errorf("read decision data: media: %w", err)
	}
	for rows.Next() {
		m, err := scanMedium(rows)
		if err != nil {
			rows.Close()
			return out, fmt.Errorf("read decision data: media: %w", err)
		}
		out.Media = append(out.Media, m)
	}
	if err := rows.Close(); err != nil {
		return out, fmt.Errorf("read decision data: media: %w", err)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("read decision data: media: %w", err)
	}
	prows, err := tx.QueryContext(ctx, `SELECT `+personCols+` FROM people`)
	if err != nil {
		return out, fmt.Errorf("read decision data: people: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		p, err := scanPerson(prows)
		if err != nil {
			return out, fmt.Errorf("read decision data: people: %w", err)
		}
		out.People = append(out.People, p)
	}
	if err := prows.Err(); err != nil {
		return out, fmt.Errorf("read decision data: people: %w", err)
	}
	return out, nil
}

func headSeq(ctx context.Context, q querier) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM event_head WHERE singleton = 1`).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	return seq, nil
}

// ChangedSince reports whether a row that can change a decision was appended to the
// audit log after sequence number mark, and returns the head's sequence number, the
// mark for the next call. Only the rows the daemon and the mount log write about
// themselves (KindsOutsideRegister) are known not to change the register; any other
// kind, including one this release does not know, counts as a change.
func (s *Store) ChangedSince(ctx context.Context, mark int64) (changed bool, head int64, err error) {
	return changedSince(s.db.QueryRowContext(ctx, changedSinceSQL, mark).Scan, mark)
}

const changedSinceSQL = `SELECT COALESCE((SELECT seq FROM event_head WHERE singleton = 1), 0),
	(SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE seq > ? AND kind NOT IN (` + outsideListSQL + `) LIMIT 1) AS c)`

// changedSince reads the row of changedSinceSQL with scan (a row's Scan).
func changedSince(scan func(dest ...any) error, mark int64) (bool, int64, error) {
	var head, n int64
	if err := scan(&head, &n); err != nil {
		return true, mark, fmt.Errorf("read register changes: %w", err)
	}
	return n > 0 || head < mark, head, nil
}

// ChangeFeed is ChangedSince with its statement prepared once, for a caller that asks
// before every event (the daemon's index). On SQLite it runs with the statements the
// store appends RecordEvents batches with (logWriter), on the daemon's one connection,
// whose page cache the daemon's own commits keep valid.
type ChangeFeed struct {
	st *sql.Stmt
	w  bool // SQLite: on the log's statements of a pooled connection (logWriter)
	db *sql.DB
}

// ChangeFeed prepares the statement of ChangedSince.
func (s *Store) ChangeFeed(ctx context.Context) (*ChangeFeed, error) {
	if s.d.engine == SQLite {
		return &ChangeFeed{w: true, db: s.db}, nil
	}
	st, err := s.db.PrepareContext(ctx, changedSinceSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare register changes: %w", err)
	}
	return &ChangeFeed{st: st}, nil
}

// ChangedSince is Store.ChangedSince.
func (f *ChangeFeed) ChangedSince(ctx context.Context, mark int64) (bool, int64, error) {
	if f.w {
		return logWriter{}.changedSince(ctx, f.db, mark)
	}
	return changedSince(f.st.QueryRowContext(ctx, mark).Scan, mark)
}

// Close releases the statement.
func (f *ChangeFeed) Close() error {
	if f.st == nil {
		return nil
	}
	return f.st.Close()
}

// KindsOutsideRegister are the audit kinds that record what a daemon saw or did, not
// a change of the register: ChangedSince skips them.
var KindsOutsideRegister = []event.Kind{
	event.KindDaemonStart, event.KindDaemonStop, event.KindDaemonLock, event.KindDaemonRescan,
	event.KindDaemonControl, event.KindDeviceDecision, event.KindDeviceTamper,
	event.KindMountAttach, event.KindMountDetach, event.KindMountRemount, event.KindMountSeenAtStart,
	event.KindMountViolation,
}

// outsideListSQL is KindsOutsideRegister as SQL string literals (the kinds are
// constants of package event: lower-case letters, dots and dashes).
const outsideListSQL = `'daemon.start', 'daemon.stop', 'daemon.lock', 'daemon.rescan', 'daemon.control', ` +
	`'device.decision', 'device.tamper', 'mount.attach', 'mount.detach', 'mount.remount', 'mount.seen-at-start', 'mount.violation'`
