package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
)

// registerUSB registers a USB stick by flags and returns its number.
func (e *env) registerUSB(serial, level, custodian string) string {
	e.t.Helper()
	return strings.TrimSpace(e.ok("media", "register", "--kind", "usb", "--vendor", "0781", "--product", "5567", "--serial", serial,
		"--level", level, "--custodian", custodian))
}

func TestCheckinCampaign(t *testing.T) {
	e := newEnv(t)
	e.setup()
	stick := fixtureFlags("qemu-usb-storage")
	other := fixtureFlags("usb2-stick")
	year := time.Now().Year()
	vaulted := e.registerUSB("AB12CD34EF03", "confidential", "lisi")

	// Bad input: one line, non-zero exit, nothing written.
	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"checkin", "mark", vaulted, "--reason", "cracked", "--by", "lisi"}, 1, "no check-in campaign is open"},
		{[]string{"--lang", "zh", "checkin", "mark", vaulted, "--reason", "cracked", "--by", "lisi"}, 1, "没有进行中的年终交存"},
		{[]string{"checkin", "close"}, 1, "no check-in campaign is open"},
		{[]string{"checkin", "status"}, 1, "no check-in campaign is open"},
		{[]string{"checkin", "open", "--year", "2026", "--deadline", "2001-01-01"}, 2, "invalid deadline"},
		{[]string{"checkin", "open", "--deadline", "31.12."}, 2, "bad date"},
		{[]string{"checkin", "report", "--format", "pdf"}, 2, "unknown --format"},
		{[]string{"media", "issue", vaulted, "--to", "lisi"}, 1, "issue needs status in-vault"},
		{[]string{"--lang", "zh", "media", "issue", vaulted, "--to", "lisi"}, 1, "发放要求状态为入柜保存"},
	}
	check := func(args []string, code int, want string) {
		t.Helper()
		before := e.rows()
		_, errs, got := e.run(args...)
		if got != code || !strings.Contains(errs, want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d, %q", args, got, errs, code, want)
		}
		if e.rows() != before {
			t.Errorf("%v wrote audit rows", args)
		}
	}
	for _, b := range bad {
		check(b.args, b.code, b.want)
	}

	// A medium already in the vault before the campaign is not expected.
	e.ok("checkin", "open", "--year", "2020", "--deadline", time.Now().AddDate(0, 0, 1).Format("2006-01-02"))
	e.ok("checkin", "mark", vaulted, "--reason", "kept", "--by", "lisi")
	// Before the deadline a close asks; a script without --yes, or a "no", changes nothing.
	check([]string{"checkin", "close"}, ExitUsage, "--yes")
	e.in = "n\n"
	check([]string{"checkin", "close"}, ExitError, "not confirmed")
	if out := e.ok("checkin", "close", "--dry-run"); !strings.Contains(out, "would put 1 in the vault") || !strings.Contains(out, "has not passed") {
		t.Errorf("close --dry-run: %q", out)
	}
	if !strings.Contains(e.ok("checkin", "status"), "open") {
		t.Fatal("a dry run closed the campaign")
	}
	e.in = "y\n"
	e.ok("checkin", "close")
	e.in = ""
	if !strings.Contains(e.ok("media", "show", vaulted), "in-vault") {
		t.Fatalf("%s not in the vault after close", vaulted)
	}
	plugged := strings.TrimSpace(e.ok(append(stick, "media", "register", "--from-device", "/dev/sda", "--level", "secret", "--custodian", "zhangsan")...))
	cracked := e.registerUSB("AB12CD34EF01", "confidential", "lisi")
	missing := e.registerUSB("AB12CD34EF02", "confidential", "lisi")

	out := e.ok("checkin", "open", "--year", itoa(year))
	if !strings.Contains(out, "3 media expected") {
		t.Errorf("open: %q", out)
	}
	for _, b := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"checkin", "open", "--year", itoa(year)}, 1, "already exists"},
		{[]string{"--lang", "zh", "checkin", "open", "--year", itoa(year + 1)}, 1, "年度的年终交存尚未结束"},
		{[]string{"checkin", "mark", "S-1999-0001", "--reason", "x", "--by", "lisi"}, 1, "medium S-1999-0001 not found"},
		{[]string{"checkin", "mark", vaulted, "--reason", "x", "--by", "lisi"}, 1, "is not expected in the " + itoa(year)},
		{[]string{"checkin", "mark", cracked, "--by", "lisi", "--reason", " "}, 2, "invalid reason"},
		{[]string{"checkin", "mark", cracked, "--by", "nobody", "--reason", "x"}, 1, "person nobody not found"},
		{[]string{"checkin", "plug"}, 2, "give a medium number or --from-device"},
		{[]string{"checkin", "plug", cracked}, 1, "is not attached"},
	} {
		check(b.args, b.code, b.want)
	}

	// Physical check-ins: the registered stick is taken; an unregistered stick and a
	// stick presented as another number are refused, and the refusals are logged.
	before := e.rows()
	if _, errs, code := e.run(append(other, "checkin", "plug", "--from-device", "/dev/sdb")...); code != 1 || !strings.Contains(errs, "not a registered medium") {
		t.Errorf("unregistered stick: %d %q", code, errs)
	}
	if _, errs, code := e.run(append(stick, "checkin", "plug", missing, "--from-device", "/dev/sda")...); code != 1 || !strings.Contains(errs, "registered as "+plugged) {
		t.Errorf("stick presented as %s: %d %q", missing, code, errs)
	}
	if got := e.rows(); got != before+2 {
		t.Errorf("refusals wrote %d rows; want 2", got-before)
	}
	var refusals []audit.Event
	json.Unmarshal([]byte(e.ok("log", "--json")), &refusals)
	if r := refusals[len(refusals)-2]; r.Kind != "checkin.refused" || !strings.Contains(string(r.Details), "not registered") {
		t.Errorf("refusal row = %s %s", r.Kind, r.Details)
	}
	out = e.ok(append(stick, "checkin", "plug", plugged, "--cabinet", "A", "--slot", "1")...)
	if !strings.Contains(out, "checked in "+plugged+" (zhangsan), cabinet A slot 1; left: zhangsan 0, all 2") {
		t.Errorf("plug: %q", out)
	}
	check(append(stick, "checkin", "plug", "--from-device", "/dev/sda"), 1, "is already checked in")
	out = e.ok("checkin", "mark", cracked, "--reason", "disc cracked", "--by", "zhangsan", "--cabinet", "A", "--slot", "2")
	if !strings.Contains(out, "MANUAL: disc cracked (handed in by zhangsan); left: lisi 1, all 1") {
		t.Errorf("mark: %q", out)
	}

	status := e.ok("checkin", "status")
	for _, want := range []string{itoa(year) + " (open)", "Expected        3", "Checked in      2 (by hand 1)", "Outstanding     1 (overdue 0)"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	var rep checkin.Report
	if err := json.Unmarshal([]byte(e.ok("checkin", "report", "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Expected != 3 || rep.Totals.Manual != 1 || len(rep.Groups) != 2 || rep.Groups[0].Key != "lisi" {
		t.Errorf("json report = %+v", rep)
	}
	if p := rep.Pending(); len(p) != 1 || p[0].Number != missing {
		t.Errorf("pending = %+v", p)
	}
	csvOut := e.ok("checkin", "report", "--by", "department", "--format", "csv", "--outstanding")
	if lines := strings.Split(strings.TrimSpace(csvOut), "\n"); len(lines) != 2 || !strings.Contains(lines[1], missing+",") || !strings.HasPrefix(lines[1], "Lab,") && !strings.HasPrefix(lines[1], ",") {
		t.Errorf("csv --outstanding:\n%s", csvOut)
	}
	if zh := e.ok("--lang", "zh", "checkin", "report"); !strings.Contains(zh, "手工登记交存") || !strings.Contains(zh, "未交") {
		t.Errorf("zh report:\n%s", zh)
	}

	out = e.ok("checkin", "close", "--yes")
	if !strings.Contains(out, "2 in the vault") || !strings.Contains(out, "missing: "+missing+" (custodian lisi)") {
		t.Errorf("close: %q", out)
	}
	check([]string{"checkin", "close"}, 1, "no check-in campaign is open")
	for num, want := range map[string]string{plugged: "in-vault", cracked: "in-vault", missing: "lost"} {
		var m struct{ Status string }
		json.Unmarshal([]byte(e.ok("media", "show", num, "--json")), &m)
		if m.Status != want {
			t.Errorf("%s is %s; want %s", num, m.Status, want)
		}
	}
	saved := e.ok("checkin", "report", "--year", itoa(year), "--saved")
	var closeRow event.CheckinClose
	var events []audit.Event
	json.Unmarshal([]byte(e.ok("log", "--json")), &events)
	for _, ev := range events {
		if ev.Kind == event.KindCheckinClose {
			var err error
			if closeRow, err = event.As[event.CheckinClose](ev.Kind, ev.Details); err != nil {
				t.Fatal(err)
			}
		}
	}
	if closeRow.ReportSHA256 != sha256hex(saved) || closeRow.ReportBytes != len(saved) || !strings.Contains(e.ok("checkin", "status"), sha256hex(saved)) {
		t.Errorf("saved report hash %s; close row %v", sha256hex(saved), closeRow)
	}
	if !strings.Contains(e.ok("audit", "verify"), "audit log intact") {
		t.Error("audit log broken")
	}

	out = e.ok("media", "issue", plugged, "--to", "lisi")
	if !strings.Contains(out, plugged+": active, secret, lisi") {
		t.Errorf("issue: %q", out)
	}
}

func TestCheckinWatch(t *testing.T) {
	e := newEnv(t)
	e.setup()
	a := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	b := e.registerUSB("AB12CD34EF02", "secret", "lisi")
	e.ok("checkin", "open")
	e.ok("checkin", "mark", a, "--reason", "cracked", "--by", "zhangsan")

	var out lockedBuffer
	done := make(chan int)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		app := &App{Out: &out, Err: &out, Now: time.Now, Actor: audit.Actor{UID: 0, User: "root"}, Paths: testPaths(t),
			Getenv: func(k string) string {
				if k == "MEDIAGATE_DB" {
					return e.db
				}
				return ""
			}}
		done <- Run(ctx, app, []string{"checkin", "watch", "--interval", "50ms"})
	}()
	for !strings.Contains(out.String(), "1 outstanding") {
		time.Sleep(20 * time.Millisecond)
	}
	e.ok("checkin", "mark", b, "--reason", "at hand", "--by", "lisi", "--cabinet", "B")
	if code := <-done; code != 0 {
		t.Fatalf("watch exit %d: %s", code, out.String())
	}
	got := out.String()
	for _, want := range []string{"checked in " + b + " (lisi), cabinet B slot ", "MANUAL: at hand", "left: lisi 0, all 0", "all expected media are accounted for"} {
		if !strings.Contains(got, want) {
			t.Errorf("watch output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "checked in "+a) {
		t.Errorf("watch repeated a check-in from before it started:\n%s", got)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sheetEnv prepares a campaign on a fixed clock and returns a runner on that clock.
func sheetEnv(t *testing.T) func(args ...string) string {
	t.Helper()
	oldLocal := time.Local
	time.Local = time.FixedZone("CST", 8*3600)
	t.Cleanup(func() { time.Local = oldLocal })
	db := filepath.Join(t.TempDir(), "mediagate.db")
	now := time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC)
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		app := &App{Out: &out, Err: &errb, Now: func() time.Time { return now }, Actor: audit.Actor{UID: 0, User: "root", Login: "officer"}, Paths: testPaths(t),
			Getenv: func(k string) string {
				if k == "MEDIAGATE_DB" {
					return db
				}
				return ""
			}}
		if code := Run(context.Background(), app, args); code != 0 {
			t.Fatalf("mediagate %v: exit %d: %s", args, code, errb.String())
		}
		now = now.Add(7 * time.Minute)
		return out.String()
	}
	run("host", "init", "--number", "VAULT-01", "--level", "secret")
	run("person", "add", "zhangsan", "--name", "张三", "--department", "办公室")
	run("person", "add", "lisi", "--name", "Li Si", "--department", "Lab")
	run("person", "add", "wangwu", "--name", "王五", "--department", "办公室")
	var nums []string
	for _, p := range []struct{ serial, level, cust string }{
		{"AB12CD34EF01", "secret", "zhangsan"}, {"AB12CD34EF02", "confidential", "zhangsan"}, {"AB12CD34EF03", "top-secret", "lisi"},
		{"AB12CD34EF04", "confidential", "lisi"}, {"AB12CD34EF05", "secret", "wangwu"},
	} {
		nums = append(nums, strings.TrimSpace(run("media", "register", "--kind", "usb", "--vendor", "0781", "--product", "5567",
			"--serial", p.serial, "--level", p.level, "--custodian", p.cust, "--brand-model", "SanDisk Cruzer Blade 32GB")))
	}
	run("media", "repair", nums[3], "--approved-by", "wangwu", "--repairer", "某数据恢复中心", "--place", "本单位")
	run("checkin", "open", "--year", "2026", "--deadline", "2026-12-31")
	run("checkin", "mark", nums[0], "--reason", "光盘破裂，无法读取", "--by", "zhangsan", "--cabinet", "A", "--slot", "1")
	run("checkin", "mark", nums[2], "--reason", "reader broken", "--by", "lisi", "--cabinet", "A", "--slot", "2")
	run("checkin", "mark", nums[3], "--reason", "at the repairer", "--by", "wangwu", "--away")
	run("media", "lost", nums[1], "--note", "出差途中遗失") // an incident: lost during the campaign
	return run
}

func TestCheckinSheetGolden(t *testing.T) {
	run := sheetEnv(t)
	for _, tc := range []struct{ lang, by, golden string }{
		{"en", "custodian", "checkin-sheet.en.html"},
		{"zh", "custodian", "checkin-sheet.zh.html"},
		{"en", "department", "checkin-sheet-department.en.html"},
		{"zh", "department", "checkin-sheet-department.zh.html"},
	} {
		got := run("--lang", tc.lang, "checkin", "report", "--format", "html", "--by", tc.by, "--unit", "某某单位保密办")
		golden := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s sheet differs from %s (run with -update after checking it):\n%s", tc.lang, golden, got)
		}
	}
}

// TestCheckinSheetAddsUp: every format accounts for every expected medium: the
// counts of the text report, the status, the HTML sheet and the JSON add up to the
// expected total, the withdrawn one included.
func TestCheckinSheetAddsUp(t *testing.T) {
	run := sheetEnv(t)
	var r struct {
		Totals struct {
			Expected    int `json:"expected"`
			CheckedIn   int `json:"checked_in"`
			Away        int `json:"away"`
			Outstanding int `json:"outstanding"`
			Missing     int `json:"missing"`
			Withdrawn   int `json:"withdrawn"`
		}
	}
	if err := json.Unmarshal([]byte(run("checkin", "report", "--format", "json")), &r); err != nil {
		t.Fatal(err)
	}
	tt := r.Totals
	if tt.Withdrawn != 1 || tt.Expected != tt.CheckedIn+tt.Away+tt.Outstanding+tt.Missing+tt.Withdrawn {
		t.Fatalf("json totals do not add up: %+v", tt)
	}
	sum := fmt.Sprintf("%d expected = %d checked in + %d away + %d outstanding + %d missing + %d withdrawn", tt.Expected, tt.CheckedIn, tt.Away, tt.Outstanding, tt.Missing, tt.Withdrawn)
	if page := html.UnescapeString(run("checkin", "report", "--format", "html")); !strings.Contains(page, sum) {
		t.Errorf("html sheet lacks %q", sum)
	}
	if text := run("checkin", "report"); !strings.Contains(text, fmt.Sprintf("withdrawn during the campaign (lost, destroyed or retired): %d", tt.Withdrawn)) {
		t.Errorf("text report lacks the withdrawn:\n%s", text)
	}
	if st := run("checkin", "status"); !strings.Contains(st, "Withdrawn       1") {
		t.Errorf("status lacks the withdrawn:\n%s", st)
	}
}

// TestCheckinSheetPDF prints the Chinese sheet to PDF with headless Chromium, when
// it is installed. MEDIAGATE_SHEET_PDF=path keeps the PDF for a look.
func TestCheckinSheetPDF(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	run := sheetEnv(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "sheet.html")
	if err := os.WriteFile(html, []byte(run("--lang", "zh", "checkin", "report", "--format", "html", "--unit", "某某单位保密办")), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "sheet.pdf")
	if keep := os.Getenv("MEDIAGATE_SHEET_PDF"); keep != "" {
		pdf = keep
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+html)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("chromium wrote %d bytes, not a PDF", len(b))
	}
	// What an inspector looks for on every printed page: the unit, the marking and
	// "page x of y" in the margins, the inspector's signature line.
	if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := strings.Join(strings.Fields(string(out)), "") // pdftotext spaces CJK text its own way
		pages := strings.Count(string(out), "\f")
		for _, want := range []string{"某某单位保密办", "绝密", fmt.Sprintf("第1页共%d页", pages), fmt.Sprintf("第%d页共%d页", pages, pages), "检查人（签字）", "交存期间的异常情况", "AB12CD34EF03"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%s", want, out)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
