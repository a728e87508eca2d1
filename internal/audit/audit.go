// Package audit defines mediagate's tamper-evident event log: every registry change and
// every device event is one append-only row, chained to the previous row by a SHA-256
// hash over a canonical encoding. Verify walks the rows and names the first one that was
// edited, deleted, inserted or reordered.
//
// The package holds the chain logic only; the registry stores the rows in the same
// transaction as the change they record, and package event owns the kinds of rows
// and what their details say.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"time"

	"mediagate/internal/event"
)

// TimeLayout is how event times are stored: UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// GenesisHash is the previous hash of the first row.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Actor is who caused an event: the real user of the process, and the person who logged
// in behind it when that is someone else (root reached through sudo or su). Both come
// from the kernel (the process's uid and its audit login uid), never from the
// environment, which the caller controls.
//
// Login is stored in the column and JSON field that older releases called sudo_user;
// rows written by those releases took it from the SUDO_USER environment variable.
type Actor struct {
	UID   int    `json:"uid"`
	User  string `json:"user"`
	Login string `json:"login,omitempty"`
}

func (a Actor) String() string {
	s := fmt.Sprintf("%s(%d)", a.User, a.UID)
	if a.Login != "" {
		s += ", login " + a.Login
	}
	return s
}

// Event is one row of the log.
type Event struct {
	Seq      int64           `json:"seq"`
	ID       string          `json:"id"` // globally unique, so logs of many hosts can be merged
	Time     time.Time       `json:"time"`
	HostID   string          `json:"host_id"`
	Kind     event.Kind      `json:"kind"`
	Medium   string          `json:"medium,omitempty"` // medium number, if any
	Actor    Actor           `json:"actor"`
	Details  json.RawMessage `json:"details,omitempty"` // canonical JSON object
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	// Origin is, for a row of a host's log that the office collected, the host's
	// number in the office register; "" for a register's own rows. It is where the
	// row was read from, not part of the row: the hash does not cover it.
	Origin string `json:"origin,omitempty"`
}

// Details encodes v, the details struct of the event's kind (package event), as the
// event's details. encoding/json writes struct fields in declaration order, which
// package event keeps in the order of the JSON names, so the bytes are those a map
// with sorted keys gives. The hash covers the bytes as stored: nothing re-encodes
// the details of a row once written.
func Details(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode event details: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// appendCanonical appends the byte string the hash covers to b: every field except
// Hash, each written as a length-prefixed value so that no two different rows can
// encode the same.
func appendCanonical(b []byte, e *Event) []byte {
	field := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) {
		var d [20]byte
		field(string(strconv.AppendInt(d[:0], n, 10)))
	}
	field("mediagate-audit-v1")
	num(e.Seq)
	field(e.ID)
	var t [32]byte
	field(string(e.Time.UTC().AppendFormat(t[:0], TimeLayout)))
	field(e.HostID)
	field(string(e.Kind))
	field(e.Medium)
	num(int64(e.Actor.UID))
	field(e.Actor.User)
	field(e.Actor.Login)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Details)))
	b = append(b, e.Details...)
	field(e.PrevHash)
	return b
}

// canonicalBufs recycles the buffers of ComputeHash: the log is hashed row by row,
// a million rows at a time by audit verify.
var canonicalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// ComputeHash returns the hash a row must carry.
func ComputeHash(e *Event) string {
	bp := canonicalBufs.Get().(*[]byte)
	b := appendCanonical((*bp)[:0], e)
	sum := sha256.Sum256(b)
	if cap(b) <= 64<<10 {
		*bp = b
		canonicalBufs.Put(bp)
	}
	return hex.EncodeToString(sum[:])
}

// Seal links e to the previous row (seq prevSeq, hash prevHash) and sets its hash.
// Time is truncated to milliseconds, the precision that is stored.
func Seal(e *Event, prevSeq int64, prevHash string) {
	if prevHash == "" {
		prevHash = GenesisHash
	}
	e.Seq = prevSeq + 1
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	e.PrevHash = prevHash
	e.Hash = ComputeHash(e)
}

// ErrBroken is wrapped by every verification failure.
var ErrBroken = errors.New("audit log broken")

// BrokenError names the first bad row.
type BrokenError struct {
	Seq    int64  // the row's sequence number as stored (or expected, for a gap)
	Reason string // "hash mismatch", "previous hash mismatch", "sequence gap", …
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit log broken at row %d: %s", e.Seq, e.Reason)
}

func (e *BrokenError) Unwrap() error { return ErrBroken }

// Head is the last row's sequence number and hash, kept apart from the rows so that
// removing rows from the end is noticed too.
type Head struct {
	Seq  int64
	Hash string
}

// Verify checks rows given in stored order against the chain and the recorded head.
// It returns the number of rows checked, and a *BrokenError for the first bad row.
func Verify(rows iter.Seq2[*Event, error], head Head) (int64, error) {
	var c Chain
	for e, err := range rows {
		if err != nil {
			return c.Rows(), fmt.Errorf("read audit log: %w", err)
		}
		if err := c.Add(e); err != nil {
			return c.Rows(), err
		}
	}
	return c.Rows(), c.End(head)
}

// Chain checks rows one at a time, in stored order, for a reader that walks the log
// once for several purposes (audit verify replays the register in the same pass).
// The zero value expects the first row.
type Chain struct {
	n        int64
	prevSeq  int64
	prevHash string
}

// ChainAfter returns a Chain that expects the row after h: for a copy of a log
// that starts after its first row (the office holds a host's log from the first
// row it collected), whose first row must then link to h.
func ChainAfter(h Head) *Chain { return &Chain{prevSeq: h.Seq, prevHash: h.Hash} }

// Add checks the next row; it returns a *BrokenError when the row does not continue
// the chain.
func (c *Chain) Add(e *Event) error {
	prevHash := c.prevHash
	if prevHash == "" {
		prevHash = GenesisHash
	}
	c.n++
	switch {
	case e.Seq != c.prevSeq+1:
		return &BrokenError{Seq: c.prevSeq + 1, Reason: fmt.Sprintf("sequence gap or reorder: found row %d after row %d", e.Seq, c.prevSeq)}
	case e.PrevHash != prevHash:
		return &BrokenError{Seq: e.Seq, Reason: "previous hash does not match the row before it (row inserted, deleted or reordered)"}
	case ComputeHash(e) != e.Hash:
		return &BrokenError{Seq: e.Seq, Reason: "content does not match its hash (row edited)"}
	}
	c.prevSeq, c.prevHash = e.Seq, e.Hash
	return nil
}

// Rows is the number of rows given to Add.
func (c *Chain) Rows() int64 { return c.n }

// Last is the last good row's sequence number and hash.
func (c *Chain) Last() Head { return Head{Seq: c.prevSeq, Hash: c.prevHash} }

// End checks, after the last row, that the log ends at its recorded head.
func (c *Chain) End(head Head) error {
	if c.prevSeq != head.Seq || (head.Seq > 0 && c.prevHash != head.Hash) {
		return &BrokenError{Seq: c.prevSeq + 1, Reason: fmt.Sprintf("log ends at row %d but its recorded head is row %d (rows removed from the end, or head edited)", c.prevSeq, head.Seq)}
	}
	return nil
}
