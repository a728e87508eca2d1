package control

import (
	"context"
	"sync"
	"time"
)

// Why aggregate rather than rate-limit: a refused or dropped call would leave no trace
// at all, and a status answer is cheap; what is expensive is one audit row (a SQLite
// transaction, ~0.5–2 KB with the hash chain) per call. Aggregating keeps every call
// counted in the audit log — who, which operation, how many, from when to when — at
// a cost of O(1) rows per user and interval, and needs no timer: a quiet daemon is
// never woken to write a summary.

// maxTallied bounds the (uid, operation) pairs kept between summaries. Uids come from
// SO_PEERCRED, so only root can make many; if it is ever reached, everything pending
// is written at once.
const maxTallied = 4096

type tallyKey struct {
	uid     int
	op      string // a known operation, or "" for every unknown one
	allowed bool
}

type tallyEntry struct {
	lastRow time.Time  // when this key last got a row (its own or a summary)
	pending CallRecord // calls since then not yet written; Count 0 when none
}

// tally holds the calls of users who are neither root nor officers between rows.
type tally struct {
	mu     sync.Mutex
	keys   map[tallyKey]*tallyEntry
	closed bool // after Flush at the end of Serve: every call gets its own row
}

// audit hands c to the handler now, or counts it for a later summary row. Calls of
// officers are always written at once.
func (s *Server) audit(ctx context.Context, c CallRecord, officer bool) {
	now := s.now()
	c.Count, c.First, c.Last = 1, now, now
	write := s.tallyCall(c, officer, now)
	for _, r := range write {
		s.h.Audit(ctx, r)
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) interval() time.Duration {
	if s.AuditInterval > 0 {
		return s.AuditInterval
	}
	return time.Minute
}

// tallyCall returns the records to write now, oldest first: the summaries that are
// due, then c itself unless it was counted.
func (s *Server) tallyCall(c CallRecord, officer bool, now time.Time) []CallRecord {
	t := &s.tally
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[tallyKey]*tallyEntry{}
	}
	iv := s.interval()
	var out []CallRecord
	// Summaries whose interval is over are written with the next call of anyone.
	for k, e := range t.keys {
		if now.Sub(e.lastRow) < iv {
			continue
		}
		if e.pending.Count > 0 {
			out = append(out, e.pending)
			e.pending = CallRecord{}
			e.lastRow = now
			continue
		}
		delete(t.keys, k) // nothing pending and the interval is over: forget the key
	}
	if officer || t.closed {
		return append(out, c)
	}
	k := tallyKey{uid: c.Peer.UID, allowed: c.Allowed}
	if c.Op == OpStatus || c.Op == OpRescan {
		k.op = c.Op
	}
	e := t.keys[k]
	if e == nil {
		if len(t.keys) >= maxTallied {
			out = append(out, t.drain()...)
		}
		t.keys[k] = &tallyEntry{lastRow: now}
		return append(out, c)
	}
	if e.pending.Count == 0 {
		e.pending = c
		e.pending.Tallied = true
	} else {
		first := e.pending.First
		e.pending = CallRecord{Op: c.Op, Peer: c.Peer, Allowed: c.Allowed, Count: e.pending.Count + 1, First: first, Last: now, Tallied: true}
	}
	return out
}

// drain takes every pending summary out of the tally and forgets the keys; t.mu held.
func (t *tally) drain() []CallRecord {
	var out []CallRecord
	for _, e := range t.keys {
		if e.pending.Count > 0 {
			out = append(out, e.pending)
		}
	}
	t.keys = map[tallyKey]*tallyEntry{}
	return out
}

// Flush writes every pending summary of counted calls now.
func (s *Server) Flush(ctx context.Context) { s.flush(ctx, false) }

// flush writes every pending summary; with closing set every later call gets its
// own row (Serve ends with it, so the counts reach the audit log at shutdown and a
// call still being answered is not left in a tally nobody writes).
func (s *Server) flush(ctx context.Context, closing bool) {
	s.tally.mu.Lock()
	out := s.tally.drain()
	s.tally.closed = s.tally.closed || closing
	s.tally.mu.Unlock()
	for _, r := range out {
		s.h.Audit(ctx, r)
	}
}
