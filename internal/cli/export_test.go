package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/sheet"
)

// exportEnv is a register of the first rows of the fixture (imported, so that it
// has every field of the paper register), one medium with its identity, one lent.
func exportEnv(t *testing.T, rows int) func(args ...string) string {
	t.Helper()
	oldLocal := time.Local
	time.Local = time.FixedZone("CST", 8*3600)
	t.Cleanup(func() { time.Local = oldLocal })
	run, _ := importEnv(t)
	ok := func(args ...string) string {
		t.Helper()
		out, e, code := run(args...)
		if code != 0 {
			t.Fatalf("mediagate %v: exit %d: %s", args, code, e)
		}
		return out
	}
	all := genRegister()
	var keep [][]string
	for i, r := range all {
		if i == 0 || (i <= rows && i%50 != 40) {
			keep = append(keep, r)
		}
	}
	path := filepath.Join(t.TempDir(), "part.csv")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(keep)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ok("media", "import", path)
	ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001231120109142",
		"--level", "绝密", "--custodian", "zhangwei", "--department", "保密办", "--brand-model", "SanDisk Cruzer Blade",
		"--number", "TS-2026-0900", "--stated-capacity", "16GB", "--purpose", "=cmd|' /C calc'!A0", "--in-service", "2026-01-05")
	ok("media", "lend", "TS-2026-0900", "--to", "wangfang", "--due", "2026-02-01", "--approved-by", "lina")
	return ok
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking it):\n%s", path, got)
	}
}

func TestRegisterExportGolden(t *testing.T) {
	run := exportEnv(t, 30)
	for _, lang := range []string{"en", "zh"} {
		golden(t, "register."+lang+".csv", run("--lang", lang, "media", "list", "--format", "csv"))
		golden(t, "register."+lang+".html", run("--lang", lang, "media", "list", "--format", "html", "--unit", "某大学"))
		golden(t, "labels."+lang+".html", run("--lang", lang, "media", "label", "TS-2026-0900", "C-2024-0001", "--layout", "4x10"))
	}
	zh := run("--lang", "zh", "media", "list", "--format", "csv")
	if !strings.HasPrefix(zh, "\uFEFF编号,密级,类型,品牌型号") {
		t.Errorf("csv does not start with a BOM and the Chinese header: %q", zh[:40])
	}
	for _, want := range []string{",绝密,", ",张伟,", "借出 → wangfang", ",'=cmd|"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh csv lacks %q", want)
		}
	}
	// Filters apply: only the top-secret media.
	ts := run("--lang", "zh", "media", "list", "--format", "csv", "--level", "绝密")
	for i, line := range strings.Split(strings.TrimSpace(ts), "\r\n")[1:] {
		if !strings.Contains(line, ",绝密,") {
			t.Errorf("line %d of the filtered csv: %s", i+2, line)
		}
	}
}

// TestRegisterExportImportsBack: the exported CSV and XLSX are registers import
// reads: every row is found already registered.
func TestRegisterExportImportsBack(t *testing.T) {
	run := exportEnv(t, 30)
	dir := t.TempDir()
	for _, c := range []struct{ lang, format string }{{"zh", "csv"}, {"en", "csv"}, {"zh", "xlsx"}} {
		path := filepath.Join(dir, "export-"+c.lang+"."+c.format)
		run("--lang", c.lang, "media", "list", "--format", c.format, "--output", path)
		out := run("media", "import", path, "--dry-run")
		if !regexp.MustCompile(`0 to register, 0 to register with identity pending, \d+ already registered, 0 in error`).MatchString(out) {
			t.Errorf("%s %s export does not import back as registered:\n%s", c.lang, c.format, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "export-zh.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := sheet.Read(b, sheet.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Format != sheet.FormatXLSX || tab.Rows[0].Cells[0] != "编号" || len(tab.Rows) < 20 {
		t.Errorf("xlsx: %s, %d rows, header %v", tab.Format, len(tab.Rows), tab.Rows[0].Cells)
	}
}

// chromiumPDF prints an HTML page to PDF with headless Chromium, as the check-in
// sheet's test does; it skips the test when Chromium is not installed.
func chromiumPDF(t *testing.T, html string) []byte {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "page.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("chromium wrote %d bytes, not a PDF", len(b))
	}
	if keep := os.Getenv("MEDIAGATE_SHEET_PDF"); keep != "" {
		os.WriteFile(strings.TrimSuffix(keep, ".pdf")+"-"+t.Name()+".pdf", b, 0o644)
	}
	return b
}

// pdfText is the text of a PDF (pdftotext), or skips the test without it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	in := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestRegisterPDF prints the register of 120 media in both languages: every page
// carries the marking and "page x of y", the last the signature lines.
func TestRegisterPDF(t *testing.T) {
	run := exportEnv(t, 120)
	for _, c := range []struct{ lang, pageRE, marking, sign string }{
		{"zh", `第\s*(\d+)\s*页\s*共\s*(\d+)\s*页`, "绝密★", "检查人（签字）"},
		{"en", `Page\s+(\d+)\s+of\s+(\d+)\s+pages`, "top-secret★", "Inspector (signature)"},
	} {
		pdf := chromiumPDF(t, run("--lang", c.lang, "media", "list", "--format", "html", "--unit", "某大学"))
		text := pdfText(t, pdf)
		pages := strings.Split(text, "\f")
		if pages[len(pages)-1] == "" {
			pages = pages[:len(pages)-1]
		}
		if len(pages) < 2 {
			t.Fatalf("%s: %d pages for 118 media", c.lang, len(pages))
		}
		re := regexp.MustCompile(c.pageRE)
		for i, p := range pages {
			m := re.FindStringSubmatch(p)
			if m == nil || m[1] != itoa(i+1) || m[2] != itoa(len(pages)) {
				t.Errorf("%s page %d: page counter %v", c.lang, i+1, m)
			}
			if strings.Count(p, c.marking) < 2 {
				t.Errorf("%s page %d: marking %s not at top and bottom", c.lang, i+1, c.marking)
			}
		}
		if !strings.Contains(pages[len(pages)-1], c.sign) {
			t.Errorf("%s: no %s on the last page", c.lang, c.sign)
		}
	}
}

// TestLabelsPDFDecode prints a label sheet to PDF, renders it to an image and reads
// every QR code on it back (zbarimg): each is a medium's number.
func TestLabelsPDFDecode(t *testing.T) {
	run := exportEnv(t, 12)
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg (zbar-tools) is not installed")
	}
	pdftoppm, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm (poppler-utils) is not installed")
	}
	nums := []string{"TS-2026-0900", "C-2024-0001", "TS-2017-0001"}
	for _, layout := range []string{"3x8", "4x10"} {
		pdf := chromiumPDF(t, run("--lang", "zh", "media", "label", nums[0], nums[1], nums[2], "--layout", layout))
		dir := t.TempDir()
		in := filepath.Join(dir, "labels.pdf")
		os.WriteFile(in, pdf, 0o644)
		if out, err := exec.Command(pdftoppm, "-r", "200", "-png", "-f", "1", "-l", "1", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
		if len(pngs) != 1 {
			t.Fatalf("%d page images", len(pngs))
		}
		out, _ := exec.Command(zbar, "--quiet", "--raw", pngs[0]).Output()
		got := strings.Fields(string(out))
		slices.Sort(got)
		want := slices.Clone(nums)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: QR codes read %v, want %v", layout, got, want)
		}
	}
}

func TestLabelUsage(t *testing.T) {
	run, _ := importEnv(t)
	for _, args := range [][]string{{"media", "label"}, {"media", "label", "X", "--all"}, {"media", "label", "--all", "--layout", "5x5"}} {
		if _, _, code := run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if _, e, code := run("media", "label", "NO-SUCH"); code != ExitError || !strings.Contains(e, "NO-SUCH") {
		t.Errorf("unknown number: exit %d %s", code, e)
	}
}
