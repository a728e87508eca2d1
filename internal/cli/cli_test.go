package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/sysfs"
)

// TestMain lets the test binary act as the mediagate command, so tests can run real
// concurrent CLI processes.
func TestMain(m *testing.M) {
	if os.Getenv("MEDIAGATE_TEST_AS_CLI") == "1" {
		// The same guard in a command run as a process of its own: it fails at once.
		socketGuard = func(path string) {
			if path == sysfs.DefaultSocket {
				fmt.Fprintf(os.Stderr, "a unit test dialed the system's control socket %s: give its command a socket in a temporary directory\n", path)
				os.Exit(99)
			}
		}
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
	}
	// No unit test may reach the daemon of the machine it runs on.
	var dialed sync.Map
	socketGuard = func(path string) {
		if path == sysfs.DefaultSocket {
			dialed.Store(path, true)
		}
	}
	code := m.Run()
	dialed.Range(func(k, _ any) bool {
		fmt.Fprintf(os.Stderr, "a unit test dialed the system's control socket %s: give its App a socket in a temporary directory\n", k)
		code = 1
		return true
	})
	os.Exit(code)
}

type env struct {
	t      *testing.T
	db     string
	socket string    // the control socket this test's commands dial (nothing listens)
	in     string    // what the officer types at a confirmation ("": no input)
	now    time.Time // the clock of the commands (zero: time.Now)
}

// emptyRoots returns root flags for a machine with no devices at all.
func emptyRoots(t *testing.T) []string {
	root := t.TempDir()
	for _, d := range []string{"sys/class/block", "sys/bus/usb/devices", "run/udev/data", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"--sysfs-root", filepath.Join(root, "sys"), "--udev-root", filepath.Join(root, "run/udev/data"), "--dev-root", filepath.Join(root, "dev")}
}

func newEnv(t *testing.T) *env {
	return &env{t: t, db: filepath.Join(t.TempDir(), "mediagate.db"), socket: testPaths(t).Socket}
}

// run runs mediagate with args and returns stdout, stderr and the exit code.
func (e *env) run(args ...string) (string, string, int) {
	e.t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "MEDIAGATE_DB":
			return e.db
		case "MEDIAGATE_SOCKET":
			return e.socket
		case "SUDO_USER":
			return "forged" // never believed: the actor comes from the kernel
		}
		return ""
	}
	if !slices.Contains(args, "--sysfs-root") {
		// Never look at this machine's own devices: an empty system by default.
		args = append(emptyRoots(e.t), args...)
	}
	// Run as Main does, with a fixed actor; the post-change nudge dials this test's own
	// socket (MEDIAGATE_SOCKET above), never the system's.
	app := &App{Out: &out, Err: &errb, Now: time.Now, Getenv: getenv, Actor: audit.Actor{UID: 0, User: "root", Login: "officer"}}
	if e.in != "" {
		app.In = strings.NewReader(e.in)
	}
	if !e.now.IsZero() {
		app.Now = func() time.Time { return e.now }
	}
	app.Changed = func(ctx context.Context) { nudgeDaemon(ctx, app) }
	code := Run(context.Background(), app, args)
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("mediagate %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func (e *env) rows() int {
	e.t.Helper()
	var events []json.RawMessage
	if err := json.Unmarshal([]byte(e.ok("log", "--json")), &events); err != nil {
		e.t.Fatal(err)
	}
	return len(events)
}

// create makes an empty register file without a host profile, as a register made by
// another tool would be.
func (e *env) create() {
	e.t.Helper()
	createRegister(e.t, e.db)
}

func createRegister(t *testing.T, path string) {
	t.Helper()
	s, err := registry.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestMissingRegister: a mistyped --db is an error (usage, 2) for every command that
// reads or changes the register, and creates nothing; only host init creates it.
func TestMissingRegister(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"media", "list"}, {"person", "add", "zhang", "--name", "张三"}, {"person", "list"}, {"log"}, {"audit", "verify"},
		{"host", "show"}, {"numbering", "show"}, {"media", "show", "S-2026-0001"}, {"checkin", "status"}, {"devices"},
	} {
		_, errs, code := e.run(args...)
		if code != ExitUsage || !strings.Contains(errs, "no register at "+e.db) {
			t.Errorf("%v on a missing register: exit %d, %q; want %d and no register", args, code, errs, ExitUsage)
		}
		if _, err := os.Stat(e.db); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v created the register", args)
		}
	}
	if _, errs, _ := e.run("--lang", "zh", "audit", "verify"); !strings.Contains(errs, "没有登记库") {
		t.Errorf("zh: %q", errs)
	}
	e.ok("host", "init", "--number", "HOST-01", "--level", "secret")
	e.ok("audit", "verify")
}

func (e *env) setup() {
	e.ok("host", "init", "--number", "HOST-01", "--level", "secret", "--department", "Office")
	e.ok("person", "add", "zhangsan", "--name", "张三", "--department", "办公室")
	e.ok("person", "add", "lisi", "--name", "Li Si")
	e.ok("person", "add", "wangwu", "--name", "王五")
}

func TestWalkthrough(t *testing.T) {
	e := newEnv(t)
	e.setup()
	year := time.Now().Year()
	num := strings.TrimSpace(e.ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "4C530001231120109142", "--level", "secret", "--custodian", "zhangsan"))
	if want := fmt.Sprintf("S-%d-0001", year); num != want {
		t.Fatalf("number = %q; want %q", num, want)
	}
	num2 := strings.TrimSpace(e.ok("media", "register", "--kind", "disk", "--wwn", "0x5000C500A1B2C3D4", "--level", "绝密",
		"--custodian", "lisi", "--read-only"))
	if want := fmt.Sprintf("TS-%d-0001", year); num2 != want {
		t.Fatalf("number = %q; want %q", num2, want)
	}

	var list []media.Medium
	if err := json.Unmarshal([]byte(e.ok("media", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Identity.Key != "usb:0781:5567:4C530001231120109142" || list[1].Access != media.AccessReadOnly {
		t.Fatalf("list = %+v", list)
	}
	if out := e.ok("media", "list", "--level", "机密"); !strings.Contains(out, num) || strings.Contains(out, num2) {
		t.Errorf("list --level filter:\n%s", out)
	}

	e.ok("media", "handover", num, "--to", "lisi", "--witness", "wangwu", "--note", "job change")
	show := e.ok("media", "show", num)
	for _, want := range []string{"Custodian", "lisi", "medium.register", "medium.handover", "witness=wangwu", "root(0), login officer"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	zh := e.ok("--lang", "zh", "media", "show", num)
	for _, want := range []string{"责任人", "机密", "在用"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh show lacks %q:\n%s", want, zh)
		}
	}

	csvOut := e.ok("log", "--medium", num, "--csv")
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(recs) != 3 || recs[2][4] != "medium.handover" {
		t.Fatalf("log --csv = %v, %v", recs, err)
	}
	if out := e.ok("audit", "verify"); !strings.HasPrefix(out, "audit log intact: 7 rows") {
		t.Errorf("verify = %q", out)
	}
}

func TestLifecycleCommands(t *testing.T) {
	e := newEnv(t)
	e.setup()
	num := strings.TrimSpace(e.ok("media", "register", "--kind", "usb", "--vendor", "0781", "--product", "5567", "--serial", "AB12CD34EF",
		"--level", "confidential", "--custodian", "zhangsan"))
	due := time.Now().AddDate(0, 0, 7).Format("2006-01-02")
	steps := []struct {
		args []string
		want media.Status
	}{
		{[]string{"lend", num, "--to", "lisi", "--due", due, "--approved-by", "wangwu"}, media.StatusLent},
		{[]string{"return", num}, media.StatusActive},
		{[]string{"repair", num, "--approved-by", "wangwu", "--repairer", "Acme Data", "--place", "on site"}, media.StatusRepair},
		{[]string{"repaired", num}, media.StatusActive},
		{[]string{"lost", num, "--note", "left on a train"}, media.StatusLost},
		{[]string{"found", num}, media.StatusActive},
		{[]string{"relevel", num, "--level", "top-secret"}, media.StatusActive},
		{[]string{"destroy", num, "--method", "shredded", "--approved-by", "wangwu", "--witness", "lisi"}, media.StatusDestroyed},
	}
	for _, s := range steps {
		var m media.Medium
		if err := json.Unmarshal([]byte(e.ok(append([]string{"--json", "media"}, s.args...)...)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Status != s.want {
			t.Errorf("media %s: status %s; want %s", s.args[0], m.Status, s.want)
		}
	}
	var m media.Medium
	json.Unmarshal([]byte(e.ok("--json", "media", "show", num)), &m)
	if m.Level != media.TopSecret || m.Status != media.StatusDestroyed {
		t.Errorf("final = %+v", m)
	}
	// Destroyed is final and its number stays taken.
	if _, _, code := e.run("media", "found", num); code == 0 {
		t.Error("found after destroy succeeded")
	}
}

// TestBadInput checks that every kind of bad input gives one clear line, a non-zero
// exit and writes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.setup()
	num := strings.TrimSpace(e.ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "GOODSERIAL01", "--level", "secret", "--custodian", "zhangsan"))
	reg := func(extra ...string) []string {
		base := []string{"media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567"}
		return append(base, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		en, zh   string // substrings of the message
	}{
		{"unknown level", reg("--serial", "NEW1", "--level", "ultra", "--custodian", "zhangsan"), 2, `unknown level "ultra"`, "未知密级"},
		{"bad pattern", []string{"numbering", "set", "--pattern", "{year}-{seq}"}, 2, "bad numbering pattern", "编号规则"},
		{"unknown custodian", reg("--serial", "NEW1", "--level", "secret", "--custodian", "nobody"), 1, "person nobody not found", "未找到人员 nobody"},
		{"missing custodian", []string{"media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "NEW1", "--level", "secret"}, 2, "custodian", "custodian"},
		{"duplicate serial", reg("--serial", "GOODSERIAL01", "--level", "secret", "--custodian", "lisi"), 1, "already registered", "已登记"},
		{"serial of another model", []string{"media", "register", "--kind", "usb-disk", "--vendor", "090c", "--product", "1000", "--serial", "GOODSERIAL01", "--level", "secret", "--custodian", "lisi"}, 1, "already registered for " + num, "已被 " + num},
		{"duplicate number", reg("--serial", "NEW2", "--level", "secret", "--custodian", "lisi", "--number", num), 1, "already in use", "已被使用"},
		{"weak serial", reg("--serial", "0123456789ABCDEF", "--level", "secret", "--custodian", "lisi"), 1, "is weak", "不可靠"},
		{"empty serial", reg("--serial", "", "--level", "secret", "--custodian", "lisi"), 1, "is weak", "不可靠"},
		{"illegal transition", []string{"media", "return", num}, 1, "status change not allowed", "不允许此状态变更"},
		{"downward relevel", []string{"media", "relevel", num, "--level", "confidential"}, 1, "can only be raised", "只能上调"},
		{"handover to self", []string{"media", "handover", num, "--to", "zhangsan", "--witness", "wangwu"}, 2, "already the custodian", "已是责任人"},
		{"bad due date", []string{"media", "lend", num, "--to", "lisi", "--due", "next week", "--approved-by", "wangwu"}, 2, "bad date", "日期格式有误"},
		{"past due date", []string{"media", "lend", num, "--to", "lisi", "--due", "2001-01-01", "--approved-by", "wangwu"}, 2, "must be in the future", "必须是将来的日期"},
		{"unknown medium", []string{"media", "show", "S-1999-0001"}, 1, "medium S-1999-0001 not found", "未找到介质"},
		{"deactivate holder", []string{"person", "deactivate", "zhangsan"}, 1, "still holds media", "仍持有介质"},
		{"bad kind", []string{"media", "register", "--kind", "tape", "--serial", "X", "--level", "secret", "--custodian", "lisi"}, 2, "unknown medium kind", "未知介质类型"},
		{"bad vendor", []string{"media", "register", "--kind", "usb-disk", "--vendor", "xyz", "--product", "1", "--serial", "X", "--level", "secret", "--custodian", "lisi"}, 2, "4 hex digits", "4 位十六进制"},
		{"unknown flag", []string{"media", "list", "--colour"}, 2, "unknown flag", "用法错误"},
		{"unknown subcommand", []string{"media", "frobnicate"}, 2, "unknown command", "用法错误"},
		{"bad language", []string{"--lang", "fr", "media", "list"}, 2, "--lang must be en or zh", "--lang must be en or zh"},
		{"unknown peripheral class", []string{"host", "init", "--number", "H", "--level", "secret", "--allow-class", "toaster"}, 2, "toaster", "外设允许列表有误"},
		{"json and csv", []string{"log", "--json", "--csv"}, 2, "choose one of --json and --csv", "只能选一个"},
		{"no identity", []string{"media", "register", "--level", "secret", "--custodian", "lisi"}, 2, "give --from-device", "请给出 --from-device"},
		{"storage as a peripheral class", []string{"host", "init", "--number", "H", "--level", "secret", "--allow-class", "mass-storage"}, 2, "registering each medium", "逐件登记介质放行"},
		{"bad status filter", []string{"media", "list", "--status", "gone"}, 2, "unknown status", "未知状态"},
		{"control chars in name", []string{"person", "add", "eve", "--name", "Eve\x1b[31m"}, 2, "control or format character U+001B", "控制或格式字符 U+001B"},
		{"right-to-left override in name", []string{"person", "add", "eve", "--name", "Eve\u202egpj.exe"}, 2, "format character U+202E", "格式字符 U+202E"},
		{"zero-width space in note", []string{"media", "lost", num, "--note", "lost\u200b"}, 2, "format character U+200B", "格式字符 U+200B"},
		{"line separator in department", []string{"person", "add", "eve", "--name", "Eve", "--department", "HR\u2028IT"}, 2, "format character U+2028", "格式字符 U+2028"},
		{"right-to-left override in serial", []string{"media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C53000\u202e1231120", "--level", "secret", "--custodian", "lisi"}, 2, "format character U+202E", "格式字符 U+202E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"en", "zh"} {
				before := e.rows()
				out, errs, code := e.run(append([]string{"--lang", lang}, tt.args...)...)
				if code != tt.wantCode {
					t.Errorf("%s: exit %d; want %d (stderr %q)", lang, code, tt.wantCode, errs)
				}
				want := tt.en
				if lang == "zh" {
					want = tt.zh
				}
				if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
					t.Errorf("%s: stderr %q; want one line containing %q", lang, errs, want)
				}
				if strings.Contains(errs, "goroutine") || out != "" {
					t.Errorf("%s: unexpected output %q / %q", lang, out, errs)
				}
				if after := e.rows(); after != before {
					t.Errorf("%s: %d audit rows written by a refused command", lang, after-before)
				}
			}
		})
	}
}

func TestWeakSerialWithExtraIdentity(t *testing.T) {
	e := newEnv(t)
	e.setup()
	hash := strings.Repeat("ab", 32)
	out, errs, code := e.run("media", "register", "--kind", "usb-disk", "--vendor", "090c", "--product", "1000",
		"--serial", "0123456789ABCDEF", "--capacity", "16008609792", "--descriptor-hash", hash, "--level", "secret", "--custodian", "lisi")
	if code != 0 || !strings.HasPrefix(out, "S-") || !strings.Contains(errs, "is weak") || !strings.Contains(errs, "extra identity") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
}

func TestEmptyListings(t *testing.T) {
	e := newEnv(t)
	e.create()
	for _, args := range [][]string{{"media", "list", "--json"}, {"person", "list", "--json"}, {"log", "--json"}} {
		if out := strings.TrimSpace(e.ok(args...)); out != "[]" {
			t.Errorf("%v = %q; want []", args, out)
		}
	}
	if _, errs, code := e.run("host", "show"); code != 1 || !strings.Contains(errs, "not initialised") {
		t.Errorf("host show before init: %d %q", code, errs)
	}
}

// TestTamperWithSQLiteTool edits the log with the sqlite3 command-line tool.
func TestTamperWithSQLiteTool(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 tool not installed (scripts/test.sh installs it)")
	}
	e := newEnv(t)
	e.setup()
	e.ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "TAMPER01", "--level", "secret", "--custodian", "lisi")
	e.ok("audit", "verify")
	sql := `DROP TRIGGER events_no_update; UPDATE events SET details = replace(details, 'lisi', 'wangwu') WHERE kind = 'medium.register';`
	if out, err := exec.Command(sqlite3, e.db, sql).CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v: %s", err, out)
	}
	_, errs, code := e.run("audit", "verify")
	if code != ExitBroken || !strings.Contains(errs, "row 5") || !strings.Contains(errs, "edited") {
		t.Errorf("verify after edit: exit %d, %q", code, errs)
	}
	var res verifyResult
	out, _, _ := e.run("audit", "verify", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Intact || res.FirstBad != 5 {
		t.Errorf("verify --json = %q (%v)", out, err)
	}
}

// TestConcurrentCLIWriters runs two mediagate processes registering at the same time.
func TestConcurrentCLIWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	e := newEnv(t)
	e.setup()
	const perProc = 15
	var wg sync.WaitGroup
	errs := make(chan string, 2*perProc)
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProc {
				cmd := exec.Command(os.Args[0], "media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
					"--serial", fmt.Sprintf("PROC%dSER%03d", p, i), "--level", "secret", "--custodian", "lisi")
				cmd.Env = append(os.Environ(), "MEDIAGATE_TEST_AS_CLI=1", "MEDIAGATE_DB="+e.db, "MEDIAGATE_SOCKET="+e.socket)
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Sprintf("%v: %s", err, out)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	var list []media.Medium
	json.Unmarshal([]byte(e.ok("media", "list", "--json")), &list)
	seen := map[string]bool{}
	for _, m := range list {
		if seen[m.Number] {
			t.Errorf("number %s given twice", m.Number)
		}
		seen[m.Number] = true
	}
	if len(list) != 2*perProc {
		t.Errorf("%d media registered; want %d", len(list), 2*perProc)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, fmt.Sprintf("%d rows", 4+2*perProc)) {
		t.Errorf("verify = %q", out)
	}
}
