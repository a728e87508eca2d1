package registry

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// Every commit, by any connection, moves the state on by one; reading changes nothing.
func TestLogStateFollowsCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	st := func() LogState {
		t.Helper()
		l, ok := s.LogState()
		if !ok || !l.Known() {
			t.Fatal("no commit state of an open register")
		}
		return l
	}
	a := st()
	if _, err := s.ListPeople(ctx, true); err != nil {
		t.Fatal(err)
	}
	if b := st(); b != a {
		t.Error("a read changed the state")
	}
	if _, err := other.AddPerson(ctx, media.Person{Handle: "li", Name: "李四"}); err != nil {
		t.Fatal(err)
	}
	b := st()
	if !b.OneCommitAfter(a) {
		t.Errorf("another connection's commit: %d → %d", a.commits(), b.commits())
	}
	if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, "", event.DeviceDecision{Stage: "usb-device"}); err != nil {
		t.Fatal(err)
	}
	if c := st(); !c.OneCommitAfter(b) {
		t.Errorf("a commit: %d → %d", b.commits(), c.commits())
	}
}

// A batch of rows records the state right after its commit, one commit past the one
// before it; a commit by someone else right after the batch's shows as a second.
func TestLastAppend(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(ctx, path, WithConnections(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.LastAppend(); ok {
		t.Error("a last append before any")
	}
	decision := EventRow{Kind: event.KindDeviceDecision, Details: event.DeviceDecision{Stage: "usb-device"}}
	before, _ := s.LogState()
	if err := s.RecordEvents(ctx, []EventRow{decision, decision}); err != nil {
		t.Fatal(err)
	}
	a, ok := s.LastAppend()
	now, _ := s.LogState()
	if !ok || a.After != now || !a.After.OneCommitAfter(before) || !a.Outside || a.Head <= 0 {
		t.Fatalf("last append %+v (ok %v); state before %v, now %v", a, ok, before.Known(), now.Known())
	}
	if err := s.RecordEvents(ctx, []EventRow{decision, {Kind: event.KindMediumLost, Medium: "S-1", Details: event.MediumStatus{}}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.LastAppend(); b.Outside || b.Head != a.Head+2 {
		t.Errorf("a batch with a register row: %+v", b)
	}

	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s.afterCommit = func() {
		if _, err := other.AddPerson(ctx, media.Person{Handle: "li", Name: "李四"}); err != nil {
			t.Error(err)
		}
	}
	before, _ = s.LogState()
	if err := s.RecordEvents(ctx, []EventRow{decision}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.LastAppend(); c.After.OneCommitAfter(before) || !c.After.Known() {
		t.Error("a commit right after the batch's is not seen")
	}
}

func TestParseLogState(t *testing.T) {
	var hdr [walIndexHdrSize]byte
	binary.NativeEndian.PutUint32(hdr[0:], walIndexVersion)
	binary.NativeEndian.PutUint32(hdr[8:], 41)
	hdr[12] = 1
	both := append(hdr[:], hdr[:]...)
	l, ok := parseLogState(append(both, 0xff))
	if !ok || l.commits() != 41 || !l.Known() {
		t.Fatalf("parse = %v, %v", l.commits(), ok)
	}
	next := bytes.Clone(both)
	binary.NativeEndian.PutUint32(next[8:], 42)
	binary.NativeEndian.PutUint32(next[walIndexHdrSize+8:], 42)
	if m, ok := parseLogState(next); !ok || !m.OneCommitAfter(l) || l.OneCommitAfter(m) {
		t.Error("42 is not one commit after 41")
	}
	bad := func(what string, b []byte) {
		t.Helper()
		if _, ok := parseLogState(b); ok {
			t.Errorf("%s: parsed", what)
		}
	}
	bad("short", both[:2*walIndexHdrSize-1])
	torn := bytes.Clone(both)
	torn[walIndexHdrSize+20]++
	bad("copies differ", torn)
	uninit := bytes.Clone(both)
	uninit[12], uninit[walIndexHdrSize+12] = 0, 0
	bad("not initialised", uninit)
	other := bytes.Clone(both)
	other[0]++
	other[walIndexHdrSize]++
	bad("another version", other)
	if (LogState{}).OneCommitAfter(LogState{}) {
		t.Error("unknown states follow each other")
	}
}

func FuzzParseLogState(f *testing.F) {
	var hdr [walIndexHdrSize]byte
	binary.NativeEndian.PutUint32(hdr[0:], walIndexVersion)
	hdr[12] = 1
	f.Add(append(hdr[:], hdr[:]...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ok := parseLogState(b)
		if ok != l.Known() && ok {
			t.Fatal("parsed an unknown state")
		}
		if ok && (!bytes.Equal(b[:walIndexHdrSize], b[walIndexHdrSize:2*walIndexHdrSize]) || !bytes.Equal(l.hdr[:], b[:walIndexHdrSize])) {
			t.Fatal("parsed a torn header")
		}
	})
}

// headFile reads a file's first bytes, all of a shorter one, and no symbolic link.
func TestHeadFileReadsTheHead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	if n, err := newHeadFile(p).read(b[:]); err != nil || string(b[:n]) != "0123" {
		t.Errorf("read 4 = %q, %v", b[:n], err)
	}
	var long [32]byte
	if n, err := newHeadFile(p).read(long[:]); err != nil || string(long[:n]) != "0123456789" {
		t.Errorf("read 32 = %q, %v", long[:n], err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if _, err := newHeadFile(link).read(b[:]); err == nil && runtime.GOOS == "linux" {
		t.Error("a symbolic link was followed")
	}
	if _, err := newHeadFile(filepath.Join(dir, "missing")).read(b[:]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// headFile reads the file at its path now: afresh at every read, and the new one
// after the file was removed and created again, never the removed one.
func TestHeadFileReadsTheFileAtItsPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0123456789")
	h := newHeadFile(p)
	defer h.close()
	var b [4]byte
	got := func() string {
		t.Helper()
		n, err := h.read(b[:])
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b[:n])
	}
	if s := got(); s != "0123" {
		t.Errorf("first read %q", s)
	}
	write("abcdefgh") // the same file, rewritten
	if s := got(); s != "abcd" {
		t.Errorf("after a rewrite %q", s)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	write("WXYZ") // removed and created anew
	if s := got(); s != "WXYZ" {
		t.Errorf("after the file was created anew %q (the removed one?)", s)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := h.read(b[:]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
	write("1234")
	if s := got(); s != "1234" {
		t.Errorf("created after a failed read %q", s)
	}
	h.close()
	if s := got(); s != "1234" {
		t.Errorf("after close %q", s)
	}
}
