package control

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeHandler is an in-memory Handler.
type fakeHandler struct {
	mu      sync.Mutex
	calls   []CallRecord
	viewers []Viewer
	rescans atomic.Int32
	running atomic.Int32
	peak    atomic.Int32
	hold    chan struct{} // when set, Rescan waits for it to be closed
}

func (h *fakeHandler) Status(_ context.Context, v Viewer) any {
	h.mu.Lock()
	h.viewers = append(h.viewers, v)
	h.mu.Unlock()
	return map[string]any{"state": "running", "redacted": !v.Officer}
}

func (h *fakeHandler) Rescan(ctx context.Context) {
	n := h.running.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if h.hold != nil {
		<-h.hold
	}
	h.rescans.Add(1)
	h.running.Add(-1)
}

func (h *fakeHandler) Audit(_ context.Context, c CallRecord) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
}

func serve(t *testing.T, h Handler, tune func(*Server)) (string, *Server) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, "", nil)
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	})
	return sock, s
}

func call(t *testing.T, sock string, op string) (Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Call(ctx, sock, Request{Op: op})
}

func TestCallsAndTheirAudit(t *testing.T) {
	h := &fakeHandler{}
	sock, _ := serve(t, h, nil)
	resp, err := call(t, sock, OpStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		State    string `json:"state"`
		Redacted bool   `json:"redacted"`
	}
	if err := resp.DecodeStatus(&st); err != nil || st.State != "running" {
		t.Fatalf("status %+v, %v", st, err)
	}
	if st.Redacted != (os.Geteuid() != 0) {
		t.Errorf("redacted = %v for uid %d", st.Redacted, os.Geteuid())
	}
	_, err = call(t, sock, OpRescan)
	if os.Geteuid() == 0 && (err != nil || h.rescans.Load() != 1) {
		t.Errorf("rescan as root: %v, %d rescans", err, h.rescans.Load())
	}
	if os.Geteuid() != 0 && (err == nil || err.Error() != ErrDenied.Error()) {
		t.Errorf("rescan as uid %d: %v", os.Geteuid(), err)
	}
	if _, err := call(t, sock, strings.Repeat("x", 100)); err == nil || !strings.Contains(err.Error(), "unknown operation") {
		t.Errorf("unknown op: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) != 3 || h.calls[0].Op != OpStatus || h.calls[0].Peer.UID != os.Getuid() || h.calls[0].Peer.PID != os.Getpid() ||
		!h.calls[0].Allowed || h.calls[2].Allowed || len(h.calls[2].Op) != 64 {
		t.Errorf("audited calls %+v", h.calls)
	}
}

func TestBadRequest(t *testing.T) {
	sock, _ := serve(t, &fakeHandler{}, nil)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("{not json\n"))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), `"error":"bad request"`) {
		t.Errorf("answer %q", b)
	}
}

func TestOnlyRootAndOfficersChange(t *testing.T) {
	h := &fakeHandler{}
	s := NewServer(h, "", nil)
	ctx := context.Background()
	if r := s.Do(ctx, Peer{UID: 1000, GID: 1000}, Request{Op: OpRescan}); r.OK || r.Error != ErrDenied.Error() {
		t.Errorf("non-root rescan: %+v", r)
	}
	s.LoginOf = func(uid int) string {
		if uid == 1000 {
			return "alice"
		}
		return ""
	}
	if r := s.Do(ctx, Peer{UID: 1000, GID: 1000}, Request{Op: OpStatus}); !r.OK ||
		h.viewers[len(h.viewers)-1] != (Viewer{UID: 1000, Login: "alice"}) {
		t.Errorf("non-root status: %+v, viewers %v", r, h.viewers)
	}
	if r := s.Do(ctx, Peer{UID: 0}, Request{Op: OpStatus}); !r.OK || !h.viewers[len(h.viewers)-1].Officer {
		t.Errorf("root status: %+v, viewers %v", r, h.viewers)
	}
	if r := s.Do(ctx, Peer{UID: 0}, Request{Op: OpRescan}); !r.OK {
		t.Errorf("root rescan refused: %+v", r)
	}
	s.OfficerGroup = "officers"
	s.lookupGroup = func(name string) (string, error) {
		if name == "officers" {
			return "4242", nil
		}
		return "", errors.New("no such group")
	}
	s.groupsOf = func(uid int) []string {
		if uid == 1001 {
			return []string{"100", "4242"}
		}
		return []string{"100"}
	}
	for _, tc := range []struct {
		p    Peer
		want bool
	}{
		{Peer{UID: 1001, GID: 1001}, true}, // supplementary group
		{Peer{UID: 1002, GID: 4242}, true}, // primary group
		{Peer{UID: 1003, GID: 1003}, false},
	} {
		if got := s.MayChange(tc.p); got != tc.want {
			t.Errorf("MayChange(%+v) = %v", tc.p, got)
		}
	}
	s.OfficerGroup = "gone"
	if s.MayChange(Peer{UID: 1001, GID: 4242}) {
		t.Error("an unknown officer group admitted someone")
	}
	last := h.calls[len(h.calls)-1]
	if last.Op != OpRescan || last.Peer.UID != 0 || !last.Allowed {
		t.Errorf("last audited call %+v", last)
	}
}

// flakyListener fails its first accepts with an error that is not a timeout, as
// accept(2) does when the process is out of file descriptors.
type flakyListener struct {
	*net.UnixListener
	fails atomic.Int32
}

func (l *flakyListener) AcceptUnix() (*net.UnixConn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.UnixListener.AcceptUnix()
}

func TestAcceptErrorsAreRetried(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{UnixListener: ln}
	fl.fails.Store(5)
	s := NewServer(&fakeHandler{}, "", nil)
	var waits []time.Duration
	s.sleep = func(d time.Duration) { waits = append(waits, d) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, fl) }()
	if _, err := call(t, sock, OpStatus); err != nil {
		t.Fatalf("status after accept errors: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if len(waits) != 5 || waits[0] != 5*time.Millisecond || waits[4] != 80*time.Millisecond {
		t.Errorf("backoff %v", waits)
	}
}

func TestServeEndsWhenTheListenerIsClosed(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(&fakeHandler{}, "", nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve kept running on a closed listener")
	}
}

// TestConnectionsAreCapped: at most MaxConns connections are served at once; the
// others wait and are served when a slot frees.
func TestConnectionsAreCapped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("rescan needs root as the peer")
	}
	h := &fakeHandler{hold: make(chan struct{})}
	sock, _ := serve(t, h, func(s *Server) { s.MaxConns = 2 })
	errs := make(chan error, 5)
	for range 5 {
		go func() { _, err := call(t, sock, OpRescan); errs <- err }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // give a third connection the chance to (wrongly) start
	if n := h.running.Load(); n != 2 {
		t.Errorf("%d calls served at once, want 2", n)
	}
	close(h.hold)
	for range 5 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if h.rescans.Load() != 5 || h.peak.Load() != 2 {
		t.Errorf("%d rescans, at most %d at once", h.rescans.Load(), h.peak.Load())
	}
}

// TestSilentClientIsDropped: a client that connects and sends nothing holds its slot
// only until the read deadline.
func TestSilentClientIsDropped(t *testing.T) {
	sock, _ := serve(t, &fakeHandler{}, func(s *Server) { s.MaxConns = 1; s.ReadTimeout = 200 * time.Millisecond })
	idle, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	b, err := io.ReadAll(idle) // the server answers "bad request" and closes
	if err != nil || !strings.Contains(string(b), "bad request") {
		t.Fatalf("silent client got %q, %v", b, err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("dropped after %v", waited)
	}
	if _, err := call(t, sock, OpStatus); err != nil {
		t.Errorf("status after the silent client: %v", err)
	}
}

// TestUnprivilegedCallsAreCounted: a flood of calls by one user who is neither root nor
// an officer is audited as one row at once and one summary row per interval, with the
// count; root's calls get a row each; Flush and the end of Serve write what is pending.
func TestUnprivilegedCallsAreCounted(t *testing.T) {
	h := &fakeHandler{}
	s := NewServer(h, "", nil)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	s.AuditInterval = time.Minute
	ctx := context.Background()
	alice := Peer{UID: 1000, GID: 1000, PID: 77}
	const n = 5000
	for i := range n {
		if i == n/2 {
			now = now.Add(10 * time.Second)
		}
		s.Do(ctx, alice, Request{Op: OpStatus})
	}
	for range 3 {
		s.Do(ctx, alice, Request{Op: OpRescan}) // refused: counted apart from status
	}
	s.Do(ctx, Peer{UID: 0}, Request{Op: OpStatus})
	s.Do(ctx, Peer{UID: 0}, Request{Op: OpStatus})
	h.mu.Lock()
	got := append([]CallRecord(nil), h.calls...)
	h.mu.Unlock()
	// alice's first status, her first refused rescan, root's two calls
	if len(got) != 4 || got[0].Op != OpStatus || got[0].Count != 1 || got[0].Summary() || got[1].Op != OpRescan || got[1].Allowed ||
		got[2].Peer.UID != 0 || got[3].Peer.UID != 0 {
		t.Fatalf("rows before the interval ends: %+v", got)
	}

	now = now.Add(time.Minute) // the next call of anyone writes the summaries that are due
	s.Do(ctx, Peer{UID: 0}, Request{Op: OpStatus})
	h.mu.Lock()
	got = append([]CallRecord(nil), h.calls[4:]...)
	h.mu.Unlock()
	counts := map[string]CallRecord{}
	for _, c := range got {
		counts[c.Op+"/"+strconv.Itoa(c.Peer.UID)] = c
	}
	st, rs := counts["status/1000"], counts["rescan/1000"]
	if len(got) != 3 || st.Count != n-1 || !st.Summary() || st.Peer.PID != 77 || !st.Last.After(st.First) ||
		rs.Count != 2 || rs.Allowed {
		t.Fatalf("rows after the interval: %+v", got)
	}

	s.Do(ctx, alice, Request{Op: OpStatus}) // counted again: alice had a row just now
	if len(h.calls) != 7 {
		t.Fatalf("a call within the new interval was written at once: %+v", h.calls[7:])
	}
	s.Flush(ctx)
	if len(h.calls) != 8 || h.calls[7].Count != 1 || !h.calls[7].Summary() || h.calls[7].Peer.UID != 1000 {
		t.Fatalf("flush: %+v", h.calls[7:])
	}
	total := 0
	for _, c := range h.calls {
		if c.Peer.UID == 1000 && c.Op == OpStatus {
			total += c.Count
		}
	}
	if total != n+1 {
		t.Errorf("alice's status calls add up to %d, want %d", total, n+1)
	}
}

// TestServeFlushesAtTheEnd: counted calls reach the handler when Serve stops, and a
// call answered after that gets its own row.
func TestServeFlushesAtTheEnd(t *testing.T) {
	h := &fakeHandler{}
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	alice := Peer{UID: 1000, GID: 1000}
	for range 10 {
		s.Do(ctx, alice, Request{Op: OpStatus})
	}
	if len(h.calls) != 1 {
		t.Fatalf("before the end: %+v", h.calls)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(h.calls) != 2 || h.calls[0].Count+h.calls[1].Count != 10 {
		t.Errorf("after Serve: %+v", h.calls)
	}
	s.Do(context.Background(), alice, Request{Op: OpStatus})
	if len(h.calls) != 3 {
		t.Errorf("a call after the end was not written: %+v", h.calls)
	}
}

// TestOneUserCannotTakeEverySlot: connections of one user who is neither root nor an
// officer are served at most MaxConnsPerUser at once; one more is answered "busy" and
// closed at once, so that user holding silent connections cannot keep root (or an
// officer's rescan after a register change) waiting for the slots.
func TestOneUserCannotTakeEverySlot(t *testing.T) {
	var asRoot atomic.Bool
	sock, srv := serve(t, &fakeHandler{}, func(s *Server) {
		s.MaxConns, s.MaxConnsPerUser, s.ReadTimeout = 3, 2, time.Minute
		s.peerOf = func(*net.UnixConn) (Peer, error) {
			if asRoot.Load() {
				return Peer{UID: 0, GID: 0, PID: 1}, nil
			}
			return Peer{UID: 1000, GID: 1000, PID: 4242}, nil
		}
	})
	// uid 1000 holds two connections without a request: both are being served.
	for range 2 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// Dial returns before the server has taken the connection: wait until both are
	// being served, or the third could be taken first and one of these turned away.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		srv.users.mu.Lock()
		n := srv.users.n[1000]
		srv.users.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server took %d of uid 1000's connections; want 2", n)
		}
	}
	// Its third is turned away at once, with an answer.
	third, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(third)
	if err != nil || !strings.Contains(string(b), "too many connections") {
		t.Errorf("third connection of one user got %q, %v; want it turned away", b, err)
	}
	// Root still has a slot (without the per-user limit the third connection would
	// hold the last one for the whole read timeout, a minute here).
	asRoot.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Call(ctx, sock, Request{Op: OpStatus}); err != nil {
		t.Errorf("root's status while one user holds connections: %v", err)
	}
}
