// Package ledger is the office's receipt of its hosts' audit logs. Every enrolled
// host sends the rows of its hash-chained log (internal/audit) in order; the ledger
// checks each batch — every row hashes to what it carries, the rows are one chain,
// and that chain continues the one the office already holds for the host — stores the
// new rows and the new head in one transaction, and answers with the head signed by
// the office (internal/anchor). The host keeps that acknowledgement; from then on a
// log cut below it, rolled back to an older copy or rewritten no longer passes, on the
// host (audit verify) nor here.
//
// A batch that does not continue the acknowledged chain marks the host's chain broken
// at once, with the first bad row: an audit row on the office (office.host-log-broken)
// and an alert in the server's log. A broken chain takes no more rows until an
// officer has looked at it; the host keeps its rows (it never drops any that were not
// acknowledged).
//
// Receipt is idempotent: rows the office already holds are acknowledged again when
// they are the same, so a host may send a batch twice (at-least-once delivery). Every
// front-end calls the same Ledger: the HTTPS endpoint of enrolled hosts, and the file
// import of standalone hosts.
package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/registry"
)

// Chain is the office's record of one host's chain: its acknowledged head, whether it
// is broken (and where first), whether the host is frozen.
type Chain = registry.HostChain

// Store keeps the office's copy of the hosts' logs. *registry.Store implements it;
// front-ends get it from the service's store (service.Service.Store) by a type
// assertion.
type Store interface {
	HostChain(ctx context.Context, host string) (registry.HostChain, error)
	HostChains(ctx context.Context) ([]registry.HostChain, error)
	HostLogHashes(ctx context.Context, host string, from, to int64) (map[int64]string, error)
	AppendHostLog(ctx context.Context, host string, base audit.Head, rows []*audit.Event, acked time.Time) error
	AppendHostLogs(ctx context.Context, appends []registry.HostAppend, acked time.Time) error
	TouchHostLog(ctx context.Context, host string, acked time.Time) error
	BreakHostChain(ctx context.Context, host string, seq int64, reason string, d event.OfficeLogBroken) (registry.HostChain, bool, error)
	FreezeHost(ctx context.Context, host string, freeze bool, reason string) (registry.HostChain, error)
}

// Limits of one batch.
const (
	// MaxBatch is the most rows one batch may hold.
	MaxBatch = 5000
	// MaxDetails is the most bytes of one row's details.
	MaxDetails = 64 << 10
	maxField   = 256
)

// Errors of Receive, for errors.Is.
var (
	// ErrBadBatch: the batch is not one the ledger can read (empty, too many rows, a
	// field out of bounds). Nothing is stored or marked; it says nothing of the log.
	ErrBadBatch = errors.New("bad log batch")
	// ErrGap: the batch starts after the row that follows the office's head; the
	// host is to send from Head+1 (a *GapError says where).
	ErrGap = errors.New("log batch does not start at the office's head")
	// ErrBroken: the host's chain is broken (a *BrokenError names the first bad row).
	ErrBroken = errors.New("host log broken")
	// ErrNoChain: the office holds no row of the host's log yet.
	ErrNoChain = errors.New("no log of this host held")
)

// GapError is a batch that starts after the office's head.
type GapError struct {
	Head  int64 // the office's head for the host: send from Head+1
	First int64 // the batch's first row
}

func (e *GapError) Error() string {
	return fmt.Sprintf("log batch starts at row %d but the office holds rows up to %d", e.First, e.Head)
}

func (e *GapError) Unwrap() error { return ErrGap }

// BrokenError is a host whose log broke the chain the office holds.
type BrokenError struct {
	Host   string // office host id
	Seq    int64  // the first bad row
	Reason string
	At     time.Time // when the office saw it
	// New is true when this receipt found the break (the audit row and alert were
	// written now), false when the chain was already broken.
	New bool
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("log of host %s broken at row %d: %s", e.Host, e.Seq, e.Reason)
}

func (e *BrokenError) Unwrap() error { return ErrBroken }

// Sources of rows, for the audit row of a break (WithSource).
const (
	SourceNetwork = "network"
	SourceFile    = "file"
)

type sourceKey struct{}

// WithSource names where the rows given to Receive under ctx came from (SourceNetwork
// by default, SourceFile for a log file carried from a standalone host).
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

func sourceOf(ctx context.Context) string {
	if s, ok := ctx.Value(sourceKey{}).(string); ok && s != "" {
		return s
	}
	return SourceNetwork
}

// Config configures a Ledger.
type Config struct {
	Store Store
	// Key is the office's signing key (the policy key, pki.Office.PolicyKey): hosts
	// check acknowledgements with its public half.
	Key ed25519.PrivateKey
	Now func() time.Time // default time.Now
	Log *slog.Logger     // breaks are logged here at error level
}

// Ledger receives the hosts' logs. It is safe for concurrent use; receipts for one
// host take turns.
type Ledger struct {
	st      Store
	key     ed25519.PrivateKey
	now     func() time.Time
	log     *slog.Logger
	locks   sync.Map // host → *sync.Mutex (one per host the office has: authenticated ids)
	readers chan struct{}

	// Group commit: receipts of many hosts checked at the same time are stored in
	// one transaction by whichever of them comes first (the leader).
	gmu        sync.Mutex
	queue      []*pendingAppend
	committing bool
}

type pendingAppend struct {
	app  registry.HostAppend
	done chan error
	lead chan struct{}
}

// New returns a ledger over cfg.Store.
func New(cfg Config) (*Ledger, error) {
	if cfg.Store == nil {
		return nil, errors.New("ledger: no store")
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("ledger: no signing key")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Ledger{st: cfg.Store, key: cfg.Key, now: cfg.Now, log: cfg.Log, readers: make(chan struct{}, maxReaders)}, nil
}

// maxGroupRows bounds the rows of one group commit.
const maxGroupRows = 20000

// appendRows stores a checked batch, together with the batches of other hosts that
// wait at the same time: one transaction for all of them, so that a thousand hosts
// sending small batches cost a few commits, not a thousand. The caller holds the
// host's lock. If the group's transaction fails, each batch is stored on its own, so
// that one host's error is only that host's.
func (l *Ledger) appendRows(ctx context.Context, host string, base audit.Head, rows []*audit.Event, now time.Time) error {
	p := &pendingAppend{app: registry.HostAppend{Host: host, Base: base, Rows: rows}, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	l.gmu.Lock()
	l.queue = append(l.queue, p)
	if l.committing {
		l.gmu.Unlock()
		select {
		case err := <-p.done:
			return err
		case <-p.lead: // the leader's own batch is stored: this one leads now
		}
	} else {
		l.committing = true
		l.gmu.Unlock()
	}
	for {
		l.gmu.Lock()
		group, n := l.queue, 0
		for i, q := range group {
			n += len(q.app.Rows)
			if n > maxGroupRows && i > 0 {
				group = group[:i]
				break
			}
		}
		l.queue = l.queue[len(group):]
		l.gmu.Unlock()
		l.commitGroup(context.WithoutCancel(ctx), group, now)
		select {
		case err := <-p.done:
			// Stored: hand the lead to the oldest waiting batch, so that no leader
			// commits for others forever.
			l.gmu.Lock()
			if len(l.queue) == 0 {
				l.committing = false
			} else {
				l.queue[0].lead <- struct{}{}
			}
			l.gmu.Unlock()
			return err
		default:
		}
	}
}

func (l *Ledger) commitGroup(ctx context.Context, group []*pendingAppend, now time.Time) {
	if len(group) > 1 {
		apps := make([]registry.HostAppend, len(group))
		for i, p := range group {
			apps[i] = p.app
		}
		if err := l.st.AppendHostLogs(ctx, apps, now); err == nil {
			for _, p := range group {
				p.done <- nil
			}
			return
		}
	}
	for _, p := range group {
		p.done <- l.st.AppendHostLog(ctx, p.app.Host, p.app.Base, p.app.Rows, now)
	}
}

func (l *Ledger) lock(host string) func() {
	v, _ := l.locks.LoadOrStore(host, &sync.Mutex{})
	m := v.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// Receive takes a batch of host's log: rows in sequence order, starting at or before
// the row after the office's head (rows the office holds are compared, not stored
// again). It returns the office's signed acknowledgement of the host's new head.
//
// Errors: ErrBadBatch (nothing done), a *GapError (nothing done; send from its Head+1),
// a *BrokenError (the chain is broken — now or before; nothing stored), or a store
// error. host is the office's host id (office_hosts.id), from the client certificate
// or the verified file: the caller has authenticated it.
func (l *Ledger) Receive(ctx context.Context, host string, rows []*audit.Event) (anchor.Ack, error) {
	if err := checkBatch(host, rows); err != nil {
		return anchor.Ack{}, err
	}
	defer l.lock(host)()
	for try := 0; ; try++ {
		ack, err := l.receive(ctx, host, rows)
		if errors.Is(err, registry.ErrHeadMoved) && try < 2 {
			continue // another server process stored rows of this host first
		}
		return ack, err
	}
}

func (l *Ledger) receive(ctx context.Context, host string, rows []*audit.Event) (anchor.Ack, error) {
	first, last := rows[0].Seq, rows[len(rows)-1].Seq
	c, held, err := l.read(ctx, host, first, last)
	if err != nil {
		return anchor.Ack{}, err
	}
	if c.Broken() {
		return anchor.Ack{}, brokenOf(c, false)
	}
	if first > c.Seq+1 {
		return anchor.Ack{}, &GapError{Head: c.Seq, First: first}
	}
	reg := c.RegisterID
	headHash := c.Hash
	if c.Seq == 0 {
		headHash = audit.GenesisHash
	}
	for i, e := range rows {
		var why string
		seq := e.Seq
		switch {
		case i > 0 && e.Seq != rows[i-1].Seq+1:
			seq = rows[i-1].Seq + 1
			why = fmt.Sprintf("sequence gap or reorder in the host's log: row %d follows row %d", e.Seq, rows[i-1].Seq)
		case audit.ComputeHash(e) != e.Hash:
			why = "row content does not match its hash (edited on the host)"
		case i > 0 && e.PrevHash != rows[i-1].Hash:
			why = "previous hash does not match the row before it (row inserted, deleted or reordered on the host)"
		case e.Seq <= c.Seq && held[e.Seq] == "":
			return anchor.Ack{}, fmt.Errorf("log of host %s: row %d is acknowledged but not held", host, e.Seq)
		case e.Seq <= c.Seq && held[e.Seq] != e.Hash:
			why = "row differs from the row the office acknowledged (log rewritten, rolled back or replaced)"
		case e.Seq == c.Seq+1 && e.PrevHash != headHash:
			why = fmt.Sprintf("row does not continue the acknowledged head (row %d): rows deleted or rewritten, log rolled back or replaced", c.Seq)
		case reg != "" && e.HostID != reg:
			why = fmt.Sprintf("row of register %s in the log of register %s (register replaced)", e.HostID, reg)
		}
		if why != "" {
			return anchor.Ack{}, l.markBroken(ctx, host, c, seq, why, last)
		}
		reg = e.HostID
	}
	now := l.now().UTC().Truncate(time.Millisecond)
	if last <= c.Seq {
		// All held already: acknowledged again.
		if err := l.st.TouchHostLog(ctx, host, now); err != nil {
			return anchor.Ack{}, err
		}
		return l.sign(c.RegisterID, c.Seq, c.Hash, now), nil
	}
	fresh := rows[c.Seq-first+1:]
	err = l.appendRows(ctx, host, audit.Head{Seq: c.Seq, Hash: c.Hash}, fresh, now)
	if errors.Is(err, registry.ErrChainBroken) {
		if c, err := l.st.HostChain(ctx, host); err == nil && c.Broken() {
			return anchor.Ack{}, brokenOf(c, false)
		}
	}
	if err != nil {
		return anchor.Ack{}, err
	}
	e := rows[len(rows)-1]
	return l.sign(e.HostID, e.Seq, e.Hash, now), nil
}

// maxReaders bounds the receipts reading the store at once (each read holds a
// connection of the pool; a thousand hosts at once must not open a thousand).
const maxReaders = 32

// read reads host's chain and the hashes it holds of rows first through last.
func (l *Ledger) read(ctx context.Context, host string, first, last int64) (Chain, map[int64]string, error) {
	select {
	case l.readers <- struct{}{}:
		defer func() { <-l.readers }()
	case <-ctx.Done():
		return Chain{}, nil, ctx.Err()
	}
	c, err := l.st.HostChain(ctx, host)
	if err != nil || c.Broken() || first > c.Seq {
		return c, nil, err
	}
	held, err := l.st.HostLogHashes(ctx, host, first, min(last, c.Seq))
	return c, held, err
}

// ReceiveHead takes the newest row of host's log when the host no longer holds the
// office's head row (its log ends before it): the log was cut or rolled back, and the
// ledger marks the chain broken — unless head is the office's head itself, or later
// (then it answers with the acknowledgement of the office's head, and the host is to
// send its rows with Receive). Errors as Receive's, and ErrNoChain.
func (l *Ledger) ReceiveHead(ctx context.Context, host string, head *audit.Event) (anchor.Ack, error) {
	rows := []*audit.Event{head}
	if err := checkBatch(host, rows); err != nil {
		return anchor.Ack{}, err
	}
	defer l.lock(host)()
	c, err := l.st.HostChain(ctx, host)
	if err != nil {
		return anchor.Ack{}, err
	}
	if c.Broken() {
		return anchor.Ack{}, brokenOf(c, false)
	}
	if c.Seq == 0 {
		return anchor.Ack{}, ErrNoChain
	}
	if head.Seq >= c.Seq {
		// Row c.Seq itself is compared by Receive.
		if head.Seq == c.Seq {
			return l.receive(ctx, host, rows)
		}
		return l.sign(c.RegisterID, c.Seq, c.Hash, l.now()), nil
	}
	if audit.ComputeHash(head) != head.Hash {
		return anchor.Ack{}, l.markBroken(ctx, host, c, head.Seq, "row content does not match its hash (edited on the host)", head.Seq)
	}
	held, err := l.st.HostLogHashes(ctx, host, head.Seq, head.Seq)
	if err != nil {
		return anchor.Ack{}, err
	}
	if held[head.Seq] != head.Hash {
		return anchor.Ack{}, l.markBroken(ctx, host, c, head.Seq,
			fmt.Sprintf("the host's log now ends at row %d, which differs from the row the office holds (log rewritten or replaced; the office acknowledged up to row %d)", head.Seq, c.Seq), head.Seq)
	}
	return anchor.Ack{}, l.markBroken(ctx, host, c, head.Seq+1,
		fmt.Sprintf("the host's log now ends at row %d but the office acknowledged up to row %d (rows deleted from the end, or the database rolled back)", head.Seq, c.Seq), head.Seq)
}

// Head returns the office's signed acknowledgement of host's head as it stands:
// ErrNoChain when it holds no row, a *BrokenError when the chain is broken.
func (l *Ledger) Head(ctx context.Context, host string) (anchor.Ack, error) {
	c, err := l.st.HostChain(ctx, host)
	if err != nil {
		return anchor.Ack{}, err
	}
	if c.Broken() {
		return anchor.Ack{}, brokenOf(c, false)
	}
	if c.Seq == 0 {
		return anchor.Ack{}, ErrNoChain
	}
	return l.sign(c.RegisterID, c.Seq, c.Hash, l.now()), nil
}

// Chain returns the office's record of host's chain (the zero record when it holds
// nothing of the host).
func (l *Ledger) Chain(ctx context.Context, host string) (Chain, error) {
	return l.st.HostChain(ctx, host)
}

// Chains returns the records of every chain the office holds, by host id.
func (l *Ledger) Chains(ctx context.Context) ([]Chain, error) { return l.st.HostChains(ctx) }

// Freeze freezes host (freeze true) or thaws it, with an audit row; see
// docs/office.md for what a frozen host gets.
func (l *Ledger) Freeze(ctx context.Context, host string, freeze bool, reason string) (Chain, error) {
	return l.st.FreezeHost(ctx, host, freeze, reason)
}

func (l *Ledger) sign(reg string, seq int64, hash string, at time.Time) anchor.Ack {
	return anchor.Sign(anchor.Ack{Host: reg, Seq: seq, Hash: hash, Time: at}, l.key)
}

// markBroken records the break (audit row, alert) and returns its *BrokenError.
func (l *Ledger) markBroken(ctx context.Context, host string, c Chain, seq int64, reason string, hostSeq int64) error {
	src := sourceOf(ctx)
	got, first, err := l.st.BreakHostChain(ctx, host, seq, reason, event.OfficeLogBroken{HostSeq: hostSeq, OfficeSeq: c.Seq, Source: src})
	if err != nil {
		return err
	}
	if first {
		l.log.Error("ALERT: host audit log broken: tampering or rollback", "host_id", host, "seq", seq, "office_seq", c.Seq,
			"host_seq", hostSeq, "reason", reason, "source", src)
	}
	return brokenOf(got, first)
}

func brokenOf(c Chain, first bool) *BrokenError {
	return &BrokenError{Host: c.Host, Seq: c.BrokenSeq, Reason: c.BrokenReason, At: c.BrokenAt, New: first}
}

// checkBatch refuses a batch the ledger cannot read: it says nothing of the host's
// log (the rows may not even be the host's), so it marks nothing.
func checkBatch(host string, rows []*audit.Event) error {
	if host == "" || len(host) > maxField {
		return fmt.Errorf("%w: bad host id", ErrBadBatch)
	}
	if len(rows) == 0 {
		return fmt.Errorf("%w: no rows", ErrBadBatch)
	}
	if len(rows) > MaxBatch {
		return fmt.Errorf("%w: %d rows, at most %d", ErrBadBatch, len(rows), MaxBatch)
	}
	for _, e := range rows {
		switch {
		case e == nil:
			return fmt.Errorf("%w: empty row", ErrBadBatch)
		case e.Seq < 1:
			return fmt.Errorf("%w: row %d: sequence number", ErrBadBatch, e.Seq)
		case !isHash(e.Hash) || !isHash(e.PrevHash):
			return fmt.Errorf("%w: row %d: hash is not 64 lower-case hex digits", ErrBadBatch, e.Seq)
		case e.ID == "" || e.HostID == "" || e.Kind == "":
			return fmt.Errorf("%w: row %d: id, host id or kind missing", ErrBadBatch, e.Seq)
		case len(e.ID) > maxField || len(e.HostID) > maxField || len(e.Kind) > maxField || len(e.Medium) > maxField ||
			len(e.Actor.User) > maxField || len(e.Actor.Login) > maxField:
			return fmt.Errorf("%w: row %d: a field is longer than %d bytes", ErrBadBatch, e.Seq, maxField)
		case len(e.Details) > MaxDetails:
			return fmt.Errorf("%w: row %d: details of %d bytes, at most %d", ErrBadBatch, e.Seq, len(e.Details), MaxDetails)
		case e.Time.IsZero():
			return fmt.Errorf("%w: row %d: no time", ErrBadBatch, e.Seq)
		}
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') })
}
