package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
)

// runnable lists the command paths (without "mediagate ") of every command that runs
// something, walking the tree the CLI builds.
func runnable(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	app := &App{Out: io.Discard, Err: io.Discard, Now: time.Now, Getenv: func(string) string { return "" }, Actor: audit.Actor{}}
	root := NewRootCommand(app)
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Runnable() && !c.Hidden && c.HasParent() && !c.HasSubCommands() {
			out[strings.TrimPrefix(c.CommandPath(), "mediagate ")] = c
		}
	}
	walk(root)
	return out
}

// copyDB copies a register (closed, so without a WAL) to a new file.
func copyDB(t *testing.T, from string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// TestJSONEveryCommand walks the command tree: every command either prints JSON with
// --json (one value, or one value per line for the ones that follow) or refuses it as
// a usage error. A command added without an entry here fails the test.
func TestJSONEveryCommand(t *testing.T) {
	base := newEnv(t)
	base.setup()
	num := base.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	due := time.Now().AddDate(0, 0, 7).Format("2006-01-02")
	year := itoa(time.Now().Year())
	open := []string{"checkin", "open"}
	mark := []string{"checkin", "mark", num, "--reason", "r", "--by", "zhangsan"}
	stick := fixtureFlags("qemu-usb-storage")
	sheet := filepath.Join(t.TempDir(), "register.csv")
	if err := os.WriteFile(sheet, []byte("编号,密级,类型,责任人\nS-2026-0900,机密,U盘,lisi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	imp := []string{"media", "import", sheet}
	office := func() string { return filepath.Join(t.TempDir(), "office") }
	officeDir := office()
	serverInit := []string{"server", "init", "--dir", officeDir, "--name", "localhost", "--officer", "zhangsan"}
	hostAdd := []string{"server", "host", "add", "HOST-09", "--level", "secret"}
	reportDir, verifyDir := office(), office()
	packet := filepath.Join(t.TempDir(), "packet")
	makePacket := []string{"server", "report", "inspection", "--dir", verifyDir, "--year", year, "-o", packet}
	// The standalone host's files (each case its own office: cases run in parallel).
	exportDir, enrollDir, carried := office(), office(), t.TempDir()
	request := filepath.Join(carried, "HOST-09.request")
	cases := map[string]struct {
		prep [][]string
		args []string
		skip string
	}{
		"audit verify":         {},
		"checkin open":         {args: []string{"--year", year}},
		"checkin mark":         {prep: [][]string{open}, args: []string{num, "--reason", "r", "--by", "zhangsan"}},
		"checkin plug":         {prep: [][]string{append(slices.Clone(stick), "media", "register", "--from-device", "/dev/sda", "--level", "secret", "--custodian", "lisi"), open}, args: append([]string{"--from-device", "/dev/sda"}, stick...)},
		"checkin status":       {prep: [][]string{open}},
		"checkin report":       {prep: [][]string{open}},
		"checkin close":        {prep: [][]string{open}, args: []string{"--yes"}},
		"checkin watch":        {prep: [][]string{open, mark}},
		"daemon":               {},
		"devices":              {},
		"host init":            {args: []string{"--number", "HOST-02", "--level", "secret"}},
		"host show":            {},
		"log":                  {},
		"media register":       {args: []string{"--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "AB12CD34EF09", "--level", "secret", "--custodian", "lisi"}},
		"media list":           {},
		"media show":           {args: []string{num}},
		"media handover":       {args: []string{num, "--to", "lisi", "--witness", "wangwu"}},
		"media lend":           {args: []string{num, "--to", "lisi", "--due", due, "--approved-by", "wangwu"}},
		"media return":         {prep: [][]string{{"media", "lend", num, "--to", "lisi", "--due", due, "--approved-by", "wangwu"}}, args: []string{num}},
		"media lost":           {args: []string{num}},
		"media found":          {prep: [][]string{{"media", "lost", num}}, args: []string{num}},
		"media repair":         {args: []string{num, "--approved-by", "wangwu", "--repairer", "R", "--place", "P"}},
		"media repaired":       {prep: [][]string{{"media", "repair", num, "--approved-by", "wangwu", "--repairer", "R", "--place", "P"}}, args: []string{num}},
		"media destroy":        {args: []string{num, "--method", "shredded", "--approved-by", "wangwu", "--witness", "lisi"}},
		"media retire":         {args: []string{num}},
		"media relevel":        {args: []string{num, "--level", "top-secret"}},
		"media issue":          {prep: [][]string{open, mark, {"checkin", "close", "--yes"}}, args: []string{num, "--to", "zhangsan"}},
		"numbering show":       {},
		"numbering set":        {args: []string{"--code", "secret=JM"}},
		"person add":           {args: []string{"zhaoliu", "--name", "赵六"}},
		"person list":          {},
		"person show":          {args: []string{"zhangsan"}},
		"person update":        {args: []string{"zhangsan", "--email", "z@example.org"}},
		"person deactivate":    {args: []string{"wangwu"}},
		"status":               {skip: "needs a running daemon on the control socket; it prints the daemon's status as JSON (runStatus)"},
		"version":              {},
		"media request":        {skip: "needs an office server: it prints the request as JSON (runMediaRequest)"},
		"host enroll":          {skip: "needs an office server: it prints the enrolment as JSON (runHostEnroll)"},
		"summary":              {prep: [][]string{open}},
		"media form":           {args: []string{"register", num}},
		"media import":         {args: []string{sheet}},
		"server init":          {args: []string{"--dir", office(), "--name", "localhost", "--officer", "zhangsan"}},
		"server officer add":   {prep: [][]string{serverInit}, args: []string{"lisi", "--dir", officeDir}},
		"server run":           {},
		"server host add":      {args: []string{"HOST-09", "--level", "secret"}},
		"server host list":     {prep: [][]string{hostAdd}},
		"server host show":     {prep: [][]string{hostAdd}, args: []string{"HOST-09"}},
		"server host token":    {prep: [][]string{hostAdd}, args: []string{"HOST-09"}},
		"server host set":      {prep: [][]string{hostAdd}, args: []string{"HOST-09", "--location", "room 2"}},
		"server host revoke":   {prep: [][]string{hostAdd}, args: []string{"HOST-09", "--reason", "replaced"}},
		"server host freeze":   {prep: [][]string{hostAdd}, args: []string{"HOST-09", "--reason", "log rolled back"}},
		"server host unfreeze": {prep: [][]string{hostAdd}, args: []string{"HOST-09", "--reason", "checked"}},
		"server requests":      {},
		"server report inspection": {prep: [][]string{{"server", "init", "--dir", reportDir, "--name", "localhost", "--officer", "zhangsan"}},
			args: []string{"--dir", reportDir, "--year", year, "-o", filepath.Join(t.TempDir(), "packet")}},
		"report verify": {prep: [][]string{{"server", "init", "--dir", verifyDir, "--name", "localhost", "--officer", "zhangsan"}, makePacket},
			args: []string{packet, "--dir", verifyDir}},
		"server requests approve": {skip: "needs a registration request sent by an enrolled host over mutual TLS (internal/office/server TestRegistrationRequest); it prints the approval as JSON (cmd_server.go)"},
		"server requests reject":  {skip: "needs a registration request sent by an enrolled host over mutual TLS (internal/office/server TestRegistrationRequest); it prints the rejection as JSON (cmd_server.go)"},
		"media bind":              {prep: [][]string{imp}, args: append([]string{"S-2026-0900", "--from-device", "/dev/sda"}, stick...)},
		"media label":             {args: []string{num}},
		"policy export": {prep: [][]string{{"server", "init", "--dir", exportDir, "--name", "localhost", "--officer", "zhangsan"}, hostAdd},
			args: []string{"--dir", exportDir, "--host", "HOST-09", "-o", filepath.Join(carried, "HOST-09.policy")}},
		"server host enroll-file": {prep: [][]string{{"server", "init", "--dir", enrollDir, "--name", "localhost", "--officer", "zhangsan"}, hostAdd,
			{"host", "enroll", "--request", "--host", "HOST-09", "-o", request}},
			args: []string{"HOST-09", request, "-o", filepath.Join(carried, "HOST-09.answer"), "--approve", "--dir", enrollDir}},
		"policy import":         {skip: "needs a host enrolled by file: TestStandaloneRoundTrip runs it with --json"},
		"log export":            {skip: "needs a host enrolled by file: TestStandaloneRoundTrip runs it with --json"},
		"log import":            {skip: "needs a host's log file: TestStandaloneRoundTrip runs it with --json"},
		"log ack":               {skip: "needs the office's acknowledgement: TestStandaloneRoundTrip runs it with --json"},
		"help":                  {},
		"completion bash":       {},
		"completion zsh":        {},
		"completion fish":       {},
		"completion powershell": {},
	}
	for path, c := range runnable(t) {
		tc, ok := cases[path]
		if !ok {
			t.Errorf("%s: no case in TestJSONEveryCommand: add one (does it honour --json or refuse it?)", path)
			continue
		}
		if tc.skip != "" {
			continue
		}
		t.Run(path, func(t *testing.T) {
			t.Parallel() // each on its own copy of the register
			e := &env{t: t, db: copyDB(t, base.db), socket: base.socket}
			for _, p := range tc.prep {
				e.ok(p...)
			}
			args := append(append([]string{"--json"}, strings.Fields(path)...), tc.args...)
			out, errs, code := e.run(args...)
			switch {
			case refusesJSON(c):
				if code != ExitUsage || !strings.Contains(errs, "--json") {
					t.Errorf("refuses --json but: exit %d, %q", code, errs)
				}
			case code != 0:
				t.Errorf("exit %d: %s", code, errs)
			case json.Valid([]byte(out)):
			default:
				lines := strings.Split(strings.TrimSpace(out), "\n")
				for _, l := range lines {
					if !json.Valid([]byte(l)) {
						t.Errorf("--json printed what is not JSON:\n%s", out)
						break
					}
				}
			}
		})
	}
}

// TestJSONConflicts: --json with another output format asked for is refused, never
// silently one of the two.
func TestJSONConflicts(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.ok("checkin", "open")
	for _, args := range [][]string{
		{"--json", "checkin", "report", "--format", "csv"},
		{"--json", "checkin", "report", "--format", "html"},
		{"--json", "log", "--csv"},
	} {
		if out, errs, code := e.run(args...); code != ExitUsage || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and nothing printed", args, code, out, errs, ExitUsage)
		}
	}
	if out := e.ok("--json", "checkin", "report", "--format", "json"); !json.Valid([]byte(out)) {
		t.Errorf("--json --format json: %s", out)
	}
}

// TestCheckinMarkBatch: checkin mark takes many numbers; each refused one is named and
// the others are checked in; the exit status says some failed.
func TestCheckinMarkBatch(t *testing.T) {
	e := newEnv(t)
	e.setup()
	a := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	b := e.registerUSB("AB12CD34EF02", "secret", "lisi")
	c := e.registerUSB("AB12CD34EF03", "secret", "lisi")
	e.ok("checkin", "open")
	if _, _, code := e.run("checkin", "mark", a, a, "--reason", "r", "--by", "lisi"); code != ExitUsage {
		t.Errorf("a number given twice: exit %d", code)
	}
	e.ok("checkin", "mark", a, "--reason", "r", "--by", "zhangsan")
	out, errs, code := e.run("checkin", "mark", a, b, "S-404", c, "--reason", "no reader", "--by", "lisi", "--cabinet", "B")
	if code != ExitError || !strings.Contains(errs, a+": ") || !strings.Contains(errs, "S-404: ") || !strings.Contains(errs, "2 of 4") {
		t.Errorf("batch mark: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, b) || !strings.Contains(out, c) {
		t.Errorf("batch mark output lacks %s and %s:\n%s", b, c, out)
	}
	if st := e.ok("checkin", "status"); !strings.Contains(st, "3 (by hand 3)") {
		t.Errorf("after the batch:\n%s", st)
	}
}
