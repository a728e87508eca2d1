package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/mediagate/control.sock"

// Control-socket operations. Status is open to every local user; the others change
// something and need root or the officer group.
const (
	OpStatus = "status"
	OpRescan = "rescan"
)

// Request is one JSON line a client sends.
type Request struct {
	Op string `json:"op"`
}

// Response is the one JSON line the daemon answers.
type Response struct {
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// Peer is who is on the other end of a control connection, from SO_PEERCRED.
type Peer struct {
	UID, GID, PID int
}

// ErrDenied is the error text of a refused change.
var ErrDenied = errors.New("permission denied: only root and the officer group may change the daemon")

// Control serves the control socket.
type Control struct {
	d *Daemon
	// OfficerGroup names the group whose members may change things besides root;
	// empty for root only.
	OfficerGroup string
	// groupsOf returns the group ids of a uid (replaced in tests).
	groupsOf func(uid int) []string
}

// NewControl returns the control server of d.
func NewControl(d *Daemon, officerGroup string) *Control {
	return &Control{d: d, OfficerGroup: officerGroup, groupsOf: userGroups}
}

func userGroups(uid int) []string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil
	}
	g, _ := u.GroupIds()
	return g
}

// mayChange reports whether the peer may change something.
func (c *Control) mayChange(p Peer) bool {
	if p.UID == 0 {
		return true
	}
	if c.OfficerGroup == "" {
		return false
	}
	g, err := user.LookupGroup(c.OfficerGroup)
	if err != nil {
		return false
	}
	return strconv.Itoa(p.GID) == g.Gid || slices.Contains(c.groupsOf(p.UID), g.Gid)
}

// Listen creates the socket (removing a stale one), readable and writable by
// everyone: status is public, changes are checked per call by peer credentials.
func Listen(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
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
		return nil, err
	}
	return ln, nil
}

// Serve answers connections until ctx ends.
func (c *Control) Serve(ctx context.Context, ln *net.UnixListener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go c.handle(ctx, conn)
	}
}

func (c *Control) handle(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	peer, err := peerCred(conn)
	if err != nil {
		c.d.log.Warn("control connection without credentials", "err", err)
		return
	}
	var req Request
	line, err := bufio.NewReaderSize(conn, 4096).ReadSlice('\n')
	if err != nil || json.Unmarshal(line, &req) != nil {
		json.NewEncoder(conn).Encode(Response{Error: "bad request"})
		return
	}
	resp := c.Do(ctx, peer, req)
	json.NewEncoder(conn).Encode(resp)
}

// Do carries out one request for peer and audit-logs it.
func (c *Control) Do(ctx context.Context, peer Peer, req Request) Response {
	var resp Response
	allowed := true
	switch req.Op {
	case OpStatus:
		st := c.d.Status()
		if !c.mayChange(peer) {
			st.Redact() // serials and hashes would help someone clone a registered medium
		}
		resp = Response{OK: true, Status: &st}
	case OpRescan:
		if allowed = c.mayChange(peer); allowed {
			c.d.Rescan(ctx)
			resp = Response{OK: true}
		} else {
			resp = Response{Error: ErrDenied.Error()}
		}
	default:
		allowed = false
		resp = Response{Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
	op := req.Op
	if len(op) > 64 {
		op = op[:64]
	}
	c.d.log.Info("control call", "op", op, "uid", peer.UID, "pid", peer.PID, "allowed", allowed)
	if !c.d.cfg.NoAudit {
		if _, err := c.d.cfg.Store.RecordEvent(ctx, "daemon.control", "", map[string]any{
			"op": op, "uid": peer.UID, "gid": peer.GID, "pid": peer.PID, "allowed": allowed,
		}); err != nil {
			c.d.problem("audit row for control call: %v", err)
		}
	}
	return resp
}

// Call sends one request to the daemon at path and returns its answer.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return Response{}, err
	}
	var resp Response
	dec := json.NewDecoder(bufio.NewReader(conn))
	if err := dec.Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("read answer: %w", err)
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
