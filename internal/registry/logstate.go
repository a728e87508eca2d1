package registry

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"
)

// An SQLite register in WAL mode keeps an index of its write-ahead log in the -shm
// file, which every connection maps. The index starts with a header that every commit
// rewrites, and in it a counter that every commit moves on by one (iChange). So two
// equal headers mean that nobody committed in between — exactly, where the log file's
// status says so only as finely as the kernel's clock tick stamps a file — and a
// header whose counter is one past another's is the state after one commit. The
// daemon's index of the register asks this before each event's first register read
// (regindex.Registry), instead of a query, and learns from its own appends to the log
// (LastAppend) when the only commit since it last looked was its own.

// walIndexHdrSize is the size of SQLite's WalIndexHdr; the -shm file starts with two
// copies of it, which a writer updates one after the other.
const walIndexHdrSize = 48

// walIndexVersion is WALINDEX_MAX_VERSION, the header's first field.
const walIndexVersion = 3007000

// LogState is a commit state of an SQLite register: its WAL index header. The zero
// LogState is an unknown state, equal to no state read.
type LogState struct{ hdr [walIndexHdrSize]byte }

// Known reports whether l was read.
func (l LogState) Known() bool { return l != LogState{} }

// commits is the header's commit counter (iChange).
func (l LogState) commits() uint32 { return binary.NativeEndian.Uint32(l.hdr[8:12]) }

// OneCommitAfter reports whether l is the state after exactly one commit since prev:
// both known, and the counter one past prev's.
func (l LogState) OneCommitAfter(prev LogState) bool {
	return l.Known() && prev.Known() && l.commits() == prev.commits()+1
}

// parseLogState takes the state from the first bytes of a -shm file: both copies of
// the header whole and equal (else a writer is halfway through them), initialised,
// and of the version this reader knows.
func parseLogState(b []byte) (LogState, bool) {
	if len(b) < 2*walIndexHdrSize {
		return LogState{}, false
	}
	h0, h1 := b[:walIndexHdrSize], b[walIndexHdrSize:2*walIndexHdrSize]
	if !bytes.Equal(h0, h1) || binary.NativeEndian.Uint32(h0[0:4]) != walIndexVersion || h0[12] == 0 {
		return LogState{}, false
	}
	var l LogState
	copy(l.hdr[:], h0)
	return l, true
}

// LogState reads the register's commit state now: two system calls (headFile), no
// query. ok is false on PostgreSQL and when the state cannot be read (no -shm file: no
// connection has the register open; a writer halfway through the header).
func (s *Store) LogState() (l LogState, ok bool) {
	if s.d.engine != SQLite {
		return LogState{}, false
	}
	var b [2 * walIndexHdrSize]byte
	n, err := s.shm.read(b[:])
	if err != nil {
		return LogState{}, false
	}
	return parseLogState(b[:n])
}

// OwnAppend is what the store knows of its last batch of audit rows (RecordEvents on
// SQLite): the commit state read right after its commit, whether every row is of a
// kind outside the register (KindsOutsideRegister), and the log's head after it. When
// After is one commit past a state the reader had checked, that one commit was this
// batch: no other came between the check and it, nor between its commit and the read.
type OwnAppend struct {
	After   LogState
	Outside bool
	Head    int64
}

// ownAppends keeps the last OwnAppend.
type ownAppends struct {
	mu   sync.Mutex
	last OwnAppend
	ok   bool
}

func (o *ownAppends) set(a OwnAppend) {
	o.mu.Lock()
	o.last, o.ok = a, true
	o.mu.Unlock()
}

// LastAppend returns the store's last batch of audit rows on SQLite; ok is false
// before the first.
func (s *Store) LastAppend() (OwnAppend, bool) {
	s.own.mu.Lock()
	defer s.own.mu.Unlock()
	return s.own.last, s.own.ok
}

// outsideRegister reports whether every row is of a kind outside the register.
func outsideRegister(rows []EventRow) bool {
	for _, r := range rows {
		if !slices.Contains(KindsOutsideRegister, r.Kind) {
			return false
		}
	}
	return true
}
