package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/sysfs"
)

// testPaths returns paths for a test's App: a control socket and run directory in a
// temporary directory, so that no test reaches the daemon of the machine it runs on.
func testPaths(t *testing.T) sysfs.Paths {
	t.Helper()
	dir := t.TempDir()
	return sysfs.Paths{Run: dir, Socket: filepath.Join(dir, "control.sock")}
}

// TestDaemonUsesTheRootPathFlags: the daemon is built from the root command's path
// flags, wherever they stand on the command line.
func TestDaemonUsesTheRootPathFlags(t *testing.T) {
	var got daemonWiring
	defer func(f func(context.Context, *App, daemonOptions) error) { startDaemon = f }(startDaemon)
	startDaemon = func(_ context.Context, app *App, _ daemonOptions) error {
		got = wireDaemon(app)
		return nil
	}
	for _, args := range [][]string{
		{"--udev-root", "/x/udev/data", "--sysfs-root", "/x/sys", "--dev-root", "/x/dev", "--proc-root", "/x/proc", "--run-dir", "/x/run", "daemon"},
		{"daemon", "--udev-root", "/x/udev/data", "--sysfs-root", "/x/sys", "--dev-root", "/x/dev", "--proc-root", "/x/proc", "--run-dir", "/x/run"},
	} {
		got = daemonWiring{}
		app := &App{Out: io.Discard, Err: io.Discard, Now: time.Now, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), app, args); code != 0 {
			t.Fatalf("%q: exit %d", args, code)
		}
		if got.Roots.UdevData != "/x/udev/data" || got.Roots.Sys != "/x/sys" || got.Roots.Dev != "/x/dev" {
			t.Errorf("%q: identity roots %+v", args, got.Roots)
		}
		if got.Enforce.Sys != "/x/sys" || got.Enforce.Dev != "/x/dev" || got.Enforce.Mountinfo != "/x/proc/self/mountinfo" || got.Enforce.RunDir != "/x/run/allow" {
			t.Errorf("%q: enforcer %+v", args, got.Enforce)
		}
		if got.ProcRoot != "/x/proc" || got.UdevControl != "/x/udev/control" || got.Socket != "/x/run/control.sock" {
			t.Errorf("%q: proc %s, udev control %s, socket %s", args, got.ProcRoot, got.UdevControl, got.Socket)
		}
	}
	app := &App{Out: io.Discard, Err: io.Discard, Now: time.Now, Getenv: func(k string) string {
		if k == "MEDIAGATE_SOCKET" {
			return "/env/c.sock"
		}
		return ""
	}}
	Run(context.Background(), app, []string{"daemon"})
	if got.Socket != "/env/c.sock" || got.Roots.Sys != sysfs.DefaultSys || got.ProcRoot != sysfs.DefaultProc {
		t.Errorf("defaults with MEDIAGATE_SOCKET: %+v", got)
	}
	Run(context.Background(), app, []string{"daemon", "--socket", "/flag/c.sock"})
	if got.Socket != "/flag/c.sock" {
		t.Errorf("--socket after MEDIAGATE_SOCKET: %s", got.Socket)
	}
}

// TestNoFlagShadowsARootFlag: a sub-command's own flag with the name of a root flag
// would silently win over it (mediagate --udev-root X daemon ignored X).
func TestNoFlagShadowsARootFlag(t *testing.T) {
	root := NewRootCommand(&App{Getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root {
			c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if root.PersistentFlags().Lookup(f.Name) != nil {
					t.Errorf("%s defines --%s, which shadows the root's --%s", c.CommandPath(), f.Name, f.Name)
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// TestChangesNudgeTheDaemonAtTheAppsSocket: after a change that can alter a decision,
// the CLI asks the daemon at its App's socket (never the system's) to rescan, and
// status and devices ask there too.
func TestChangesNudgeTheDaemonAtTheAppsSocket(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("unix", e.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ops := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var req control.Request
			if line, err := bufio.NewReader(c).ReadBytes('\n'); err == nil && json.Unmarshal(line, &req) == nil {
				ops <- req.Op
				st, _ := json.Marshal(daemon.Status{State: "running"})
				json.NewEncoder(c).Encode(control.Response{OK: true, Status: st})
			}
			c.Close()
		}
	}()
	e.setup() // host init and people: host init asks for a rescan
	select {
	case op := <-ops:
		if op != control.OpRescan {
			t.Errorf("after host init the daemon was asked %q", op)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("host init did not ask the daemon at the App's socket to rescan")
	}
	for len(ops) > 0 {
		<-ops
	}
	e.ok("status")
	if op := <-ops; op != control.OpStatus {
		t.Errorf("status asked %q", op)
	}
}
