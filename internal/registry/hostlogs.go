package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// The office's copy of every enrolled host's audit log (tables office_host_events and
// office_chains, migration 0008). The rules of receipt — what continues a chain, what
// breaks it — live in internal/office/ledger; these are its storage operations.

// Sentinels of the office's copy of host logs.
var (
	// ErrHeadMoved: the host's chain head is no longer the one the batch was checked
	// against (another receipt for the same host came first).
	ErrHeadMoved = errors.New("host log head moved")
	// ErrChainBroken: the host's chain is marked broken; nothing more is stored.
	ErrChainBroken = errors.New("host log chain broken")
)

// HostChain is the office's record of one host's audit chain: the acknowledged head
// (Seq, Hash; 0 and "" before the first row), the register id of the host's log (the
// host_id of its head row), and whether the chain broke (BrokenSeq is the first bad
// row, 0 while intact) or an officer froze the host.
type HostChain struct {
	Host         string    `json:"host"` // office_hosts.id
	Seq          int64     `json:"seq"`
	Hash         string    `json:"hash,omitempty"`
	RegisterID   string    `json:"register_id,omitempty"`
	Acked        time.Time `json:"acked,omitzero"`
	BrokenSeq    int64     `json:"broken_seq,omitempty"`
	BrokenReason string    `json:"broken_reason,omitempty"`
	BrokenAt     time.Time `json:"broken_at,omitzero"`
	Frozen       time.Time `json:"frozen,omitzero"`
}

// Broken reports whether the chain is marked broken.
func (c HostChain) Broken() bool { return c.BrokenSeq != 0 }

const hostChainCols = `c.host, c.seq, c.hash, c.acked, c.broken_seq, c.broken_reason, c.broken_at, c.frozen,
	COALESCE((SELECT e.host_id FROM office_host_events e WHERE e.host = c.host AND e.seq = c.seq), '')`

func scanHostChain(row interface{ Scan(...any) error }) (HostChain, error) {
	var c HostChain
	var acked, brokenAt, frozen string
	err := row.Scan(&c.Host, &c.Seq, &c.Hash, &acked, &c.BrokenSeq, &c.BrokenReason, &brokenAt, &frozen, &c.RegisterID)
	c.Acked, c.BrokenAt, c.Frozen = parseStamp(acked), parseStamp(brokenAt), parseStamp(frozen)
	return c, err
}

// HostChain returns the office's record of host's chain; a host that never sent a
// row has the zero record (with Host set).
func (s *Store) HostChain(ctx context.Context, host string) (HostChain, error) {
	c, err := scanHostChain(s.db.QueryRowContext(ctx, `SELECT `+hostChainCols+` FROM office_chains c WHERE c.host = ?`, host))
	if errors.Is(err, sql.ErrNoRows) {
		return HostChain{Host: host}, nil
	}
	if err != nil {
		return HostChain{}, fmt.Errorf("read log chain of host %s: %w", host, err)
	}
	return c, nil
}

// HostChains returns the office's record of every host chain it holds, by host id.
func (s *Store) HostChains(ctx context.Context) ([]HostChain, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+hostChainCols+` FROM office_chains c ORDER BY c.host`)
	if err != nil {
		return nil, fmt.Errorf("list host log chains: %w", err)
	}
	defer rows.Close()
	var out []HostChain
	for rows.Next() {
		c, err := scanHostChain(rows)
		if err != nil {
			return nil, fmt.Errorf("list host log chains: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list host log chains: %w", err)
	}
	return out, nil
}

// HostLogHashes returns the hashes the office holds for host's rows from through to,
// by sequence number (rows it does not hold are absent).
func (s *Store) HostLogHashes(ctx context.Context, host string, from, to int64) (map[int64]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash FROM office_host_events WHERE host = ? AND seq >= ? AND seq <= ?`, host, from, to)
	if err != nil {
		return nil, fmt.Errorf("read log of host %s: %w", host, err)
	}
	defer rows.Close()
	out := make(map[int64]string, max(0, min(to-from+1, 4096)))
	for rows.Next() {
		var seq int64
		var hash string
		if err := rows.Scan(&seq, &hash); err != nil {
			return nil, fmt.Errorf("read log of host %s: %w", host, err)
		}
		out[seq] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log of host %s: %w", host, err)
	}
	return out, nil
}

// HostLogRows returns host's rows from seq from on, in order, at most limit of them.
func (s *Store) HostLogRows(ctx context.Context, host string, from int64, limit int) ([]*audit.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM office_host_events WHERE host = ? AND seq >= ? ORDER BY seq LIMIT ?`, host, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read log of host %s: %w", host, err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("read log of host %s: %w", host, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log of host %s: %w", host, err)
	}
	return out, nil
}

// hostRowsPerInsert bounds the rows of one multi-row INSERT: 14 values a row stay
// under SQLite's and PostgreSQL's limits on bound values.
const hostRowsPerInsert = 500

// HostAppend is one host's rows for AppendHostLogs: rows that continue its chain at
// Base.
type HostAppend struct {
	Host string
	Base audit.Head
	Rows []*audit.Event
}

// AppendHostLog stores rows, which the caller has checked continue host's chain at
// base, and makes the last of them the chain's head, acknowledged at acked — all in
// one transaction. It fails with ErrHeadMoved when the stored head is not base, and
// with ErrChainBroken when the chain is marked broken; then nothing is stored.
func (s *Store) AppendHostLog(ctx context.Context, host string, base audit.Head, rows []*audit.Event, acked time.Time) error {
	return s.AppendHostLogs(ctx, []HostAppend{{Host: host, Base: base, Rows: rows}}, acked)
}

// AppendHostLogs is AppendHostLog for several hosts in one transaction (the office's
// group commit): all are stored, or none.
func (s *Store) AppendHostLogs(ctx context.Context, appends []HostAppend, acked time.Time) error {
	stamp := acked.UTC().Format(timeLayout)
	// No writer lock: appends of different hosts touch different rows and may run
	// side by side; the compare-and-set on the host's chain row orders those of one
	// host (on SQLite the immediate transaction orders every writer anyway).
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store host logs: begin: %w", err)
	}
	defer tx.Rollback()
	for _, a := range appends {
		if err := appendHostLogTx(ctx, tx, a.Host, a.Base, a.Rows, stamp); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store host logs: commit: %w", err)
	}
	return nil
}

func appendHostLogTx(ctx context.Context, tx *sql.Tx, host string, base audit.Head, rows []*audit.Event, stamp string) error {
	if len(rows) == 0 {
		return nil
	}
	last := rows[len(rows)-1]
	if base.Seq == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO office_chains (host) VALUES (?) ON CONFLICT (host) DO NOTHING`, host); err != nil {
			return fmt.Errorf("store log of host %s: %w", host, err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE office_chains SET seq = ?, hash = ?, acked = ?
		WHERE host = ? AND seq = ? AND hash = ? AND broken_seq = 0`, last.Seq, last.Hash, stamp, host, base.Seq, base.Hash)
	if err != nil {
		return fmt.Errorf("store log of host %s: %w", host, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		var broken int64
		err := tx.QueryRowContext(ctx, `SELECT broken_seq FROM office_chains WHERE host = ?`, host).Scan(&broken)
		if err == nil && broken != 0 {
			return fmt.Errorf("store log of host %s: %w at row %d", host, ErrChainBroken, broken)
		}
		return fmt.Errorf("store log of host %s: %w", host, ErrHeadMoved)
	}
	var q strings.Builder
	args := make([]any, 0, 14*min(len(rows), hostRowsPerInsert))
	for start := 0; start < len(rows); start += hostRowsPerInsert {
		chunk := rows[start:min(len(rows), start+hostRowsPerInsert)]
		q.Reset()
		args = args[:0]
		q.WriteString(`INSERT INTO office_host_events (host, seq, id, time, host_id, kind, medium, actor_uid, actor_user, actor_sudo,
			details, prev_hash, hash, received) VALUES `)
		for i, e := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, host, e.Seq, e.ID, e.Time.UTC().Format(timeLayout), e.HostID, string(e.Kind), e.Medium,
				int64(e.Actor.UID), e.Actor.User, e.Actor.Login, string(e.Details), e.PrevHash, e.Hash, stamp)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			if isUnique(err, "seq") || pgUniqueViolation(err, "seq") {
				return fmt.Errorf("store log of host %s: %w", host, ErrHeadMoved)
			}
			return fmt.Errorf("store log of host %s: %w", host, err)
		}
	}
	return nil
}

// TouchHostLog records that host's head was acknowledged again at acked (a batch of
// rows the office already held).
func (s *Store) TouchHostLog(ctx context.Context, host string, acked time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE office_chains SET acked = ? WHERE host = ?`, acked.UTC().Format(timeLayout), host)
	if err != nil {
		return fmt.Errorf("acknowledge log of host %s: %w", host, err)
	}
	return nil
}

// BreakHostChain marks host's chain broken at row seq for reason, with the office's
// audit row (office.host-log-broken) in the same transaction. A chain already broken
// keeps its first break: first is false then, and nothing is written.
func (s *Store) BreakHostChain(ctx context.Context, host string, seq int64, reason string, d event.OfficeLogBroken) (c HostChain, first bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stamp := s.stamp()
		if _, err := tx.ExecContext(ctx, `INSERT INTO office_chains (host) VALUES (?) ON CONFLICT (host) DO NOTHING`, host); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE office_chains SET broken_seq = ?, broken_reason = ?, broken_at = ? WHERE host = ? AND broken_seq = 0`,
			seq, reason, stamp, host)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		first = true
		d.Host = s.officeHostNumber(ctx, tx, host)
		d.HostID, d.Seq, d.Reason = host, seq, reason
		_, err = s.appendEvent(ctx, tx, event.KindOfficeLogBroken, "", d)
		return err
	})
	if err != nil {
		return HostChain{}, false, fmt.Errorf("mark log of host %s broken: %w", host, err)
	}
	c, err = s.HostChain(ctx, host)
	return c, first, err
}

// FreezeHost freezes host (freeze true) or thaws it, with the office's audit row
// (office.host-freeze, office.host-unfreeze). Freezing a frozen host, or thawing one
// that is not, changes nothing and writes no row.
func (s *Store) FreezeHost(ctx context.Context, host string, freeze bool, reason string) (HostChain, error) {
	reason, err := cleanText("reason", reason, 500)
	if err != nil {
		return HostChain{}, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO office_chains (host) VALUES (?) ON CONFLICT (host) DO NOTHING`, host); err != nil {
			return err
		}
		kind, to, cond := event.KindOfficeHostFreeze, s.stamp(), `frozen = ''`
		if !freeze {
			kind, to, cond = event.KindOfficeHostUnfreeze, "", `frozen <> ''`
		}
		res, err := tx.ExecContext(ctx, `UPDATE office_chains SET frozen = ? WHERE host = ? AND `+cond, to, host)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = s.appendEvent(ctx, tx, kind, "", event.OfficeFreeze{Host: s.officeHostNumber(ctx, tx, host), HostID: host, Reason: reason})
		return err
	})
	if err != nil {
		return HostChain{}, fmt.Errorf("freeze host %s: %w", host, err)
	}
	return s.HostChain(ctx, host)
}

// officeHostNumber is the number of the office host with id, or "" when there is none
// (a chain of a host no longer in the register still gets its audit row).
func (s *Store) officeHostNumber(ctx context.Context, tx *sql.Tx, id string) string {
	var n string
	if err := tx.QueryRowContext(ctx, `SELECT number FROM office_hosts WHERE id = ?`, id).Scan(&n); err != nil {
		return ""
	}
	return n
}

// CountHostLogRows counts the rows of every host's log the office holds.
func (s *Store) CountHostLogRows(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM office_host_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count host log rows: %w", err)
	}
	return n, nil
}
