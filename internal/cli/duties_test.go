package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
)

// TestNumberingShowsRealNext: numbering show gives the number the next registration
// of each level really gets, counting the sequence so far and numbers taken by hand.
func TestNumberingShowsRealNext(t *testing.T) {
	e := newEnv(t)
	e.setup()
	y := time.Now().Year()
	e.registerUSB("AB12CD34EF01", "secret", "lisi")
	e.registerUSB("AB12CD34EF02", "secret", "lisi")
	want := fmt.Sprintf("S-%d-0003", y)
	if out := e.ok("numbering", "show"); !strings.Contains(out, "secret "+want) || !strings.Contains(out, fmt.Sprintf("confidential C-%d-0001", y)) {
		t.Errorf("numbering show = %q; want next secret %s", out, want)
	}
	e.ok("media", "register", "--kind", "usb", "--vendor", "0781", "--product", "5567", "--serial", "AB12CD34EF03",
		"--level", "secret", "--custodian", "lisi", "--number", want)
	if out := e.ok("numbering", "show"); !strings.Contains(out, fmt.Sprintf("secret S-%d-0004", y)) {
		t.Errorf("after %s was taken by hand, numbering show = %q", want, out)
	}
	if got := e.registerUSB("AB12CD34EF04", "secret", "lisi"); got != fmt.Sprintf("S-%d-0004", y) {
		t.Errorf("registered %s; numbering show promised S-%d-0004", got, y)
	}
	if out := e.ok("numbering", "show", "--json"); !strings.Contains(out, `"next"`) || !strings.Contains(out, fmt.Sprintf(`"secret": "S-%d-0005"`, y)) {
		t.Errorf("numbering show --json = %s", out)
	}
}

// TestHostInitGuards: re-running host init without --department keeps it, and
// lowering the host's level asks (a script gives --yes).
func TestHostInitGuards(t *testing.T) {
	e := newEnv(t)
	e.setup() // HOST-01, secret, department Office
	e.ok("host", "init", "--number", "HOST-01", "--level", "secret")
	if out := e.ok("host", "show"); !strings.Contains(out, "Office") {
		t.Errorf("host init without --department dropped it:\n%s", out)
	}
	before := e.rows()
	if _, errs, code := e.run("host", "init", "--number", "HOST-01", "--level", "confidential"); code != ExitUsage || !strings.Contains(errs, "--yes") {
		t.Errorf("lower the level without --yes: exit %d, %q", code, errs)
	}
	e.in = "no\n"
	if _, _, code := e.run("host", "init", "--number", "HOST-01", "--level", "confidential"); code != ExitError {
		t.Errorf("lower the level, answered no: exit %d", code)
	}
	e.in = ""
	if e.rows() != before {
		t.Errorf("a refused lowering wrote audit rows")
	}
	e.ok("host", "init", "--number", "HOST-01", "--level", "confidential", "--yes")
	if out := e.ok("host", "show"); !strings.Contains(out, "confidential") {
		t.Errorf("host not lowered:\n%s", out)
	}
}

// TestLoansListed: media list --status lent shows borrower and return date; --overdue
// only the loans past it.
func TestLoansListed(t *testing.T) {
	e := newEnv(t)
	e.setup()
	a := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	b := e.registerUSB("AB12CD34EF02", "secret", "zhangsan")
	now := time.Now()
	e.ok("media", "lend", a, "--to", "lisi", "--due", now.AddDate(0, 0, 2).Format("2006-01-02"), "--approved-by", "wangwu")
	e.ok("media", "lend", b, "--to", "wangwu", "--due", now.AddDate(0, 0, 10).Format("2006-01-02"), "--approved-by", "lisi")
	out := e.ok("media", "list", "--status", "lent")
	if !strings.Contains(out, "BORROWER") || !strings.Contains(out, "lisi") || !strings.Contains(out, now.AddDate(0, 0, 2).Format("2006-01-02")) {
		t.Errorf("list --status lent lacks borrower or due date:\n%s", out)
	}
	if out := strings.TrimSpace(e.ok("media", "list", "--overdue", "--json")); out != "[]" {
		t.Errorf("nothing is overdue yet: %s", out)
	}
	e.now = now.AddDate(0, 0, 5)
	out = e.ok("media", "list", "--overdue")
	if !strings.Contains(out, a) || strings.Contains(out, b) || !strings.Contains(out, "3 days") {
		t.Errorf("list --overdue five days on:\n%s", out)
	}
	if out := e.ok("--lang", "zh", "media", "list", "--overdue"); !strings.Contains(out, "借用人") || !strings.Contains(out, "逾期") {
		t.Errorf("zh:\n%s", out)
	}
	if _, _, code := e.run("media", "list", "--overdue", "--status", "active"); code != ExitUsage {
		t.Errorf("--overdue --status active: exit %d", code)
	}
}

// follow starts `mediagate log --follow args…` and returns its output and a stop
// function that cancels it and returns its exit code.
func (e *env) follow(args ...string) (*lockedBuffer, func() int) {
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	app := &App{Out: out, Err: errb, Now: time.Now, Getenv: func(k string) string {
		if k == "MEDIAGATE_DB" {
			return e.db
		}
		if k == "MEDIAGATE_SOCKET" {
			return e.socket
		}
		return ""
	}, Actor: audit.Actor{UID: 0, User: "root"}}
	done := make(chan int)
	go func() {
		done <- Run(ctx, app, append(append(emptyRoots(e.t), "log", "--follow", "--interval", "20ms"), args...))
	}()
	return out, func() int { cancel(); return <-done }
}

func waitFor(t *testing.T, b *lockedBuffer, want string) {
	t.Helper()
	for i := 0; i < 500 && !strings.Contains(b.String(), want); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(b.String(), want) {
		t.Fatalf("never printed %q:\n%s", want, b.String())
	}
}

// TestLogFollow: log --follow prints the rows so far, then each new row as it is
// written by another process, as a table or one JSON object per line; it stops
// cleanly when interrupted.
func TestLogFollow(t *testing.T) {
	e := newEnv(t)
	e.setup()
	out, stop := e.follow("--kind", "medium.")
	jsonOut, stopJSON := e.follow("--json")
	waitFor(t, out, "SEQ")
	num := e.registerUSB("AB12CD34EF01", "secret", "lisi")
	waitFor(t, out, num)
	waitFor(t, jsonOut, `"medium":"`+num+`"`)
	e.ok("media", "lost", num)
	waitFor(t, out, "medium.lost")
	if code := stop(); code != 0 {
		t.Errorf("follow stopped with exit %d", code)
	}
	stopJSON()
	if strings.Count(out.String(), "SEQ") != 1 || strings.Contains(out.String(), "person.add") {
		t.Errorf("follow output:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(jsonOut.String()), "\n")
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("--follow --json line %q: %v", l, err)
		}
	}
	if len(lines) < e.rows()-1 {
		t.Errorf("--follow --json printed %d rows of %d", len(lines), e.rows())
	}
	if _, _, code := e.run("log", "--follow", "--until", "2026-01-01"); code != ExitUsage {
		t.Errorf("--follow --until: exit %d", code)
	}
}

// TestSummary: the overview counts by level × status × department (adding up to the
// register), lists overdue loans, lost and in-repair media and the open campaign, in
// both languages, without a daemon.
func TestSummary(t *testing.T) {
	e := newEnv(t)
	e.setup()
	a := e.registerUSB("AB12CD34EF01", "secret", "zhangsan") // 办公室
	b := e.registerUSB("AB12CD34EF02", "secret", "zhangsan")
	c := e.registerUSB("AB12CD34EF03", "confidential", "lisi")
	d := e.registerUSB("AB12CD34EF04", "top-secret", "lisi")
	e.ok("media", "lend", a, "--to", "lisi", "--due", time.Now().AddDate(0, 0, 1).Format("2006-01-02"), "--approved-by", "wangwu")
	e.ok("media", "lost", c)
	e.ok("media", "repair", d, "--approved-by", "wangwu", "--repairer", "R", "--place", "P")
	e.ok("checkin", "open")
	e.now = time.Now().AddDate(0, 0, 3)
	var sum struct {
		Total  int `json:"total"`
		Counts []struct {
			Level, Status, Department string
			Count                     int
		} `json:"counts"`
		OverdueRaw []map[string]any    `json:"overdue"`
		LostRaw    []map[string]any    `json:"lost"`
		RepairRaw  []map[string]any    `json:"in_repair"`
		Campaign   *struct{ Year int } `json:"campaign"`
	}
	if err := json.Unmarshal([]byte(e.ok("summary", "--json")), &sum); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range sum.Counts {
		n += c.Count
	}
	if sum.Total != 4 || n != 4 || len(sum.OverdueRaw) != 1 || sum.OverdueRaw[0]["number"] != a || len(sum.LostRaw) != 1 ||
		len(sum.RepairRaw) != 1 || sum.Campaign == nil {
		t.Errorf("summary: %+v", sum)
	}
	found := false
	for _, c := range sum.Counts {
		if c.Level == "secret" && c.Status == "active" && c.Department == "办公室" && c.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no count of 1 active secret medium of 办公室 (%s): %+v", b, sum.Counts)
	}
	out := e.ok("--lang", "zh", "summary")
	for _, want := range []string{"登记库共有介质 4 件", "机密", "逾期未还：1 件", "丢失：1 件", "送修：1 件", "年终交存进行中", a} {
		if !strings.Contains(out, want) {
			t.Errorf("zh summary lacks %q:\n%s", want, out)
		}
	}
}

// TestCompletion: the shell completes medium numbers, handles, levels (also in
// Chinese), statuses and the host number from the register.
func TestCompletion(t *testing.T) {
	e := newEnv(t)
	e.setup()
	num := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"media", "show", ""}, []string{num}, nil},
		{[]string{"checkin", "mark", num, ""}, []string{num}, nil},
		{[]string{"media", "handover", num, "--to", ""}, []string{"zhangsan", "lisi", "wangwu"}, nil},
		{[]string{"media", "handover", num, "--to", "l"}, []string{"lisi"}, []string{"zhangsan"}},
		{[]string{"media", "list", "--level", ""}, []string{"secret", "机密", "top-secret"}, nil},
		{[]string{"media", "list", "--status", "l"}, []string{"lent", "lost"}, []string{"active"}},
		{[]string{"log", "--host", ""}, []string{"HOST-01"}, nil},
		{[]string{"log", "--kind", "medium.l"}, []string{"medium.lend", "medium.lost"}, nil},
		{[]string{"person", "show", "zh"}, []string{"zhangsan"}, nil},
	} {
		out := e.ok(append([]string{"__complete"}, tc.args...)...)
		for _, w := range tc.want {
			if !slices.Contains(strings.Split(out, "\n"), w) {
				t.Errorf("complete %v lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(strings.Split(out, "\n"), w) {
				t.Errorf("complete %v offers %q:\n%s", tc.args, w, out)
			}
		}
	}
	// Completion never creates a register.
	m := &env{t: t, db: e.db + ".typo", socket: e.socket}
	m.ok("__complete", "media", "show", "")
	if _, err := os.Stat(m.db); err == nil {
		t.Errorf("completion created %s", m.db)
	}
}

// TestManPages: a page per command, in English and Chinese, that groff renders
// without warnings when it is installed.
func TestManPages(t *testing.T) {
	e := newEnv(t)
	for _, lang := range []string{"en", "zh"} {
		dir := filepath.Join(t.TempDir(), lang)
		e.ok("--lang", lang, "man", "--dir", dir)
		for path := range runnable(t) {
			if path == "help" {
				continue
			}
			name := "mediagate-" + strings.ReplaceAll(path, " ", "-") + ".1"
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s: no page for %q: %v", lang, path, err)
				continue
			}
			want := map[string]string{"en": ".SH NAME", "zh": ".SH 名称"}[lang]
			if !strings.Contains(string(b), want) || !strings.Contains(string(b), ".B mediagate "+roff(path)) {
				t.Errorf("%s page %s:\n%s", lang, name, b)
			}
		}
		page := filepath.Join(dir, "mediagate-media-destroy.1")
		b, _ := os.ReadFile(page)
		for _, want := range map[string][]string{"en": {"\\-\\-witness", "EXAMPLES", "mediagate media destroy"}, "zh": {"\\-\\-witness", "示例", "登记介质销毁"}}[lang] {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s destroy page lacks %q:\n%s", lang, want, b)
			}
		}
		if groff, err := exec.LookPath("groff"); err == nil && lang == "en" {
			out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("groff on %s: %v\n%s", page, err, out)
			}
		}
	}
	if _, err := os.Stat(e.db); err == nil {
		t.Errorf("man created a register")
	}
}

// TestRelevelNumberCLI: after raising the level the medium is shown under its new
// number with the former one, and found by either.
func TestRelevelNumberCLI(t *testing.T) {
	e := newEnv(t)
	e.setup()
	y := time.Now().Year()
	old := e.registerUSB("AB12CD34EF01", "confidential", "zhangsan")
	out := e.ok("media", "relevel", old, "--level", "secret")
	neu := fmt.Sprintf("S-%d-0001", y)
	if !strings.Contains(out, neu) {
		t.Fatalf("relevel: %q; want the new number %s", out, neu)
	}
	for _, n := range []string{old, neu} {
		show := e.ok("media", "show", n)
		if !strings.Contains(show, "Former numbers  "+old) || !strings.Contains(show, "Number          "+neu) || !strings.Contains(show, "medium.register") {
			t.Errorf("media show %s:\n%s", n, show)
		}
	}
	if out := e.ok("log", "--medium", old); !strings.Contains(out, "medium.relevel") || !strings.Contains(out, "medium.register") {
		t.Errorf("log --medium %s:\n%s", old, out)
	}
}
