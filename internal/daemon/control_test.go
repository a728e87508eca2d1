package daemon

import (
	"context"
	"mediagate/internal/media"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestControlSocket(t *testing.T) {
	b := newBed(t, secretHost())
	b.plugStick("S1", 1<<20)
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := NewControl(b.d, "")
	go c.Serve(ctx, ln)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	resp, err := Call(cctx, sock, Request{Op: OpStatus})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status.State != "running" || resp.Status.Counts.Blocked != 1 || len(resp.Status.Recent) != 1 {
		t.Errorf("status %+v", resp.Status)
	}
	_, err = Call(cctx, sock, Request{Op: OpRescan})
	if os.Geteuid() == 0 && err != nil {
		t.Errorf("rescan as root: %v", err)
	}
	if _, err := Call(cctx, sock, Request{Op: "format-disk"}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("unknown op: %v", err)
	}
	var calls []map[string]any
	for _, e := range b.store.events {
		if e.kind == "daemon.control" {
			calls = append(calls, e.details.(map[string]any))
		}
	}
	if len(calls) != 3 || calls[0]["uid"] != os.Getuid() || calls[0]["op"] != "status" {
		t.Errorf("audit rows of control calls: %v", calls)
	}
}

func TestOnlyRootAndOfficersChange(t *testing.T) {
	b := newBed(t, secretHost())
	c := NewControl(b.d, "")
	if r := c.Do(context.Background(), Peer{UID: 1000, GID: 1000}, Request{Op: OpRescan}); r.OK || r.Error != ErrDenied.Error() {
		t.Errorf("non-root rescan: %+v", r)
	}
	if r := c.Do(context.Background(), Peer{UID: 1000, GID: 1000}, Request{Op: OpStatus}); !r.OK {
		t.Errorf("non-root status refused: %+v", r)
	}
	if r := c.Do(context.Background(), Peer{UID: 0}, Request{Op: OpRescan}); !r.OK {
		t.Errorf("root rescan refused: %+v", r)
	}
	// an officer by supplementary group ("root" group exists everywhere, gid 0)
	c = NewControl(b.d, "root")
	c.groupsOf = func(int) []string { return []string{"0"} }
	if r := c.Do(context.Background(), Peer{UID: 1000, GID: 1000}, Request{Op: OpRescan}); !r.OK {
		t.Errorf("officer rescan refused: %+v", r)
	}
	last := b.store.events[len(b.store.events)-1].details.(map[string]any)
	if last["uid"] != 1000 || last["allowed"] != true {
		t.Errorf("last audit row %v", last)
	}
}

func TestNotify(t *testing.T) {
	dir := t.TempDir()
	addr := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", addr)
	if err := Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	n, _ := conn.Read(buf)
	if string(buf[:n]) != "READY=1" {
		t.Errorf("got %q", buf[:n])
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
}

func TestStatusHidesIdentityFromOtherUsers(t *testing.T) {
	b := newBed(t, secretHost())
	b.register("SECRETSER1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("SECRETSER1", 64<<20)
	c := NewControl(b.d, "")
	user := c.Do(context.Background(), Peer{UID: 1000, GID: 1000}, Request{Op: OpStatus})
	root := c.Do(context.Background(), Peer{UID: 0}, Request{Op: OpStatus})
	if !user.OK || !root.OK || len(user.Status.Present) == 0 {
		t.Fatalf("status: %+v / %+v", user, root)
	}
	for _, r := range append(user.Status.Present, user.Status.Recent...) {
		if r.Identity.Serial != "" || r.Identity.Key != "" || r.Identity.DescriptorHash != "" {
			t.Errorf("a non-officer sees identity %+v", r.Identity)
		}
	}
	seen := false
	for _, r := range root.Status.Present {
		seen = seen || r.Identity.Serial == "SECRETSER1"
	}
	if !seen {
		t.Error("root does not see the serial")
	}
}
