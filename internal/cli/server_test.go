package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
)

// TestOfficeServerCommands sets up an office (server init), runs the server on
// loopback, and sends officer commands to it with --server: they run with the
// server's rules, refusals read as they do locally, and the audit rows name the
// officer.
func TestOfficeServerCommands(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "office")
	if _, errs, code := e.run("person", "add", "wangwu", "--name", "王五"); code != ExitUsage || !strings.Contains(errs, "no register") {
		t.Errorf("person add before server init: exit %d, %s", code, errs)
	}
	out := e.ok("server", "init", "--dir", dir, "--name", "localhost", "--addr", "127.0.0.1", "--officer", "wangwu")
	e.ok("person", "add", "wangwu", "--name", "王五")
	if !strings.Contains(out, "CA fingerprint") {
		t.Fatalf("server init printed:\n%s", out)
	}
	for _, f := range []string{"ca.key", "server.key", "policy.key", "officers/wangwu/officer.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, st.Mode().Perm())
		}
	}
	if _, errs, code := e.run("server", "init", "--dir", dir, "--name", "localhost", "--officer", "wangwu"); code == 0 || !strings.Contains(errs, "never overwritten") {
		t.Errorf("second server init: exit %d, %s", code, errs)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var srvErr bytes.Buffer
	go func() {
		app := &App{Out: &bytes.Buffer{}, Err: &srvErr, Now: time.Now, Getenv: func(k string) string {
			if k == "MEDIAGATE_DB" {
				return e.db
			}
			return ""
		}, Actor: audit.Actor{UID: 0, User: "root"}}
		done <- Run(ctx, app, []string{"server", "run", "--dir", dir, "--listen", addr})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("server run exit %d: %s", code, srvErr.String())
		}
	}()
	remote := []string{"--server", "https://" + addr, "--officer-dir", filepath.Join(dir, "officers", "wangwu")}
	call := func(args ...string) (string, string, int) {
		t.Helper()
		var o, er string
		var code int
		for range 50 { // the server may still be starting
			o, er, code = e.run(append(args, remote...)...)
			if !strings.Contains(er, "unreachable") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return o, er, code
	}
	must := func(args ...string) string {
		t.Helper()
		o, er, code := call(args...)
		if code != 0 {
			t.Fatalf("mediagate %s: exit %d: %s", strings.Join(args, " "), code, er)
		}
		return o
	}

	must("person", "add", "zhangsan", "--name", "张三", "--department", "办公室")
	num := strings.TrimSpace(must("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "4C530001231120109142", "--level", "secret", "--custodian", "zhangsan"))
	if num == "" {
		t.Fatal("no number printed")
	}
	// The same refusal as locally, with the same exit status.
	_, er, code := call("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "4C530001231120109142", "--level", "secret", "--custodian", "zhangsan")
	if code != ExitError || !strings.Contains(er, "already registered") {
		t.Errorf("duplicate registration through the server: exit %d, %q", code, er)
	}
	_, er, code = call("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "", "--level", "secret", "--custodian", "zhangsan")
	if code != ExitError || !strings.Contains(er, "weak") {
		t.Errorf("weak serial through the server: exit %d, %q", code, er)
	}
	_, er, code = call("media", "relevel", num, "--level", "confidential")
	if code != ExitError || !strings.Contains(er, "can only be raised") {
		t.Errorf("relevel down through the server: exit %d, %q", code, er)
	}
	must("media", "lost", num)
	var m media.Medium
	if err := json.Unmarshal([]byte(must("media", "show", num, "--json")), &m); err != nil {
		t.Fatal(err)
	}
	if m.Status != media.StatusLost {
		t.Errorf("status after media lost through the server: %s", m.Status)
	}
	// The office's host register through the server.
	tok := must("server", "host", "add", "HOST-07", "--level", "secret", "--department", "办公室", "--location", "302", "--custodian", "zhangsan")
	if !strings.Contains(tok, "HOST-07") {
		t.Errorf("host add printed %q", tok)
	}
	list := must("server", "host", "list")
	if !strings.Contains(list, "HOST-07") || !strings.Contains(list, "not enrolled") {
		t.Errorf("host list:\n%s", list)
	}
	// Every change made through the server names the officer.
	var rows []struct {
		Kind  string
		Actor audit.Actor
	}
	if err := json.Unmarshal([]byte(e.ok("log", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Kind == "medium.register" || r.Kind == "medium.lost" || r.Kind == "office.host-add" {
			seen[r.Kind] = true
			if r.Actor.User != "officer:wangwu" {
				t.Errorf("%s row by %+v; want officer:wangwu", r.Kind, r.Actor)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("rows seen: %v", seen)
	}
	// A wrong officer directory is a clear error.
	_, er, code = e.run("person", "list", "--server", "https://"+addr, "--officer-dir", t.TempDir())
	if code != ExitError || !strings.Contains(er, "office") {
		t.Errorf("missing credentials: exit %d, %q", code, er)
	}
}

// An officer handle names a directory under the office's: one the register would not
// take as a handle ("..", a leading dot or dash) is refused before any file is written.
func TestServerInitRefusesABadOfficerHandle(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"..", ".hidden", "-x", "a/b"} {
		dir := filepath.Join(t.TempDir(), "office")
		if _, errs, code := e.run("server", "init", "--dir", dir, "--name", "localhost", "--officer", h); code != ExitUsage || !strings.Contains(errs, "officer handle") {
			t.Errorf("officer %q: exit %d, %s", h, code, errs)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("officer %q: %s was made", h, dir)
		}
	}
}
