// Package control is the daemon's control socket: the protocol (one JSON request line,
// one JSON answer line), the server (accept loop, peer credentials by SO_PEERCRED,
// the officer-group check) and the client. The server serves a Handler, which the
// daemon implements; the package knows nothing of decisions itself.
//
// Status is open to every local user (a caller who is neither root nor an officer gets
// a status of their own media only, without serials); every other operation needs
// root or the officer group. Every call, allowed or not, is handed to Handler.Audit:
// each call of root or an officer on its own, the calls of other users one row per
// user, operation and interval (see Server.AuditInterval), so that no local user can
// fill the disk with audit rows. Connections are served at most MaxConns at once, and
// at most MaxConnsPerUser of one user who is neither root nor an officer.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Operations.
const (
	OpStatus = "status" // the daemon's state; open to every local user
	OpRescan = "rescan" // decide every present device again; root or officers
)

// Request is the one JSON line a client sends.
type Request struct {
	Op string `json:"op"`
}

// Response is the one JSON line the daemon answers. Status is the daemon's status
// (daemon.Status) as the handler gave it.
type Response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Status json.RawMessage `json:"status,omitempty"`
}

// DecodeStatus decodes the status of an answer into v.
func (r Response) DecodeStatus(v any) error {
	if len(r.Status) == 0 {
		return errors.New("the answer has no status")
	}
	if err := json.Unmarshal(r.Status, v); err != nil {
		return fmt.Errorf("decode status: %w", err)
	}
	return nil
}

// Peer is who is on the other end of a connection, from SO_PEERCRED.
type Peer struct {
	UID, GID, PID int
}

// CallRecord is one request, or a run of one user's requests, as the server handled
// it, for the audit log.
type CallRecord struct {
	Op      string // cut to 64 bytes
	Peer    Peer   // of the last call when Count > 1
	Allowed bool
	// Count is the number of calls the record stands for: 1 for a call audited on its
	// own, more for the summary of one user's repeated calls of one operation
	// (Server.AuditInterval); First and Last are the times of the first and last.
	Count       int
	First, Last time.Time
	// Tallied is set for a record written after the calls it counts (a summary):
	// its audit row carries count, first and last.
	Tallied bool
}

// Summary reports whether the record was counted and written later (Tallied).
func (c CallRecord) Summary() bool { return c.Tallied }

// Viewer is who asks for the status.
type Viewer struct {
	UID int
	// Login is the caller's login name (from the uid); "" when the uid has none.
	Login string
	// Officer is set for root and the officer group: they see everything.
	Officer bool
}

// Handler is what the server serves.
type Handler interface {
	// Status returns the status to send to v. A viewer who is not an officer must
	// see only devices that are theirs (registered to v.Login as custodian or holder)
	// or registered to nobody, and no serials, identity keys or hashes.
	Status(ctx context.Context, v Viewer) any
	// Rescan decides every present device again.
	Rescan(ctx context.Context)
	// Audit records one call.
	Audit(ctx context.Context, c CallRecord)
}

// ErrDenied is the error text of a refused change.
var ErrDenied = errors.New("permission denied: only root and the officer group may change the daemon")

// Server answers control connections for a Handler.
type Server struct {
	h Handler
	// OfficerGroup names the group whose members may change things besides root;
	// empty for root only.
	OfficerGroup string
	// MaxConns bounds the connections served at once (default 16); further ones
	// wait in the listen queue.
	MaxConns int
	// MaxConnsPerUser bounds the connections of one user who is neither root nor an
	// officer served at once (default 4); one more is answered "too many
	// connections" and closed at once, without an audit row (a row each would be the
	// flood again). So one user holding silent connections cannot keep root and the
	// officers waiting for the MaxConns slots.
	MaxConnsPerUser int
	// ReadTimeout bounds how long a client may take to send its request (default 5 s);
	// WriteTimeout how long it may take to read the answer (default 30 s).
	ReadTimeout, WriteTimeout time.Duration
	// AuditInterval is how often at most a user who is neither root nor an officer
	// gets an audit row of its own for one operation (default one minute): the first
	// call in an interval is audited at once, the calls after it are counted and
	// written as one summary row when that user's next call or any call after the
	// interval comes, or at Flush (Serve calls it when it ends).
	AuditInterval time.Duration
	// LoginOf names the login of a uid ("" if none); default: the user database.
	LoginOf func(uid int) string
	// Now is the clock of the audit summaries (default time.Now).
	Now func() time.Time
	Log *slog.Logger

	groupsOf    func(uid int) []string
	lookupGroup func(name string) (gid string, err error)
	sleep       func(time.Duration)
	peerOf      func(*net.UnixConn) (Peer, error) // SO_PEERCRED; tests stand in
	tally       tally
	users       userConns
}

// NewServer returns a server of h with the default limits.
func NewServer(h Handler, officerGroup string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{h: h, OfficerGroup: officerGroup, MaxConns: 16, MaxConnsPerUser: 4, ReadTimeout: 5 * time.Second,
		WriteTimeout: 30 * time.Second, AuditInterval: time.Minute, LoginOf: loginName, Now: time.Now,
		Log: log.With("component", "control"), groupsOf: userGroups, lookupGroup: groupID, sleep: time.Sleep,
		peerOf: peerCred}
}

func loginName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}

func userGroups(uid int) []string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil
	}
	g, _ := u.GroupIds()
	return g
}

func groupID(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

// MayChange reports whether the peer may change something: root, or a member
// (primary or supplementary) of the officer group. An unknown group admits nobody.
func (s *Server) MayChange(p Peer) bool {
	if p.UID == 0 {
		return true
	}
	if s.OfficerGroup == "" {
		return false
	}
	gid, err := s.lookupGroup(s.OfficerGroup)
	if err != nil {
		return false
	}
	return strconv.Itoa(p.GID) == gid || slices.Contains(s.groupsOf(p.UID), gid)
}

// Listen creates the socket (removing a stale one), readable and writable by
// everyone: status is public, changes are checked per call by peer credentials.
func Listen(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// Listener is what Serve accepts from; *net.UnixListener is one.
type Listener interface {
	AcceptUnix() (*net.UnixConn, error)
	Close() error
}

// Serve answers connections until ctx ends (then it returns nil) or the listener is
// closed. An accept error (too many open files, a connection aborted before it was
// accepted …) does not end the socket: Serve waits a little, longer each time up to a
// second, and accepts again.
//
// When Serve returns, the counted calls of other users are written (Flush), and calls
// still being answered are audited one row each.
func (s *Server) Serve(ctx context.Context, ln Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.flush(context.WithoutCancel(ctx), true)
	limit := s.MaxConns
	if limit <= 0 {
		limit = 16
	}
	slots := make(chan struct{}, limit)
	var backoff time.Duration
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.AcceptUnix()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("control socket closed: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Log.Warn("accept on the control socket failed; retrying", "err", err, "in", backoff)
			s.sleep(backoff)
			continue
		}
		backoff = 0
		go func() {
			defer func() { <-slots }()
			s.handle(ctx, conn)
		}()
	}
}

func (s *Server) handle(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	rt, wt := s.ReadTimeout, s.WriteTimeout
	if rt <= 0 {
		rt = 5 * time.Second
	}
	if wt <= 0 {
		wt = 30 * time.Second
	}
	_ = conn.SetReadDeadline(time.Now().Add(rt))
	peer, err := s.peerOf(conn)
	if err != nil {
		s.Log.Warn("control connection without credentials", "err", err)
		return
	}
	if !s.MayChange(peer) {
		limit := s.MaxConnsPerUser
		if limit <= 0 {
			limit = 4
		}
		if !s.users.acquire(peer.UID, limit) {
			s.Log.Debug("control connection turned away: too many of this user's", "uid", peer.UID, "pid", peer.PID)
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = json.NewEncoder(conn).Encode(Response{Error: "too many connections"})
			return
		}
		defer s.users.release(peer.UID)
	}
	var req Request
	line, err := bufio.NewReaderSize(conn, 4096).ReadSlice('\n')
	_ = conn.SetWriteDeadline(time.Now().Add(wt))
	if err != nil || json.Unmarshal(line, &req) != nil {
		_ = json.NewEncoder(conn).Encode(Response{Error: "bad request"})
		return
	}
	resp := s.Do(ctx, peer, req)
	_ = conn.SetWriteDeadline(time.Now().Add(wt))
	_ = json.NewEncoder(conn).Encode(resp)
}

// Do carries out one request for peer and has the handler audit it.
func (s *Server) Do(ctx context.Context, peer Peer, req Request) Response {
	var resp Response
	allowed := true
	officer := s.MayChange(peer)
	switch req.Op {
	case OpStatus:
		v := Viewer{UID: peer.UID, Officer: officer}
		if !officer && s.LoginOf != nil {
			v.Login = s.LoginOf(peer.UID)
		}
		b, err := json.Marshal(s.h.Status(ctx, v))
		if err != nil {
			resp = Response{Error: fmt.Sprintf("encode status: %v", err)}
		} else {
			resp = Response{OK: true, Status: b}
		}
	case OpRescan:
		if allowed = officer; allowed {
			s.h.Rescan(ctx)
			resp = Response{OK: true}
		} else {
			resp = Response{Error: ErrDenied.Error()}
		}
	default:
		allowed = false
		resp = Response{Error: fmt.Sprintf("unknown operation %q", cut(req.Op, 64))}
	}
	op := cut(req.Op, 64)
	s.Log.Debug("control call", "op", op, "uid", peer.UID, "pid", peer.PID, "allowed", allowed)
	s.audit(ctx, CallRecord{Op: op, Peer: peer, Allowed: allowed}, officer)
	return resp
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Call sends one request to the daemon at path and returns its answer; an answer
// that is not OK is returned with its error.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return Response{}, err
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("read answer: %w", err)
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// userConns counts the connections being served per uid.
type userConns struct {
	mu sync.Mutex
	n  map[int]int
}

// acquire takes one of uid's limit connections; false when uid has them all.
func (u *userConns) acquire(uid, limit int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[uid] >= limit {
		return false
	}
	if u.n == nil {
		u.n = map[int]int{}
	}
	u.n[uid]++
	return true
}

func (u *userConns) release(uid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[uid]--; u.n[uid] <= 0 {
		delete(u.n, uid)
	}
}
