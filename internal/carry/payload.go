package carry

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// EnrollRequest is what a standalone host asks the office for: a certificate for its
// new key (the CSR, signed by that key, which also signs the file). Token is the
// one-time token of `server host add` when the host was given one; without it the
// officer's command on the server is the approval.
type EnrollRequest struct {
	Host     string    `json:"host"`
	CSR      string    `json:"csr"`
	Baseline []string  `json:"baseline,omitempty"`
	Token    string    `json:"token,omitempty"`
	Created  time.Time `json:"created"`
}

// Check refuses a request without a host number or CSR, or with oversized fields.
func (r EnrollRequest) Check() error {
	switch {
	case !validHost(r.Host):
		return fmt.Errorf("%w: host number %q", ErrInvalid, clip(r.Host))
	case r.CSR == "" || len(r.CSR) > 8<<10:
		return fmt.Errorf("%w: certificate request", ErrInvalid)
	case len(r.Token) > 256:
		return fmt.Errorf("%w: token", ErrInvalid)
	case len(r.Baseline) > 64:
		return fmt.Errorf("%w: more than 64 internal disks", ErrInvalid)
	}
	return nil
}

// EnrollResponse is the office's answer, signed with the office CA's key: the
// host's certificate, the CA, the policy signing key and, when the server has one,
// the host's first policy (the policydoc envelope).
type EnrollResponse struct {
	Host        string          `json:"host"`
	Certificate string          `json:"certificate"`
	CA          string          `json:"ca"`
	PolicyKey   string          `json:"policy_key"` // base64 ed25519 public key
	Policy      json.RawMessage `json:"policy,omitempty"`
	Issued      time.Time       `json:"issued"`
}

// Check refuses an answer with a missing part.
func (r EnrollResponse) Check() error {
	switch {
	case !validHost(r.Host):
		return fmt.Errorf("%w: host number %q", ErrInvalid, clip(r.Host))
	case r.Certificate == "" || r.CA == "" || r.PolicyKey == "":
		return fmt.Errorf("%w: certificate, CA or policy key missing", ErrInvalid)
	}
	return nil
}

// LogBatch is a host's audit rows First..Last, signed with the host's key. After is
// the row the office last acknowledged (0 for none): First is After+1, and PrevHash
// (the chain link) is the hash of row After as the first row's prev_hash says.
type LogBatch struct {
	Host     string    `json:"host"`    // the host's number in the office register (its certificate's CN)
	HostID   string    `json:"host_id"` // the host's own register id (every row's host_id)
	After    int64     `json:"after"`
	First    int64     `json:"first"`
	Last     int64     `json:"last"`
	PrevHash string    `json:"prev_hash"`
	Head     string    `json:"head"` // hash of row Last
	Created  time.Time `json:"created"`
	Rows     []Row     `json:"rows"`
}

// MaxLogRows bounds the rows of one log file; more wait for the next file.
const MaxLogRows = 100_000

// Row is one audit row as a log file carries it: audit.Event's fields with the time
// and details as the exact text the hash covers.
type Row struct {
	Seq       int64  `json:"seq"`
	ID        string `json:"id"`
	Time      string `json:"time"` // audit.TimeLayout
	HostID    string `json:"host_id"`
	Kind      string `json:"kind"`
	Medium    string `json:"medium,omitempty"`
	ActorUID  int    `json:"actor_uid"`
	ActorUser string `json:"actor_user"`
	Login     string `json:"actor_login,omitempty"`
	Details   string `json:"details,omitempty"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// RowOf is e as a file carries it.
func RowOf(e *audit.Event) Row {
	return Row{Seq: e.Seq, ID: e.ID, Time: e.Time.UTC().Format(audit.TimeLayout), HostID: e.HostID, Kind: string(e.Kind),
		Medium: e.Medium, ActorUID: e.Actor.UID, ActorUser: e.Actor.User, Login: e.Actor.Login, Details: string(e.Details),
		PrevHash: e.PrevHash, Hash: e.Hash}
}

// Event is the row as the audit log holds it.
func (r Row) Event() (*audit.Event, error) {
	t, err := time.Parse(audit.TimeLayout, r.Time)
	if err != nil {
		return nil, fmt.Errorf("%w: row %d: time %q", ErrInvalid, r.Seq, clip(r.Time))
	}
	e := &audit.Event{Seq: r.Seq, ID: r.ID, Time: t, HostID: r.HostID, Kind: event.Kind(r.Kind), Medium: r.Medium,
		Actor: audit.Actor{UID: r.ActorUID, User: r.ActorUser, Login: r.Login}, PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Details != "" {
		e.Details = json.RawMessage(r.Details)
	}
	return e, nil
}

// NewLogBatch makes the batch of rows (in sequence order, continuing the row after,
// as the host's log holds them).
func NewLogBatch(host string, after int64, rows []*audit.Event, now time.Time) (LogBatch, error) {
	if len(rows) == 0 {
		return LogBatch{}, fmt.Errorf("%w: no rows", ErrInvalid)
	}
	b := LogBatch{Host: host, HostID: rows[0].HostID, After: after, First: rows[0].Seq, Last: rows[len(rows)-1].Seq,
		PrevHash: rows[0].PrevHash, Head: rows[len(rows)-1].Hash, Created: now.UTC().Truncate(time.Millisecond)}
	b.Rows = make([]Row, len(rows))
	for i, e := range rows {
		b.Rows[i] = RowOf(e)
	}
	if _, err := b.Events(); err != nil {
		return LogBatch{}, err
	}
	return b, nil
}

// Events checks the batch and returns its rows: at least one and at most
// MaxLogRows, First = After+1, contiguous, each continuing the one before (the first
// continuing PrevHash), each hashing to its hash, all of one host id, ending at Last
// with hash Head.
func (b LogBatch) Events() ([]*audit.Event, error) {
	switch {
	case !validHost(b.Host):
		return nil, fmt.Errorf("%w: host number %q", ErrInvalid, clip(b.Host))
	case b.HostID == "" || len(b.HostID) > 64:
		return nil, fmt.Errorf("%w: host id", ErrInvalid)
	case len(b.Rows) == 0 || len(b.Rows) > MaxLogRows:
		return nil, fmt.Errorf("%w: %d rows (1 to %d)", ErrInvalid, len(b.Rows), MaxLogRows)
	case b.After < 0 || b.First != b.After+1 || b.Last != b.First+int64(len(b.Rows))-1:
		return nil, fmt.Errorf("%w: rows %d..%d after %d with %d rows", ErrInvalid, b.First, b.Last, b.After, len(b.Rows))
	}
	out := make([]*audit.Event, len(b.Rows))
	prev := b.PrevHash
	for i, r := range b.Rows {
		e, err := r.Event()
		if err != nil {
			return nil, err
		}
		switch {
		case e.Seq != b.First+int64(i):
			return nil, fmt.Errorf("%w: row %d where row %d belongs", ErrInvalid, e.Seq, b.First+int64(i))
		case e.HostID != b.HostID:
			return nil, fmt.Errorf("%w: row %d of host id %q in the log of %q", ErrInvalid, e.Seq, clip(e.HostID), b.HostID)
		case e.PrevHash != prev:
			return nil, fmt.Errorf("%w: row %d does not continue the row before it", ErrInvalid, e.Seq)
		case audit.ComputeHash(e) != e.Hash:
			return nil, fmt.Errorf("%w: row %d does not match its hash", ErrInvalid, e.Seq)
		}
		prev = e.Hash
		out[i] = e
	}
	if prev != b.Head {
		return nil, fmt.Errorf("%w: the last row's hash is not the head", ErrInvalid)
	}
	return out, nil
}

// validHost is a host number as the office register allows it.
func validHost(h string) bool {
	return h != "" && len(h) <= 64 && !strings.ContainsFunc(h, func(r rune) bool { return r < 0x21 || r == 0x7f })
}
