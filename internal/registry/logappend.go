package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
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

// logStmts are the prepared statements of the audit log, prepared when the store
// opens (Store.start).
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

// ready returns the statements if they are prepared.
func (p *logStmts) ready() (head, insert, setHead *sql.Stmt, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.head, p.insert, p.setHead, p.head != nil
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
	insert, setHead execFunc
	head            audit.Head
	n               int // rows added
}

// appender takes the writer lock in tx (again, should tx not come from inTx: two
// writers that read the same head would fork the chain) and reads the log's head.
func (s *Store) appender(ctx context.Context, tx *sql.Tx) (*logAppender, error) {
	if err := s.lockWriters(ctx, tx); err != nil {
		return nil, fmt.Errorf("lock audit head: %w", err)
	}
	// The statements prepared when the store opened are used on tx's connection. If
	// that preparation failed, they are prepared on tx's connection for tx alone:
	// preparing them for the store now would take another connection from a pool that
	// may have none to give while tx holds one (WithConnections).
	head, insert, setHead, ok := s.logStmts.ready()
	if ok {
		head, insert, setHead = tx.StmtContext(ctx, head), tx.StmtContext(ctx, insert), tx.StmtContext(ctx, setHead)
	} else {
		var sts [3]*sql.Stmt
		for i, q := range []string{headSQL, insertSQL, setHeadSQL} {
			var err error
			if sts[i], err = tx.PrepareContext(ctx, q); err != nil {
				return nil, fmt.Errorf("prepare audit log statements: %w", err)
			}
		}
		head, insert, setHead = sts[0], sts[1], sts[2]
	}
	a := &logAppender{s: s, insert: sqlExec(insert), setHead: sqlExec(setHead)}
	err := head.QueryRowContext(ctx).Scan(&a.head.Seq, &a.head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	return a, nil
}

// add appends one row whose details are already checked and encoded (rowDetails).
func (a *logAppender) add(ctx context.Context, kind event.Kind, medium string, details json.RawMessage) (*audit.Event, error) {
	s := a.s
	now := s.now()
	e := &audit.Event{ID: eventIDs.next(now.UnixMilli()), Time: now, HostID: s.hostID, Kind: kind, Medium: medium, Actor: s.actorOf(ctx), Details: details}
	audit.Seal(e, a.head.Seq, a.head.Hash)
	err := a.insert(ctx, e.Seq, e.ID, e.Time.Format(timeLayout), e.HostID, string(e.Kind), e.Medium,
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
	if err := a.setHead(ctx, a.head.Seq, a.head.Hash); err != nil {
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

// logWriter appends batches of rows to an SQLite register's log (RecordEvents, the
// daemon's decisions) on a connection of the pool, with BEGIN IMMEDIATE, COMMIT,
// ROLLBACK and the log's statements prepared on that connection at its first append
// and kept with it (liteConn). A row's commit then parses nothing and starts no
// goroutine (database/sql's transactions start one each, to watch their context); on
// the daemon's emulated CPU that is what stands between a blocked stick's decision
// and its row in the WAL. The transaction is the same as inTx's: immediate (the
// writer lock from its start), the head read under it, the pragmas of the connection
// string. The daemon's one connection (WithConnections) serves these appends, its
// change checks and its reads in turn.
type logWriter struct{}

// onConn runs f with the log's statements of a connection taken from the pool and
// gives the connection back. f reports with bad that the connection must not be used
// again (a transaction may be left open on it): it is then closed, not pooled.
func (logWriter) onConn(ctx context.Context, db *sql.DB, f func(l *logConnStmts) (bad bool, err error)) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var ferr error
	rerr := c.Raw(func(dc any) error {
		lc, ok := dc.(*liteConn)
		if !ok {
			ferr = fmt.Errorf("register connection %T is not an SQLite one", dc)
			return nil
		}
		l, err := lc.logStatements(ctx)
		if err != nil {
			ferr = err
			return nil
		}
		var bad bool
		if bad, ferr = f(l); bad {
			// database/sql closes a connection that reports itself bad instead of
			// pooling it.
			return driver.ErrBadConn
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	return rerr
}

// appendRows appends rows (details checked and encoded) in one transaction. On any
// error nothing is written: the transaction is rolled back, and the connection closed
// when the rollback fails.
func (w logWriter) appendRows(ctx context.Context, s *Store, rows []EventRow, details []json.RawMessage) error {
	var own OwnAppend
	err := w.onConn(ctx, s.db, func(l *logConnStmts) (bool, error) {
		err := exec(ctx, l.begin)
		if err != nil {
			err = fmt.Errorf("begin: %w", err)
		} else {
			if own.Head, err = appendInTx(ctx, s, l, rows, details); err == nil {
				if s.beforeCommit != nil {
					s.beforeCommit()
				}
				if err = exec(ctx, l.commit); err != nil {
					err = fmt.Errorf("commit: %w", err)
				} else {
					if s.afterCommit != nil {
						s.afterCommit()
					}
					own.After, _ = s.LogState()
				}
			}
		}
		if err != nil {
			// Rolled back whatever the context says. A BEGIN or COMMIT that failed may
			// have left a transaction open or not; when ROLLBACK fails (there was none,
			// or the connection is broken) the connection is given up and the next call
			// takes another.
			rerr := exec(context.WithoutCancel(ctx), l.rollback)
			return rerr != nil, err
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	own.Outside = outsideRegister(rows)
	s.own.set(own)
	if s.appended != nil {
		s.appended()
	}
	return nil
}

// changedSince is ChangedSince with the statement prepared on the connection, between
// the log's transactions. Every SQLite connection drops its page cache when another
// one has committed since its last read; on the connection that wrote the daemon's
// last rows the check after that commit (and before the next event) finds the pages
// it reads still cached.
func (w logWriter) changedSince(ctx context.Context, db *sql.DB, mark int64) (changed bool, head int64, err error) {
	changed, head = true, mark
	var read error // the query's, already in changedSince's words
	err = w.onConn(ctx, db, func(l *logConnStmts) (bool, error) {
		scan := func(dest ...any) error { return queryRow(ctx, l.changed, []any{mark}, dest...) }
		changed, head, read = changedSince(scan, mark)
		return errors.Is(read, driver.ErrBadConn), read
	})
	if err != nil && read == nil {
		return true, mark, fmt.Errorf("read register changes: %w", err)
	}
	return changed, head, err
}

// appendInTx reads the head and appends the rows inside the writer's transaction; it
// returns the log's head after them.
func appendInTx(ctx context.Context, s *Store, l *logConnStmts, rows []EventRow, details []json.RawMessage) (int64, error) {
	var head audit.Head
	err := queryRow(ctx, l.head, nil, &head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, errNoRow) {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	a := logAppender{s: s, insert: liteExec(l.insert), setHead: liteExec(l.setHead), head: head}
	for i, r := range rows {
		if _, err := a.add(ctx, r.Kind, r.Medium, details[i]); err != nil {
			return 0, err
		}
	}
	return a.head.Seq, a.finish(ctx)
}

// execFunc runs one prepared statement of the log with args.
type execFunc func(ctx context.Context, args ...any) error

func liteExec(st liteStmt) execFunc {
	return func(ctx context.Context, args ...any) error { return exec(ctx, st, args...) }
}

func sqlExec(st *sql.Stmt) execFunc {
	return func(ctx context.Context, args ...any) error {
		_, err := st.ExecContext(ctx, args...)
		return err
	}
}

// eventIDs hands out the ids of audit rows: version-7 UUIDs (RFC 9562), the row's time
// in milliseconds followed by 74 random bits. They are as unique across hosts as
// NewID's, and a row's id sorts after the ids of earlier rows, so each append touches
// the last page of the id index — which stays in the page cache — instead of a random
// page of it, which a register with a long log and the daemon's small cache (64 KiB)
// must read from disk before the commit. The random bits come from crypto/rand, read
// ahead in blocks: one system call for many rows.
var eventIDs = &idSource{}

type idSource struct {
	mu  sync.Mutex
	buf [640]byte // 64 ids' random bits
	off int       // bytes of buf handed out (0 before the first read)
}

// next returns a version-7 UUID for time ms (milliseconds since the Unix epoch).
func (s *idSource) next(ms int64) string {
	var b [16]byte
	s.mu.Lock()
	if s.off == 0 || s.off+10 > len(s.buf) {
		if _, err := rand.Read(s.buf[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		s.off = 0
	}
	copy(b[6:], s.buf[s.off:s.off+10])
	clear(s.buf[s.off : s.off+10])
	s.off += 10
	s.mu.Unlock()
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var h [32]byte
	hex.Encode(h[:], b[:])
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}
