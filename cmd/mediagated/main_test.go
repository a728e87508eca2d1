package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mediagate/internal/hostclient"
	"mediagate/internal/sysfs"
)

// The daemon binary links none of the front ends and heavy libraries: that is what
// keeps it small in memory (docs/performance.md).
func TestDaemonBinaryLinksNoFrontEnd(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command("go", "list", "-tags", "mediagate_daemon", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "mediagate/internal/daemonrun") || !slices.Contains(deps, "modernc.org/sqlite") {
		t.Fatalf("go list gave no daemon: %q", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/jackc/", "github.com/xuri/", "github.com/spf13/", "github.com/skip2/",
			"mediagate/internal/cli", "mediagate/internal/office/", "mediagate/internal/printout", "mediagate/internal/forms",
			"mediagate/internal/hostclient", "net/http", "runtime/pprof"} {
			if d == strings.TrimSuffix(banned, "/") || strings.HasPrefix(d, banned) {
				t.Errorf("mediagated links %s", d)
			}
		}
	}
}

func TestEnrolmentFileIsTheOfficeClients(t *testing.T) {
	db := "/var/lib/mediagate/mediagate.db"
	if got, want := enrolmentFile(db), filepath.Join(hostclient.Dir(db), hostclient.FileEnrolment); got != want {
		t.Errorf("enrolmentFile = %s, want %s", got, want)
	}
}

func TestParse(t *testing.T) {
	env := map[string]string{"MEDIAGATE_DB": "/env/reg.db", "MEDIAGATE_SOCKET": "/env/c.sock"}
	getenv := func(k string) string { return env[k] }
	o, err := parse([]string{"daemon", "--sysfs-root", "/x/sys", "--run-dir", "/x/run", "--source", "kernel", "--debug"}, io.Discard, getenv)
	if err != nil {
		t.Fatal(err)
	}
	def := sysfs.DefaultPaths()
	if o.run.DBPath != "/env/reg.db" || o.run.Paths.Sys != "/x/sys" || o.run.Paths.Run != "/x/run" || o.run.Paths.Socket != "/env/c.sock" ||
		o.run.Paths.Proc != def.Proc || o.run.Source != "kernel" || !o.run.Debug || o.run.NoNotify {
		t.Errorf("parsed %+v", o.run)
	}
	o, err = parse([]string{"--db", "/flag/reg.db", "--socket", "/flag/c.sock"}, io.Discard, func(string) string { return "" })
	if err != nil || o.run.DBPath != "/flag/reg.db" || o.run.Paths.Socket != "/flag/c.sock" {
		t.Errorf("flags: %+v, %v", o.run, err)
	}
	if o, _ := parse(nil, io.Discard, func(string) string { return "" }); o.run.DBPath != defaultDB || o.run.Paths.ControlSocket() != filepath.Join(def.Run, "control.sock") {
		t.Errorf("defaults: db %s, socket %s", o.run.DBPath, o.run.Paths.ControlSocket())
	}
	if _, err := parse([]string{"--frobnicate"}, io.Discard, getenv); err == nil {
		t.Error("an unknown flag was accepted")
	}
	if _, err := parse([]string{"status"}, io.Discard, getenv); err == nil {
		t.Error("an argument was accepted")
	}
}

// An enrolled host and a PostgreSQL register go to the full binary, with the
// arguments as given; a plain host does not.
func TestHandsOverToTheFullBinary(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "reg.db")
	getenv := func(string) string { return "" }
	var got []string
	full := func(args []string) error { got = args; return nil }

	if err := os.MkdirAll(filepath.Dir(enrolmentFile(db)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(enrolmentFile(db), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"--db", db, "--debug"}, io.Discard, getenv, full); code != 0 || !slices.Equal(got, []string{"daemon", "--db", db, "--debug"}) {
		t.Errorf("enrolled: exit %d, full binary given %q", code, got)
	}
	got = nil
	if code := run(context.Background(), []string{"--db", "postgres://u@h/mg"}, io.Discard, getenv, full); code != 0 || len(got) == 0 {
		t.Errorf("postgres: exit %d, full binary given %q", code, got)
	}
	if why := needsFull(filepath.Join(t.TempDir(), "reg.db")); why != "" {
		t.Errorf("a plain host needs the full binary: %s", why)
	}
	if code := run(context.Background(), []string{"--help"}, io.Discard, getenv, full); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}
