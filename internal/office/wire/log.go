package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// PathLog is the endpoint of an enrolled host's audit log: GET answers the office's
// acknowledgement of the host's head, POST takes a LogBatch and answers the new one.
const PathLog = "/v1/host/log"

// MaxLogBody is the largest log batch the server reads (8 MiB); a host sends at most
// MaxLogRows rows and keeps a batch under MaxLogBody.
const (
	MaxLogBody = 8 << 20
	MaxLogRows = 2000
)

// LogRow is one row of a host's audit log as sent: the columns of the log, the
// details as the exact bytes the hash covers (a string, so that no JSON encoder
// re-formats them).
type LogRow struct {
	Seq       int64  `json:"seq"`
	ID        string `json:"id"`
	Time      string `json:"time"` // audit.TimeLayout
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

// LogBatch is the body of POST /v1/host/log: rows of the host's log in order, from
// the row the office acknowledged last on. Head marks a batch of one row that is the
// host's newest: the host no longer holds the office's head (its log ends before it).
type LogBatch struct {
	Rows []LogRow `json:"rows"`
	Head bool     `json:"head,omitempty"`
}

// LogAnswer answers GET and POST /v1/host/log: the office's acknowledgement of the
// host's head, nil when it holds no row of the host yet.
type LogAnswer struct {
	Ack *anchor.Ack `json:"ack"`
}

// Codes of log refusals (Error.Code; Error.Seq carries the row).
const (
	// The batch starts after the office's head: send from Seq+1.
	CodeLogGap = "office.log-gap"
	// The host's chain is broken at row Seq; nothing more is taken.
	CodeLogBroken = "office.log-broken"
)

// RowOf encodes a row for sending.
func RowOf(e *audit.Event) LogRow {
	return LogRow{Seq: e.Seq, ID: e.ID, Time: e.Time.UTC().Format(audit.TimeLayout), HostID: e.HostID, Kind: string(e.Kind),
		Medium: e.Medium, ActorUID: e.Actor.UID, ActorUser: e.Actor.User, ActorSudo: e.Actor.Login, Details: string(e.Details),
		PrevHash: e.PrevHash, Hash: e.Hash}
}

// ErrBadRow: a row of a batch cannot be read.
var ErrBadRow = errors.New("bad log row")

// Event decodes a row received. It checks only that the row can be read (its time);
// the ledger checks the rest.
func (r LogRow) Event() (*audit.Event, error) {
	t, err := time.Parse(audit.TimeLayout, r.Time)
	if err != nil {
		return nil, fmt.Errorf("%w %d: time %q", ErrBadRow, r.Seq, r.Time)
	}
	e := &audit.Event{Seq: r.Seq, ID: r.ID, Time: t, HostID: r.HostID, Kind: event.Kind(r.Kind), Medium: r.Medium,
		Actor: audit.Actor{UID: r.ActorUID, User: r.ActorUser, Login: r.ActorSudo}, PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Details != "" {
		e.Details = json.RawMessage(r.Details)
	}
	return e, nil
}

// Events decodes the rows of a batch.
func (b LogBatch) Events() ([]*audit.Event, error) {
	if len(b.Rows) > MaxLogRows {
		return nil, fmt.Errorf("%w: %d rows, at most %d", ErrBadRow, len(b.Rows), MaxLogRows)
	}
	out := make([]*audit.Event, 0, len(b.Rows))
	for _, r := range b.Rows {
		e, err := r.Event()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
