package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/registry"
)

// jsonOf runs a command with --json that must succeed and decodes what it prints.
func (e *env) jsonOf(args ...string) map[string]any {
	e.t.Helper()
	out := e.ok(append([]string{"--json"}, args...)...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		e.t.Fatalf("mediagate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// refused runs a command that must be refused with exit status 1 and one line.
func (e *env) refused(want string, args ...string) {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != ExitError || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, want) {
		e.t.Errorf("mediagate %s: exit %d, stdout %q, stderr %q; want exit 1 and one line with %q", strings.Join(args, " "), code, out, errs, want)
	}
}

// kindRows counts the rows of kind in e's log.
func (e *env) kindRows(kind event.Kind) int {
	e.t.Helper()
	var rows []json.RawMessage
	if err := json.Unmarshal([]byte(e.ok("--json", "log", "--kind", string(kind))), &rows); err != nil {
		e.t.Fatal(err)
	}
	return len(rows)
}

// corrupt writes a copy of the file at path changed by f and returns its path.
func corrupt(t *testing.T, path, name string, f func([]byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(path), name)
	if err := os.WriteFile(out, f(bytes.Clone(b)), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func truncated(b []byte) []byte { return b[:len(b)*2/3] }

// flipped changes one byte in the middle of the signed part.
func flipped(b []byte) []byte {
	i := bytes.Index(b, []byte(`"payload":`))
	if i < 0 {
		i = 0
	}
	j := i + (len(b)-i)/2
	if b[j] == 'A' {
		b[j] = 'B'
	} else {
		b[j] = 'A'
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

// TestStandaloneRoundTrip runs what an officer does for a standalone host, with real
// files on a "transfer stick" between two registers (the office server's and the
// host's) and the real code on both sides: enrolment by file, a policy carried in,
// the host's log carried out and taken into the office's ledger, the acknowledgement
// carried back — twice — and every tampered, replayed, misdirected or older file
// refused with one line, exit status 1, an audit row, and nothing changed.
func TestStandaloneRoundTrip(t *testing.T) { standaloneRoundTrip(t, "") }

// TestStandaloneRoundTripOnPostgreSQL: the same with the office's register (and its
// ledger) on PostgreSQL.
func TestStandaloneRoundTripOnPostgreSQL(t *testing.T) {
	server := os.Getenv("MEDIAGATE_PG_DSN")
	if server == "" {
		t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set (scripts/test.sh starts a server and sets it)")
	}
	name, dsn, err := registry.CreateDatabase(context.Background(), server, "mg_standalone")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := registry.DropDatabase(context.Background(), server, name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	standaloneRoundTrip(t, dsn)
}

func standaloneRoundTrip(t *testing.T, serverDB string) {
	stick := t.TempDir()
	on := func(name string) string { return filepath.Join(stick, name) }
	officeDir := filepath.Join(t.TempDir(), "server")
	srv := newEnv(t)
	if serverDB != "" {
		srv.db = serverDB
	}
	init := srv.jsonOf("server", "init", "--dir", officeDir, "--name", "localhost", "--officer", "zhangsan")
	fp := init["ca_fingerprint"].(string)
	srv.setup()
	token := srv.jsonOf("server", "host", "add", "HOST-09", "--level", "secret")["token"].(string)
	srv.ok("server", "host", "add", "HOST-10", "--level", "secret")
	srv.registerUSB("AB12CD34EF01", "secret", "zhangsan")

	host := newEnv(t)
	host.ok("host", "init", "--number", "HOST-09", "--level", "secret")

	// 1. Enrolment: request → answer → host.
	host.jsonOf("host", "enroll", "--request", "--token", token, "-o", on("HOST-09.request"))
	srv.jsonOf("server", "host", "enroll-file", "HOST-09", on("HOST-09.request"), "-o", on("HOST-09.answer"), "--dir", officeDir)
	srv.refused("refused", "server", "host", "enroll-file", "HOST-09", on("HOST-09.request"), "-o", on("again.answer"), "--dir", officeDir)
	host.refused("fingerprint", "host", "enroll", "--response", on("HOST-09.answer"), "--ca-fingerprint", strings.Repeat("ab", 32))
	host.refused("refused", "host", "enroll", "--response", corrupt(t, on("HOST-09.answer"), "bad.answer", flipped), "--ca-fingerprint", fp)
	enr := host.jsonOf("host", "enroll", "--response", on("HOST-09.answer"), "--ca-fingerprint", fp)
	if enr["standalone"] != true || enr["host"] != "HOST-09" || enr["policy_version"].(float64) < 1 {
		t.Fatalf("enrolment %v", enr)
	}
	cache := filepath.Join(hostclient.Dir(host.db), hostclient.FilePolicy)
	v1 := readFile(t, cache)

	// 2. A policy carried in: a new medium on the server, a new version on the host.
	srv.registerUSB("AB12CD34EF02", "secret", "lisi")
	exp := srv.jsonOf("policy", "export", "--host", "HOST-09", "-o", on("HOST-09.policy"), "--dir", officeDir)
	srv.ok("policy", "export", "--host", "HOST-10", "-o", on("HOST-10.policy"), "--dir", officeDir)
	// Another office (its own policy key) with a host of the same number.
	elsewhere, elsewhereDir := newEnv(t), filepath.Join(t.TempDir(), "elsewhere")
	elsewhere.ok("server", "init", "--dir", elsewhereDir, "--name", "elsewhere", "--officer", "zhangsan")
	elsewhere.ok("server", "host", "add", "HOST-09", "--level", "secret")
	elsewhere.ok("policy", "export", "--host", "HOST-09", "-o", on("elsewhere.policy"), "--dir", elsewhereDir)
	if err := os.WriteFile(on("v1.policy"), v1, 0o600); err != nil {
		t.Fatal(err)
	}
	refusedBefore := host.kindRows(event.KindPolicyRefused)
	for _, bad := range []struct{ name, file, want string }{
		{"truncated", corrupt(t, on("HOST-09.policy"), "cut.policy", truncated), "malformed"},
		{"a byte flipped", corrupt(t, on("HOST-09.policy"), "flip.policy", flipped), "refused"},
		{"another host's", on("HOST-10.policy"), "another host"},
		{"signed by another office", on("elsewhere.policy"), "another key"},
		{"the version in force again", on("v1.policy"), "not above"},
	} {
		t.Run("policy "+bad.name, func(t *testing.T) {
			host.t = t
			host.refused(bad.want, "policy", "import", bad.file)
			if !bytes.Equal(readFile(t, cache), v1) {
				t.Fatal("a refused policy changed the cache")
			}
		})
	}
	host.t = t
	if got := host.kindRows(event.KindPolicyRefused); got != refusedBefore+5 {
		t.Errorf("policy.refused rows: %d, want %d", got, refusedBefore+5)
	}
	imp := host.jsonOf("policy", "import", on("HOST-09.policy"))
	if imp["version"] != exp["version"] || imp["media"].(float64) != 2 {
		t.Fatalf("import %v after export %v", imp, exp)
	}
	host.refused("not above", "policy", "import", on("HOST-09.policy")) // replay
	host.refused("not above", "policy", "import", on("v1.policy"))      // older
	host.refused("被拒绝", "--lang", "zh", "policy", "import", on("v1.policy"))
	// The register is the office's: register commands point there.
	if _, errs, code := host.run("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "X1",
		"--level", "secret", "--custodian", "zhangsan"); code != ExitUsage || !strings.Contains(errs, "standalone") {
		t.Errorf("media register on a standalone host: exit %d, %q", code, errs)
	}

	// 3. The log carried out, taken in, acknowledged.
	ackFile := anchor.File(host.db)
	out1 := host.jsonOf("log", "export", "-o", on("HOST-09.log"))
	if out1["first"].(float64) != 1 || out1["rows"].(float64) < 3 {
		t.Fatalf("log export %v", out1)
	}
	in1 := srv.jsonOf("log", "import", on("HOST-09.log"), "-o", on("HOST-09.ack"), "--dir", officeDir)
	if in1["ack_seq"] != out1["last"] || in1["host"] != "HOST-09" {
		t.Fatalf("log import %v of %v", in1, out1)
	}
	ack1 := host.jsonOf("log", "ack", on("HOST-09.ack"))
	if ack1["seq"] != out1["last"] {
		t.Fatalf("log ack %v", ack1)
	}
	if v := host.jsonOf("audit", "verify"); v["intact"] != true || v["acknowledgement"].(map[string]any)["signature"] != "verified" {
		t.Errorf("audit verify after the acknowledgement: %v", v)
	}
	held := readFile(t, ackFile)

	// 4. A second trip: the rows since the acknowledgement only.
	host.refused("another host", "policy", "import", on("HOST-10.policy")) // a new row: the refusal
	out2 := host.jsonOf("log", "export", "-o", on("HOST-09-2.log"))
	if out2["first"].(float64) != out1["last"].(float64)+1 {
		t.Fatalf("second export %v after %v", out2, out1)
	}
	srvRefused := srv.kindRows(event.KindCarryRefused)
	for _, bad := range []struct{ name, file, want string }{
		{"truncated", corrupt(t, on("HOST-09-2.log"), "cut.log", truncated), "malformed"},
		{"a byte flipped", corrupt(t, on("HOST-09-2.log"), "flip.log", flipped), "refused"},
		{"replayed", on("HOST-09.log"), "holds these rows already"},
		{"an enrolment request", on("HOST-09.request"), "another kind"},
	} {
		t.Run("log "+bad.name, func(t *testing.T) {
			srv.t = t
			srv.refused(bad.want, "log", "import", bad.file, "-o", on("x.ack"), "--dir", officeDir)
			if _, err := os.Stat(on("x.ack")); err == nil {
				t.Fatal("a refused log file wrote an acknowledgement")
			}
		})
	}
	srv.t = t
	if got := srv.kindRows(event.KindCarryRefused); got < srvRefused+4 {
		t.Errorf("carry.refused rows on the server: %d, want %d", got, srvRefused+4)
	}
	srv.jsonOf("log", "import", on("HOST-09-2.log"), "-o", on("HOST-09-2.ack"), "--dir", officeDir)
	srv.refused("refused", "log", "import", on("HOST-09.log"), "-o", on("x.ack"), "--dir", officeDir) // older than held

	hostRefused := host.kindRows(event.KindCarryRefused)
	for _, bad := range []struct{ name, file, want string }{
		{"truncated", corrupt(t, on("HOST-09-2.ack"), "cut.ack", truncated), "malformed"},
		{"a byte flipped", corrupt(t, on("HOST-09-2.ack"), "flip.ack", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"seq": `), []byte(`"seq": 1`), 1)
		}), "signature"},
		{"replayed", on("HOST-09.ack"), "stored already"},
	} {
		t.Run("ack "+bad.name, func(t *testing.T) {
			host.t = t
			host.refused(bad.want, "log", "ack", bad.file)
			if !bytes.Equal(readFile(t, ackFile), held) {
				t.Fatal("a refused acknowledgement changed the one held")
			}
		})
	}
	host.t = t
	if got := host.kindRows(event.KindCarryRefused); got != hostRefused+3 {
		t.Errorf("carry.refused rows on the host: %d, want %d", got, hostRefused+3)
	}
	ack2 := host.jsonOf("log", "ack", on("HOST-09-2.ack"))
	if ack2["seq"] != out2["last"] || ack2["previous"] != out1["last"] {
		t.Fatalf("second ack %v", ack2)
	}
	host.refused("older", "log", "ack", on("HOST-09.ack"))
	if v := host.jsonOf("audit", "verify"); v["intact"] != true {
		t.Errorf("audit verify: %v", v)
	}
	if n := host.kindRows(event.KindCarryAck); n != 2 {
		t.Errorf("carry.ack rows: %d", n)
	}
	// The next file starts after the row acknowledged (storing it wrote a row).
	if got := host.jsonOf("log", "export", "-o", on("HOST-09-3.log")); got["first"].(float64) != ack2["seq"].(float64)+1 {
		t.Errorf("export after the second acknowledgement: %v", got)
	}
	// The office's view: a second host's policy was never carried, HOST-09's log is
	// held up to the second acknowledgement.
	if show := srv.ok("server", "host", "show", "HOST-09"); !strings.Contains(show, "HOST-09") {
		t.Errorf("server host show:\n%s", show)
	}
}

// TestDaemonWiringOnAStandaloneHost: the daemon of a host enrolled by file decides
// from the policy cache, follows no server, and puts a policy carried in (policy
// import) in force from the cache file while it runs.
func TestDaemonWiringOnAStandaloneHost(t *testing.T) {
	stick := t.TempDir()
	on := func(name string) string { return filepath.Join(stick, name) }
	officeDir := filepath.Join(t.TempDir(), "server")
	srv := newEnv(t)
	fp := srv.jsonOf("server", "init", "--dir", officeDir, "--name", "localhost", "--officer", "zhangsan")["ca_fingerprint"].(string)
	srv.setup()
	srv.ok("server", "host", "add", "HOST-09", "--level", "secret")
	host := newEnv(t)
	host.ok("host", "init", "--number", "HOST-09", "--level", "secret")
	host.ok("host", "enroll", "--request", "--host", "HOST-09", "-o", on("req"))
	srv.ok("server", "host", "enroll-file", "HOST-09", on("req"), "-o", on("ans"), "--approve", "--dir", officeDir)
	host.ok("host", "enroll", "--response", on("ans"), "--ca-fingerprint", fp)

	app := &App{DBPath: host.db, Now: time.Now, Paths: testPaths(t)}
	defer app.close()
	local, err := app.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	od, err := wireOffice(t.Context(), app, local.Store(), slog.New(slog.DiscardHandler))
	if err != nil || od == nil || od.follower == nil {
		t.Fatalf("wireOffice = %+v, %v", od, err)
	}
	st := od.status()
	if !st.Standalone || st.PolicyVersion < 1 {
		t.Fatalf("office status = %+v", st)
	}
	if line, _ := officeLine("en", st); !strings.Contains(line, "standalone") {
		t.Errorf("status line %q", line)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); od.run(ctx, nil) }()
	defer func() { cancel(); <-done }()

	num := srv.registerUSB("AB12CD34EF07", "secret", "zhangsan")
	srv.ok("policy", "export", "--host", "HOST-09", "-o", on("pol"), "--dir", officeDir)
	host.ok("policy", "import", on("pol"))
	deadline := time.Now().Add(10 * time.Second)
	for od.status().PolicyVersion == st.PolicyVersion && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if v := od.status().PolicyVersion; v <= st.PolicyVersion {
		t.Fatalf("the policy carried in is not in force: version %d", v)
	}
	if p := od.store.Policy(); p == nil || len(p.Document.Media) != 1 || p.Document.Media[0].Number != num {
		t.Errorf("media in force: %+v", p)
	}
}
