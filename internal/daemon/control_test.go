package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/control"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

func TestControlSocket(t *testing.T) {
	b := newBed(t, secretHost())
	b.plugStick("S1", 1<<20)
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := control.NewServer(b.d.ControlHandler(), "", nil)
	go c.Serve(ctx, ln)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	resp, err := control.Call(cctx, sock, control.Request{Op: control.OpStatus})
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := resp.DecodeStatus(&st); err != nil {
		t.Fatal(err)
	}
	if st.State != "running" || st.Counts.Blocked != 1 || len(st.Recent) != 1 {
		t.Errorf("status %+v", st)
	}
	_, err = control.Call(cctx, sock, control.Request{Op: control.OpRescan})
	if os.Geteuid() == 0 && err != nil {
		t.Errorf("rescan as root: %v", err)
	}
	if _, err := control.Call(cctx, sock, control.Request{Op: "format-disk"}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("unknown op: %v", err)
	}
	var calls []event.DaemonControl
	for _, e := range b.store.events {
		if e.kind == event.KindDaemonControl {
			calls = append(calls, e.details.(event.DaemonControl))
		}
	}
	if len(calls) != 3 || calls[0].UID != os.Getuid() || calls[0].Op != "status" || calls[0].PID != os.Getpid() {
		t.Errorf("audit rows of control calls: %v", calls)
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
	c := control.NewServer(b.d.ControlHandler(), "", nil)
	var user, root Status
	if err := c.Do(context.Background(), control.Peer{UID: 1000, GID: 1000}, control.Request{Op: control.OpStatus}).DecodeStatus(&user); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), control.Peer{UID: 0}, control.Request{Op: control.OpStatus}).DecodeStatus(&root); err != nil {
		t.Fatal(err)
	}
	if len(user.Present) == 0 {
		t.Fatalf("status: %+v / %+v", user, root)
	}
	for _, r := range append(user.Present, user.Recent...) {
		if r.Identity.Serial != "" || r.Identity.Key != "" || r.Identity.DescriptorHash != "" {
			t.Errorf("a non-officer sees identity %+v", r.Identity)
		}
	}
	seen := false
	for _, r := range root.Present {
		seen = seen || r.Identity.Serial == "SECRETSER1"
	}
	if !seen {
		t.Error("root does not see the serial")
	}
}
