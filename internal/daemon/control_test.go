package daemon

import (
	"context"
	"encoding/json"
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
	b.store.people["zhang"] = media.Person{Handle: "zhang", Name: "张三", Login: "zhang", Active: true}
	c := control.NewServer(b.d.ControlHandler(), "", nil)
	c.LoginOf = func(uid int) string { return map[int]string{1000: "zhang"}[uid] }
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

func controlRows(s *memStore) []event.DaemonControl {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.DaemonControl
	for _, e := range s.events {
		if e.kind == event.KindDaemonControl {
			out = append(out, e.details.(event.DaemonControl))
		}
	}
	return out
}

func TestStatusFloodWritesFewRows(t *testing.T) {
	b := newBed(t, secretHost())
	c := control.NewServer(b.d.ControlHandler(), "", nil)
	const n = 1000
	for range n {
		if resp := c.Do(b.ctx, control.Peer{UID: 1000, GID: 1000, PID: 4242}, control.Request{Op: control.OpStatus}); !resp.OK {
			t.Fatalf("status: %+v", resp)
		}
	}
	if rows := controlRows(b.store); len(rows) > 2 {
		t.Fatalf("%d status calls by one user wrote %d audit rows", n, len(rows))
	}
	c.Flush(b.ctx)
	rows := controlRows(b.store)
	total := 0
	for _, r := range rows {
		total += max(r.Count, 1)
	}
	if len(rows) != 2 || total != n || rows[1].UID != 1000 || rows[1].Op != "status" {
		t.Errorf("after flush: %d rows for %d calls: %v", len(rows), total, rows)
	}
}

// TestStatusShowsNonOfficersOnlyTheirOwn: alice sees her stick and the unregistered
// one, not bob's; a user without a login, or one whose uid is not a person, sees no
// registered media; root sees all three.
func TestStatusShowsNonOfficersOnlyTheirOwn(t *testing.T) {
	b := newBed(t, secretHost())
	b.store.people["alice"] = media.Person{Handle: "alice", Name: "Alice", Login: "alice", Active: true}
	b.store.people["bob"] = media.Person{Handle: "bob", Name: "Bob", Login: "bob", Active: true}
	b.store.people["carol"] = media.Person{Handle: "carol", Name: "Carol", Active: true} // no login
	plug := func(port, serial, custodian, holder string, status media.Status) {
		u, _ := stick(serial, 1<<20)
		u.Name, u.SysPath = port, hub+"/"+port
		if custodian != "" {
			b.store.media[u.Identity.Key] = media.Medium{Number: "S-" + serial, Kind: media.KindUSBDisk, Level: media.Secret,
				Status: status, Access: media.AccessReadWrite, Custodian: custodian, Holder: holder, Identity: u.Identity}
		}
		b.devs.set(u)
		b.ev("add", u.SysPath, "usb", "usb_device")
	}
	plug("2-5", "ALICE1", "alice", "", media.StatusActive)
	plug("2-6", "BOB1", "bob", "", media.StatusActive)
	plug("2-7", "LENT1", "bob", "alice", media.StatusLent) // bob's, lent to alice
	plug("2-8", "CAROL1", "carol", "", media.StatusActive)
	plug("2-9", "NOBODY1", "", "", media.StatusActive)
	c := control.NewServer(b.d.ControlHandler(), "", nil)
	logins := map[int]string{1000: "alice", 1001: "bob", 1002: ""}
	c.LoginOf = func(uid int) string { return logins[uid] }
	status := func(uid int) Status {
		t.Helper()
		var st Status
		if err := c.Do(b.ctx, control.Peer{UID: uid, GID: uid}, control.Request{Op: control.OpStatus}).DecodeStatus(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	names := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	for _, tc := range []struct {
		uid  int
		want string
	}{
		{1000, "2-5 2-7 2-9"},
		{1001, "2-6 2-7 2-9"},
		{1002, "2-9"},
		{0, "2-5 2-6 2-7 2-8 2-9"},
	} {
		st := status(tc.uid)
		if got := strings.Join(names(st.Present), " "); got != tc.want {
			t.Errorf("uid %d sees present %q, want %q", tc.uid, got, tc.want)
		}
		if got := strings.Join(names(st.Recent), " "); got != tc.want {
			t.Errorf("uid %d sees recent %q, want %q", tc.uid, got, tc.want)
		}
		if tc.uid == 0 {
			continue
		}
		out, _ := json.Marshal(st)
		for _, other := range []string{"BOB1", "CAROL1", "carol", "S-CAROL1"} {
			if tc.uid != 1001 && strings.Contains(string(out), other) {
				t.Errorf("uid %d sees %q: %s", tc.uid, other, out)
			}
		}
	}
	// A registry that fails hides registered media (fail closed).
	b.store.mu.Lock()
	b.store.media = nil
	b.store.people = nil
	b.store.mu.Unlock()
	if got := strings.Join(names(status(1000).Present), " "); got != "2-9" {
		t.Errorf("with the registry gone alice sees %q", got)
	}
}
