package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// The audit log's three statements — read the head, insert a row, move the head — run
// for every row any writer appends. They are prepared once per store and then once per
// connection that runs them (database/sql keeps a statement prepared on each
// connection it was used on, and tx.StmtContext reuses it), instead of being parsed
// again for every row: on the daemon's emulated CPU the parsing was a quarter of a
// row's commit (docs/performance.md).
const (
	headSQL   = `SELECT seq, hash FROM event_head WHERE singleton = 1`
	insertSQL = `INSERT INTO events (seq, id, time, host_id, kind, medium, actor_uid, actor_user, actor_sudo, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	setHeadSQL = `INSERT INTO event_head (singleton, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`
)

// logStmts are the prepared statements of the audit log. A failed preparation is not
// kept: the next append tries again.
type logStmts struct {
	mu                    sync.Mutex
	head, insert, setHead *sql.Stmt
}

// get returns the prepared statements, preparing them on first use.
func (p *logStmts) get(ctx context.Context, db *sql.DB) (head, insert, setHead *sql.Stmt, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head != nil {
		return p.head, p.insert, p.setHead, nil
	}
	var sts [3]*sql.Stmt
	for i, q := range []string{headSQL, insertSQL, setHeadSQL} {
		if sts[i], err = db.PrepareContext(ctx, q); err != nil {
			for _, st := range sts[:i] {
				st.Close()
			}
			return nil, nil, nil, fmt.Errorf("prepare audit log statements: %w", err)
		}
	}
	p.head, p.insert, p.setHead = sts[0], sts[1], sts[2]
	return p.head, p.insert, p.setHead, nil
}

// close releases the statements.
func (p *logStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range []*sql.Stmt{p.head, p.insert, p.setHead} {
		if st != nil {
			st.Close()
		}
	}
	p.head, p.insert, p.setHead = nil, nil, nil
}

// logAppender appends rows to the audit log inside one writing transaction: it reads
// the head once, under the writer lock, seals each row to the one before it, and moves
// the head once, after the last row (finish).
type logAppender struct {
	s               *Store
	tx              *sql.Tx
	insert, setHead *sql.Stmt
	head            audit.Head
	n               int // rows added
}

// appender takes the writer lock in tx (again, should tx not come from inTx: two
// writers that read the same head would fork the chain) and reads the log's head.
func (s *Store) appender(ctx context.Context, tx *sql.Tx) (*logAppender, error) {
	if err := s.lockWriters(ctx, tx); err != nil {
		return nil, fmt.Errorf("lock audit head: %w", err)
	}
	head, insert, setHead, err := s.logStmts.get(ctx, s.db)
	if err != nil {
		return nil, err
	}
	a := &logAppender{s: s, tx: tx, insert: tx.StmtContext(ctx, insert), setHead: tx.StmtContext(ctx, setHead)}
	err = tx.StmtContext(ctx, head).QueryRowContext(ctx).Scan(&a.head.Seq, &a.head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	return a, nil
}

// add appends one row whose details are already checked and encoded (rowDetails).
func (a *logAppender) add(ctx context.Context, kind event.Kind, medium string, details json.RawMessage) (*audit.Event, error) {
	s := a.s
	e := &audit.Event{ID: NewID(), Time: s.now(), HostID: s.hostID, Kind: kind, Medium: medium, Actor: s.actorOf(ctx), Details: details}
	audit.Seal(e, a.head.Seq, a.head.Hash)
	_, err := a.insert.ExecContext(ctx, e.Seq, e.ID, e.Time.Format(timeLayout), e.HostID, string(e.Kind), e.Medium,
		e.Actor.UID, e.Actor.User, e.Actor.Login, string(e.Details), e.PrevHash, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("append audit row: %w", err)
	}
	a.head = audit.Head{Seq: e.Seq, Hash: e.Hash}
	a.n++
	return e, nil
}

// finish moves the log's head to the last row added.
func (a *logAppender) finish(ctx context.Context) error {
	if a.n == 0 {
		return nil
	}
	if _, err := a.setHead.ExecContext(ctx, a.head.Seq, a.head.Hash); err != nil {
		return fmt.Errorf("update audit head: %w", err)
	}
	return nil
}

// rowDetails checks that details are the details type of kind (package event) and
// encodes them; anything else is refused before anything is written.
func rowDetails(kind event.Kind, details any) (json.RawMessage, error) {
	if err := event.Check(kind, details); err != nil {
		return nil, fmt.Errorf("append audit row: %w", err)
	}
	return audit.Details(details)
}
