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
	"mediagate/internal/media"
)

// The reads of the inspection packet (mediagate server report inspection): every
// section is one query streamed row by row in one read-only snapshot of the
// register, so that a packet of 100,000 media and millions of audit rows is written
// without holding the rows in memory, and its sections agree with each other.
//
// The hosts' logs are the office's copies in office_host_events and office_chains
// (migration 0008, kept by internal/office/ledger); a host's own register keeps them
// empty.

// InspectionScope selects what a packet covers: a year (Since inclusive, Until
// exclusive, as UTC instants) and optionally one department ("" is the whole office).
type InspectionScope struct {
	Since, Until time.Time
	Department   string
}

// InspectionReader reads the register for one packet, inside one read-only
// transaction. Its methods must be called one after the other (never from inside
// another's callback): PostgreSQL cannot interleave two result sets on one
// connection.
type InspectionReader struct {
	s  *Store
	tx *sql.Tx
}

// ReadForInspection runs fn with a reader of one consistent snapshot of the register.
func (s *Store) ReadForInspection(ctx context.Context, fn func(*InspectionReader) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return fmt.Errorf("read register for inspection: %w", err)
	}
	defer tx.Rollback()
	return fn(&InspectionReader{s: s, tx: tx})
}

func (r *InspectionReader) each(ctx context.Context, what, query string, args []any, f func(*sql.Rows) error) error {
	rows, err := r.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("inspection: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inspection: %s: %w", what, err)
	}
	return nil
}

// Departments lists every department the register names: of people, of hosts and
// of media with a department of their own, sorted.
func (r *InspectionReader) Departments(ctx context.Context) ([]string, error) {
	var out []string
	err := r.each(ctx, "departments", `SELECT department FROM people WHERE department <> ''
		UNION SELECT department FROM office_hosts WHERE department <> ''
		UNION SELECT department FROM media WHERE department_set = 1 AND department <> ''
		ORDER BY 1`, nil, func(rows *sql.Rows) error {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// OfficeHosts lists the office's hosts of the scope's department (all without one),
// by number.
func (r *InspectionReader) OfficeHosts(ctx context.Context, dept string) ([]OfficeHost, error) {
	q := `SELECT ` + officeHostCols + officeHostFrom
	var args []any
	if dept != "" {
		q, args = q+` WHERE department = ?`, []any{dept}
	}
	var out []OfficeHost
	err := r.each(ctx, "hosts", q+` ORDER BY number`, args, func(rows *sql.Rows) error {
		h, err := scanOfficeHost(rows)
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

// CountMedia counts the media of the department ("" all).
func (r *InspectionReader) CountMedia(ctx context.Context, dept string) (int64, error) {
	q := `SELECT COUNT(*)` + mediumFrom
	var args []any
	if dept != "" {
		q, args = q+` WHERE `+mediumDepartment+` = ?`, []any{dept}
	}
	var n int64
	if err := r.tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("inspection: count media: %w", err)
	}
	return n, nil
}

// EachMedium calls f for every medium of the department ("" all), by number. The
// media in status lost and the overdue loans are what a caller collects as incidents.
func (r *InspectionReader) EachMedium(ctx context.Context, dept string, f func(media.Medium) error) error {
	q := `SELECT ` + mediumCols + mediumFrom
	var args []any
	if dept != "" {
		q, args = q+` WHERE `+mediumDepartment+` = ?`, []any{dept}
	}
	return r.each(ctx, "media", q+` ORDER BY m.number`, args, func(rows *sql.Rows) error {
		m, err := scanMedium(rows)
		if err != nil {
			return err
		}
		return f(m)
	})
}

// MediaOf lists the media of the department in a status, by number.
func (r *InspectionReader) MediaOf(ctx context.Context, dept string, st media.Status) ([]media.Medium, error) {
	q := `SELECT ` + mediumCols + mediumFrom + ` WHERE m.status = ?`
	args := []any{string(st)}
	if dept != "" {
		q, args = q+` AND `+mediumDepartment+` = ?`, append(args, dept)
	}
	var out []media.Medium
	err := r.each(ctx, "media "+string(st), q+` ORDER BY m.number`, args, func(rows *sql.Rows) error {
		m, err := scanMedium(rows)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// deptMedia is a condition that the medium number in col is a medium of the
// department (by its current number).
func deptMedia(col string) string {
	return col + ` IN (SELECT m.number` + mediumFrom + ` WHERE ` + mediumDepartment + ` = ?)`
}

// EachMediumEvent calls f for every row of the office's own log about a medium of
// the scope written before the scope's end, ordered by medium number and sequence:
// each medium's history as the register recorded it (registration, handovers, loans,
// status changes, check-ins).
func (r *InspectionReader) EachMediumEvent(ctx context.Context, sc InspectionScope, f func(*audit.Event) error) error {
	q := `SELECT ` + eventCols + ` FROM events WHERE medium <> '' AND time < ?`
	args := []any{sc.Until.UTC().Format(timeLayout)}
	if sc.Department != "" {
		q, args = q+` AND `+deptMedia("medium"), append(args, sc.Department)
	}
	return r.each(ctx, "history", q+` ORDER BY medium, seq`, args, func(rows *sql.Rows) error {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		return f(e)
	})
}

// MountSummary is the mounts of one medium on one host in a scope's time.
type MountSummary struct {
	Medium string    `json:"medium"`
	Host   string    `json:"host"` // the host's number
	Mounts int64     `json:"mounts"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

// EachMountSummary calls f for each (medium, host) with mounts (mount.attach rows
// collected from the hosts) in the scope's time, by medium and host; with a
// department, for the media of the department wherever they were mounted.
func (r *InspectionReader) EachMountSummary(ctx context.Context, sc InspectionScope, f func(MountSummary) error) error {
	q := `SELECT e.medium, COALESCE(h.number, e.host), COUNT(*), MIN(e.time), MAX(e.time)
		FROM office_host_events e LEFT JOIN office_hosts h ON h.id = e.host
		WHERE e.kind = ? AND e.time >= ? AND e.time < ? AND e.medium <> ''`
	args := []any{string(event.KindMountAttach), sc.Since.UTC().Format(timeLayout), sc.Until.UTC().Format(timeLayout)}
	if sc.Department != "" {
		q, args = q+` AND `+deptMedia("e.medium"), append(args, sc.Department)
	}
	q += ` GROUP BY e.medium, COALESCE(h.number, e.host) ORDER BY e.medium, COALESCE(h.number, e.host)`
	return r.each(ctx, "mount summary", q, args, func(rows *sql.Rows) error {
		var m MountSummary
		var first, last string
		if err := rows.Scan(&m.Medium, &m.Host, &m.Mounts, &first, &last); err != nil {
			return err
		}
		m.First, m.Last = parseStamp(first), parseStamp(last)
		return f(m)
	})
}

// HostEvent is a row collected from a host, with the host's number.
type HostEvent struct {
	Host string `json:"host"` // the host's number in the office register
	*audit.Event
}

// violationKinds are the collected rows that are violations whatever their details
// say; device.decision rows are violations when their verdict is block.
var violationKinds = []event.Kind{event.KindMountViolation, event.KindDeviceTamper}

// violationWhere is the condition and arguments of the scope's violations.
func (r *InspectionReader) violationWhere(sc InspectionScope) (string, []any) {
	verdict, verdictArg := r.s.d.detailsText(event.Path[event.DeviceDecision]("Verdict"))
	w := `e.time >= ? AND e.time < ? AND (e.kind IN (?, ?) OR (e.kind = ? AND ` + verdict + ` = ?))`
	args := []any{sc.Since.UTC().Format(timeLayout), sc.Until.UTC().Format(timeLayout),
		string(violationKinds[0]), string(violationKinds[1]), string(event.KindDeviceDecision), verdictArg, "block"}
	if sc.Department != "" {
		w += ` AND (h.department = ? OR ` + deptMedia("e.medium") + `)`
		args = append(args, sc.Department, sc.Department)
	}
	return w, args
}

// CountViolations counts the scope's violations (see EachViolation).
func (r *InspectionReader) CountViolations(ctx context.Context, sc InspectionScope) (int64, error) {
	w, args := r.violationWhere(sc)
	var n int64
	err := r.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM office_host_events e LEFT JOIN office_hosts h ON h.id = e.host WHERE `+w, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inspection: count violations: %w", err)
	}
	return n, nil
}

// EachViolation calls f for every violation the hosts logged in the scope's time, in
// time order: mounts undone (mount.violation), tampering seen (device.tamper) and
// devices blocked (device.decision with verdict block). With a department: on the
// department's hosts, or about its media anywhere.
func (r *InspectionReader) EachViolation(ctx context.Context, sc InspectionScope, f func(HostEvent) error) error {
	w, args := r.violationWhere(sc)
	q := `SELECT COALESCE(h.number, e.host), e.` + strings.ReplaceAll(eventCols, ", ", ", e.") +
		` FROM office_host_events e LEFT JOIN office_hosts h ON h.id = e.host WHERE ` + w + ` ORDER BY e.time, e.host, e.seq`
	return r.each(ctx, "violations", q, args, func(rows *sql.Rows) error {
		var he HostEvent
		var e audit.Event
		var t, details string
		if err := rows.Scan(&he.Host, &e.Seq, &e.ID, &t, &e.HostID, &e.Kind, &e.Medium, &e.Actor.UID, &e.Actor.User,
			&e.Actor.Login, &details, &e.PrevHash, &e.Hash); err != nil {
			return err
		}
		e.Time = parseStamp(t)
		if details != "" {
			e.Details = []byte(details)
		}
		he.Event = &e
		return f(he)
	})
}

// ChainCheck is the verification of one audit chain, hash by hash.
type ChainCheck struct {
	Host     string `json:"host"`              // the host's number; "" for the office's own log
	Rows     int64  `json:"rows"`              // rows checked
	First    int64  `json:"first,omitempty"`   // first sequence number held (collected chains)
	HeadSeq  int64  `json:"head_seq"`          // the recorded head (office_chains, or event_head)
	HeadHash string `json:"head_hash"`         // its hash
	OK       bool   `json:"ok"`                // every row continues the chain up to the head
	BadSeq   int64  `json:"bad_seq,omitempty"` // the first bad row found now
	Problem  string `json:"problem,omitempty"` // what is wrong with it
	// ProblemCode names the problem: "edited" (content differs from its hash), "link"
	// (previous hash differs: a row inserted, deleted or reordered), "gap" (sequence
	// gap or reorder), "end" (the log does not end at its recorded head).
	ProblemCode string `json:"problem_code,omitempty"`
	Acked       string `json:"acked,omitempty"`  // when the office last acknowledged the head
	Broken      int64  `json:"broken,omitempty"` // the first bad sequence the office flagged at receipt
	Reason      string `json:"reason,omitempty"` // why it was flagged
	BrokenAt    string `json:"broken_at,omitempty"`
	Frozen      string `json:"frozen,omitempty"` // the host's policy frozen (when, or a flag)
}

// VerifyOwnLog checks the office's own audit log against its chain and head.
func (r *InspectionReader) VerifyOwnLog(ctx context.Context) (ChainCheck, error) {
	c := ChainCheck{}
	var head audit.Head
	err := r.tx.QueryRowContext(ctx, `SELECT seq, hash FROM event_head WHERE singleton = 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("inspection: audit head: %w", err)
	}
	c.HeadSeq, c.HeadHash = head.Seq, head.Hash
	var chain audit.Chain
	var broken error
	err = r.each(ctx, "own log", `SELECT `+eventCols+` FROM events ORDER BY seq`, nil, func(rows *sql.Rows) error {
		if broken != nil {
			return nil // keep counting nothing; the first bad row is what matters
		}
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		broken = chain.Add(e)
		return nil
	})
	if err != nil {
		return c, err
	}
	if broken == nil {
		broken = chain.End(head)
	}
	c.Rows = chain.Rows()
	if c.Rows > 0 {
		c.First = 1
	}
	setBroken(&c, broken)
	return c, nil
}

func setBroken(c *ChainCheck, err error) {
	var be *audit.BrokenError
	if errors.As(err, &be) {
		c.BadSeq, c.Problem = be.Seq, be.Reason
		for prefix, code := range map[string]string{"content does not match": "edited", "previous hash": "link",
			"sequence gap": "gap", "log ends at row": "end"} {
			if strings.HasPrefix(be.Reason, prefix) {
				c.ProblemCode = code
			}
		}
		return
	}
	c.OK = err == nil
}

// VerifyHostChain checks the log collected from one host (the office register's
// host id) row by row against its hash chain and the head the office recorded
// (office_chains), and returns what the office flagged at receipt too.
func (r *InspectionReader) VerifyHostChain(ctx context.Context, h OfficeHost) (ChainCheck, error) {
	c := ChainCheck{Host: h.Number}
	var frozen sql.NullString
	var head audit.Head
	err := r.tx.QueryRowContext(ctx, `SELECT seq, hash, acked, broken_seq, broken_reason, broken_at, frozen
		FROM office_chains WHERE host = ?`, h.ID).Scan(&head.Seq, &head.Hash, &c.Acked, &c.Broken, &c.Reason, &c.BrokenAt, &frozen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("inspection: chain of %s: %w", h.Number, err)
	}
	if frozen.Valid && frozen.String != "" && frozen.String != "0" {
		c.Frozen = frozen.String
	}
	c.HeadSeq, c.HeadHash = head.Seq, head.Hash
	var chain *audit.Chain
	var broken error
	err = r.each(ctx, "chain of "+h.Number, `SELECT `+eventCols+` FROM office_host_events WHERE host = ? ORDER BY seq`,
		[]any{h.ID}, func(rows *sql.Rows) error {
			if broken != nil {
				return nil
			}
			e, err := scanEvent(rows)
			if err != nil {
				return err
			}
			if chain == nil {
				// The office holds the host's log from the first row it collected:
				// rows before it were never sent, which is not a break.
				c.First = e.Seq
				chain = audit.ChainAfter(audit.Head{Seq: e.Seq - 1, Hash: e.PrevHash})
			}
			broken = chain.Add(e)
			return nil
		})
	if err != nil {
		return c, err
	}
	if chain == nil {
		chain = audit.ChainAfter(audit.Head{})
	}
	if broken == nil {
		broken = chain.End(head)
	}
	c.Rows = chain.Rows()
	setBroken(&c, broken)
	if c.Broken > 0 {
		c.OK = false
	}
	return c, nil
}

// MaxLevel is the highest level of the department's media ("" all), -1 when none:
// the packet's classification marking.
func (r *InspectionReader) MaxLevel(ctx context.Context, dept string) (media.Level, error) {
	q := `SELECT COALESCE(MAX(m.level), -1)` + mediumFrom
	var args []any
	if dept != "" {
		q, args = q+` WHERE `+mediumDepartment+` = ?`, []any{dept}
	}
	var l int
	if err := r.tx.QueryRowContext(ctx, q, args...).Scan(&l); err != nil {
		return -1, fmt.Errorf("inspection: highest level: %w", err)
	}
	return media.Level(l), nil
}
