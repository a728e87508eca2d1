package hostclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
)

// The host's side of log collection: the Shipper sends the rows of the host's audit
// log to the office server (GET and POST /v1/host/log), in order, in batches, from the
// row the office acknowledged last; the server answers each batch with its signed
// acknowledgement of the host's head, which the Shipper checks and keeps in the
// register's .ack file (internal/anchor). Delivery is at least once: a batch whose
// answer was lost is sent again, and the office acknowledges rows it already holds.
//
// The Shipper does not poll. It sends when woken — the daemon wakes it whenever a row
// is appended to the log and when the Follower reaches the server again — and after a
// failure it tries again after a growing pause. While the office says the host's
// chain is broken it stops, apart from one attempt per MaxBackoff when woken, until
// an officer has dealt with it. The host never drops a row: what was not acknowledged
// stays in the register, and is sent when the office takes it.

// Log endpoint and its refusals (as internal/office/wire has them).
const (
	pathLog       = "/v1/host/log"
	codeLogGap    = "office.log-gap"
	codeLogBroken = "office.log-broken"
	// maxLogRows and maxLogBytes keep a batch under the server's limits (2000 rows,
	// 8 MiB).
	maxLogRows  = 2000
	maxLogBytes = 4 << 20
)

// ErrLogBroken: the office says the host's chain is broken; *LogBrokenError says
// where.
var ErrLogBroken = errors.New("the office holds this host's log as broken")

// LogBrokenError is the office's answer that the host's chain is broken at row Seq.
type LogBrokenError struct {
	Seq    int64
	Reason string
}

func (e *LogBrokenError) Error() string { return e.Reason }

func (e *LogBrokenError) Unwrap() error { return ErrLogBroken }

// LogGapError is the office's answer that a batch started after its head (Head).
type LogGapError struct{ Head int64 }

func (e *LogGapError) Error() string {
	return fmt.Sprintf("the office holds this host's log up to row %d only", e.Head)
}

type logRow struct {
	Seq       int64  `json:"seq"`
	ID        string `json:"id"`
	Time      string `json:"time"`
	HostID    string `json:"host_id"`
	Kind      string `json:"kind"`
	Medium    string `json:"medium,omitempty"`
	ActorUID  int    `json:"actor_uid"`
	ActorUser string `json:"actor_user"`
	ActorSudo string `json:"actor_sudo,omitempty"`
	Details   string `json:"details,omitempty"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

func rowOf(e *audit.Event) logRow {
	return logRow{Seq: e.Seq, ID: e.ID, Time: e.Time.UTC().Format(audit.TimeLayout), HostID: e.HostID, Kind: string(e.Kind),
		Medium: e.Medium, ActorUID: e.Actor.UID, ActorUser: e.Actor.User, ActorSudo: e.Actor.Login, Details: string(e.Details),
		PrevHash: e.PrevHash, Hash: e.Hash}
}

type logAnswer struct {
	Ack *anchor.Ack `json:"ack"`
}

// LogHead asks the office for its acknowledgement of this host's head; nil when it
// holds no row of the host yet.
func (c *Client) LogHead(ctx context.Context) (*anchor.Ack, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+pathLog, nil)
	if err != nil {
		return nil, err
	}
	return c.logDo(req)
}

// SendLog sends rows of the host's log (head: one row, the newest the host holds, when
// it no longer holds the office's head) and returns the office's acknowledgement.
func (c *Client) SendLog(ctx context.Context, rows []*audit.Event, head bool) (*anchor.Ack, error) {
	batch := struct {
		Rows []logRow `json:"rows"`
		Head bool     `json:"head,omitempty"`
	}{Rows: make([]logRow, 0, len(rows)), Head: head}
	for _, e := range rows {
		batch.Rows = append(batch.Rows, rowOf(e))
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+pathLog, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.logDo(req)
}

func (c *Client) logDo(req *http.Request) (*anchor.Ack, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("office log: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusConflict {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Code    string `json:"code"`
			Seq     int64  `json:"seq"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil {
			switch e.Code {
			case codeLogGap:
				return nil, &LogGapError{Head: e.Seq}
			case codeLogBroken:
				return nil, &LogBrokenError{Seq: e.Seq, Reason: e.Message}
			}
		}
		return nil, &StatusError{Code: resp.StatusCode, Body: string(b[:min(len(b), 300)])}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("office log: %w", statusError(resp))
	}
	var a logAnswer
	if err := decodeBody(resp.Body, &a); err != nil {
		return nil, fmt.Errorf("office log: %w", err)
	}
	return a.Ack, nil
}

// LogClient is what the Shipper needs of the server; *Client is one.
type LogClient interface {
	LogHead(ctx context.Context) (*anchor.Ack, error)
	SendLog(ctx context.Context, rows []*audit.Event, head bool) (*anchor.Ack, error)
}

// LogSource is the host's audit log; the register (service.Local) is one.
type LogSource interface {
	LogHead(ctx context.Context) (audit.Head, error)
	LogRows(ctx context.Context, from int64, limit int) ([]*audit.Event, error)
}

// ShipperConfig wires a Shipper.
type ShipperConfig struct {
	Client LogClient
	Source LogSource
	// Key is the office's public key that signs acknowledgements (the policy key of
	// the enrolment); an acknowledgement that does not verify is not kept.
	Key ed25519.PublicKey
	// AckFile is where the latest acknowledgement is kept (anchor.File of the register).
	AckFile string
	// BatchRows is the most rows of one batch (default 500, at most 2000).
	BatchRows int
	// MaxBackoff is the longest pause after a failure (default 5 min).
	MaxBackoff time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// ShipStatus is what `mediagate status` says of the log's collection.
type ShipStatus struct {
	// Acked is the row the office acknowledged last (0 for none), AckedAt when.
	Acked   int64     `json:"acked"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Head is the newest row of the local log seen; Head-Acked rows wait to be sent.
	Head      int64  `json:"head"`
	LastError string `json:"last_error,omitempty"`
	// BrokenSeq is the first bad row when the office holds this host's chain as
	// broken (an officer must look at it), with the office's reason.
	BrokenSeq    int64  `json:"broken_seq,omitempty"`
	BrokenReason string `json:"broken_reason,omitempty"`
}

// Shipper sends the host's audit log to the office; see the comment at the top of
// this file.
type Shipper struct {
	cfg  ShipperConfig
	log  *slog.Logger
	wake chan struct{}

	mu     sync.Mutex
	status ShipStatus
	// office is the office's head as last acknowledged; known is false until the
	// office was asked (at start, and after a gap).
	office audit.Head
	known  bool
	saved  int64
}

// NewShipper returns a Shipper; call Run.
func NewShipper(cfg ShipperConfig) *Shipper {
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 500
	}
	cfg.BatchRows = min(cfg.BatchRows, maxLogRows)
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Shipper{cfg: cfg, log: cfg.Log.With("component", "logship"), wake: make(chan struct{}, 1)}
	if a, ok, err := anchor.Load(cfg.AckFile); err == nil && ok {
		s.saved = a.Seq
		s.status.Acked, s.status.AckedAt = a.Seq, a.Time
	}
	return s
}

// Wake asks the Shipper to send what is new; it never blocks.
func (s *Shipper) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Status reports the log's collection.
func (s *Shipper) Status() ShipStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Run sends until ctx ends.
func (s *Shipper) Run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		more, err := s.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.status.LastError = ""
		if err != nil {
			s.status.LastError = err.Error()
		}
		s.mu.Unlock()
		var be *LogBrokenError
		switch {
		case err == nil && more:
			failures = 0
			continue
		case err == nil:
			failures = 0
			s.waitWake(ctx, 0)
		case errors.As(err, &be):
			// Broken: nothing is taken until an officer acts; try again only when there
			// is something new, and not more than once per MaxBackoff.
			s.waitWake(ctx, 0)
			sleep(ctx, s.cfg.MaxBackoff)
		default:
			failures++
			if failures == 1 {
				s.log.Warn("audit log not sent to the office; kept until acknowledged", "err", err)
			}
			s.waitWake(ctx, backoff(failures, s.cfg.MaxBackoff))
		}
	}
}

// waitWake waits for Wake, ctx's end, or d (d 0: no timeout).
func (s *Shipper) waitWake(ctx context.Context, d time.Duration) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-timeout:
	}
}

// Step sends one batch, if there is one: more is true when more may wait.
func (s *Shipper) Step(ctx context.Context) (more bool, err error) {
	s.mu.Lock()
	office, known := s.office, s.known
	s.mu.Unlock()
	if !known {
		a, err := s.cfg.Client.LogHead(ctx)
		if err != nil {
			return false, s.noteBroken(err)
		}
		if a != nil {
			if err := s.accept(a, nil); err != nil {
				return false, err
			}
			office = audit.Head{Seq: a.Seq, Hash: a.Hash}
		}
		s.mu.Lock()
		s.office, s.known = office, true
		s.mu.Unlock()
	}
	head, err := s.cfg.Source.LogHead(ctx)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	s.status.Head = head.Seq
	s.mu.Unlock()
	if office.Seq > 0 && head.Seq < office.Seq {
		// The log ends before the row the office acknowledged: cut, rolled back or
		// replaced. Say so; the office marks the chain broken.
		rows, err := s.cfg.Source.LogRows(ctx, max(head.Seq, 1), 1)
		if err != nil || len(rows) == 0 {
			return false, fmt.Errorf("the local log ends at row %d before the office's acknowledged row %d, and its last row cannot be read: %v", head.Seq, office.Seq, err)
		}
		s.log.Error("the local audit log ends before the row the office acknowledged: log cut or rolled back", "head", head.Seq, "acknowledged", office.Seq)
		_, err = s.cfg.Client.SendLog(ctx, rows, true)
		if err == nil {
			err = fmt.Errorf("the local log ends at row %d, before the office's acknowledged row %d", head.Seq, office.Seq)
		}
		return false, s.noteBroken(err)
	}
	from := max(office.Seq, 1) // the acknowledged row goes again: the office compares it
	rows, err := s.cfg.Source.LogRows(ctx, from, s.cfg.BatchRows)
	if err != nil {
		return false, err
	}
	rows = trimBatch(rows)
	if len(rows) == 0 || len(rows) == 1 && rows[0].Seq == office.Seq && rows[0].Hash == office.Hash {
		return false, nil // nothing new
	}
	a, err := s.cfg.Client.SendLog(ctx, rows, false)
	var gap *LogGapError
	if errors.As(err, &gap) && gap.Head == office.Seq && office.Seq > 0 {
		// The office is where we thought: the local log lacks rows after it.
		return false, fmt.Errorf("the local log lacks rows after the acknowledged row %d (found row %d next)", office.Seq, rows[0].Seq)
	}
	if errors.As(err, &gap) {
		s.log.Warn("the office holds fewer rows of this host's log than it acknowledged; sending from its head", "office", gap.Head)
		s.mu.Lock()
		s.known = false
		s.mu.Unlock()
		return true, nil
	}
	if err != nil {
		return false, s.noteBroken(err)
	}
	if a == nil {
		return false, errors.New("office log: no acknowledgement in the answer")
	}
	if err := s.accept(a, rows); err != nil {
		return false, err
	}
	s.mu.Lock()
	s.office = audit.Head{Seq: a.Seq, Hash: a.Hash}
	s.status.BrokenSeq, s.status.BrokenReason = 0, ""
	s.mu.Unlock()
	return a.Seq < head.Seq || len(rows) == s.cfg.BatchRows, nil
}

// trimBatch keeps a batch under the server's body limit.
func trimBatch(rows []*audit.Event) []*audit.Event {
	size := 0
	for i, e := range rows {
		size += 400 + 2*len(e.Details) // escaping can double the details
		if size > maxLogBytes && i > 0 {
			return rows[:i]
		}
	}
	return rows
}

// accept checks an acknowledgement — the office's signature, this host's register,
// and, when rows were sent, that it names the last of them — and keeps it.
func (s *Shipper) accept(a *anchor.Ack, sent []*audit.Event) error {
	if err := a.Verify(s.cfg.Key); err != nil {
		return fmt.Errorf("office log: acknowledgement refused: %w", err)
	}
	if len(sent) > 0 {
		last := sent[len(sent)-1]
		if a.Host != last.HostID {
			return fmt.Errorf("office log: acknowledgement refused: it is for register %s, not %s", a.Host, last.HostID)
		}
		if a.Seq == last.Seq && a.Hash != last.Hash {
			return fmt.Errorf("office log: acknowledgement refused: row %d has another hash", a.Seq)
		}
	}
	s.mu.Lock()
	save := a.Seq != s.saved && s.cfg.AckFile != ""
	s.mu.Unlock()
	if save {
		if err := anchor.Save(s.cfg.AckFile, *a); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.saved = a.Seq
	s.status.Acked, s.status.AckedAt = a.Seq, a.Time
	s.mu.Unlock()
	return nil
}

// noteBroken records a broken-chain answer in the status.
func (s *Shipper) noteBroken(err error) error {
	var be *LogBrokenError
	if errors.As(err, &be) {
		s.mu.Lock()
		first := s.status.BrokenSeq == 0
		s.status.BrokenSeq, s.status.BrokenReason = be.Seq, be.Reason
		s.mu.Unlock()
		if first {
			s.log.Error("the office holds this host's audit log as broken; an officer must look at it", "seq", be.Seq, "reason", be.Reason)
		}
	}
	return err
}
