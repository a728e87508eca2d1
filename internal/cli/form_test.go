package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
)

// formEnv records a medium through register, handover, lend, return, repair and
// destruction on a fixed clock and returns a runner on that clock.
func formEnv(t *testing.T) func(args ...string) (string, string, int) {
	t.Helper()
	oldLocal := time.Local
	time.Local = time.FixedZone("CST", 8*3600)
	t.Cleanup(func() { time.Local = oldLocal })
	db := filepath.Join(t.TempDir(), "mediagate.db")
	now := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		app := &App{Out: &out, Err: &errb, Now: func() time.Time { return now }, Paths: testPaths(t),
			Actor: audit.Actor{UID: 0, User: "root", Login: "officer"},
			Getenv: func(k string) string {
				if k == "MEDIAGATE_DB" {
					return db
				}
				return ""
			}}
		code := Run(context.Background(), app, append(emptyRoots(t), args...))
		now = now.Add(26 * time.Hour)
		return out.String(), errb.String(), code
	}
	ok := func(args ...string) {
		t.Helper()
		if _, errs, code := run(args...); code != 0 {
			t.Fatalf("mediagate %v: exit %d: %s", args, code, errs)
		}
	}
	ok("host", "init", "--number", "HOST-01", "--level", "top-secret", "--department", "办公室")
	ok("person", "add", "zhangsan", "--name", "张三", "--department", "办公室")
	ok("person", "add", "lisi", "--name", "李四", "--department", "办公室")
	ok("person", "add", "wangwu", "--name", "王五", "--department", "办公室")
	ok("person", "add", "zhaoliu", "--name", "赵六", "--department", "办公室")
	ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001231120109142",
		"--level", "secret", "--custodian", "zhangsan", "--note", "项目资料", "--brand-model", "SanDisk Cruzer Blade 32GB")
	ok("media", "handover", "S-2026-0001", "--to", "lisi", "--witness", "wangwu", "--note", "岗位调整")
	ok("media", "lend", "S-2026-0001", "--to", "zhaoliu", "--due", "2026-12-20", "--approved-by", "wangwu", "--note", "出差使用")
	ok("media", "return", "S-2026-0001")
	ok("media", "repair", "S-2026-0001", "--approved-by", "wangwu", "--repairer", "某数据恢复中心", "--place", "本单位保密室", "--note", "接口松动，已不可逆删除")
	ok("media", "repaired", "S-2026-0001")
	ok("media", "destroy", "S-2026-0001", "--method", "粉碎", "--approved-by", "wangwu", "--witness", "zhaoliu")
	return run
}

var chainHashRE = regexp.MustCompile(`[0-9a-f]{64}`)

// TestFormsGolden prints every form in both languages and compares it with its golden
// file (go test -run TestFormsGolden -update rewrites them).
func TestFormsGolden(t *testing.T) {
	run := formEnv(t)
	for _, kind := range []string{"register", "handover", "lend", "repair", "destroy"} {
		for _, lang := range []string{"en", "zh"} {
			got, errs, code := run("--lang", lang, "media", "form", kind, "S-2026-0001", "--unit", "某某单位保密办")
			if code != 0 {
				t.Fatalf("form %s %s: exit %d: %s", kind, lang, code, errs)
			}
			// The chain hash covers random ids: it is the one part that differs per run.
			got = chainHashRE.ReplaceAllString(got, "<chain hash>")
			golden := filepath.Join("testdata", "form-"+kind+"."+lang+".html")
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
				t.Errorf("form %s %s differs from %s (run with -update after checking it):\n%s", kind, lang, golden, got)
			}
		}
	}
	// The form comes from a record: none, no form; an unknown form is a usage error.
	if _, errs, code := run("media", "form", "lend", "S-2026-0404"); code != ExitError || !strings.Contains(errs, "S-2026-0404") {
		t.Errorf("form of an unknown medium: %d %q", code, errs)
	}
	if _, errs, code := run("media", "form", "melt", "S-2026-0001"); code != ExitUsage || !strings.Contains(errs, "unknown form") {
		t.Errorf("unknown form: %d %q", code, errs)
	}
}

// TestFormsRefuseWithoutRecord: a medium never lent has no loan form.
func TestFormsRefuseWithoutRecord(t *testing.T) {
	e := newEnv(t)
	e.setup()
	num := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	if _, errs, code := e.run("media", "form", "lend", num); code != ExitError || !strings.Contains(errs, "no lend record") {
		t.Errorf("loan form of a medium never lent: %d %q", code, errs)
	}
	if out := e.ok("media", "form", "register", num); !strings.Contains(out, "Registration of a classified storage medium") {
		t.Errorf("register form:\n%s", out)
	}
}

// TestFormPDF prints the Chinese destruction form to PDF with headless Chromium, when
// it is installed, and checks what is to be signed is on the page.
func TestFormPDF(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	run := formEnv(t)
	page, errs, code := run("--lang", "zh", "media", "form", "destroy", "S-2026-0001", "--unit", "某某单位保密办")
	if code != 0 {
		t.Fatalf("form: %s", errs)
	}
	dir := t.TempDir()
	html, pdf := filepath.Join(dir, "form.html"), filepath.Join(dir, "form.pdf")
	if err := os.WriteFile(html, []byte(page), 0o644); err != nil {
		t.Fatal(err)
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
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("no PDF: %v", err)
	}
	if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		for _, want := range []string{"涉密存储介质销毁审批登记表", "某某单位保密办", "机密", "第1页共1页", "粉碎", "审批人：王五（wangwu）", "监销人：赵六（zhaoliu）", "销毁执行人"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%s", want, out)
			}
		}
	}
}
