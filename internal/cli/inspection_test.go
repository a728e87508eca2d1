package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inspectionEnv is an office register with a host, two media (one lost) and the
// year's campaign, made through the commands; it returns the env, the office
// directory and a number.
func inspectionEnv(t *testing.T) (*env, string, string) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "office")
	e.ok("server", "init", "--dir", dir, "--name", "office.example", "--officer", "zhangsan")
	e.ok("person", "add", "zhangsan", "--name", "张三", "--department", "办公室")
	e.ok("person", "add", "lisi", "--name", "李四", "--department", "科研处")
	e.ok("server", "host", "add", "HOST-07", "--level", "secret", "--department", "办公室", "--custodian", "zhangsan", "--dir", dir)
	num := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	lost := e.registerUSB("AB12CD34EF02", "confidential", "lisi")
	e.ok("media", "lost", lost)
	e.ok("checkin", "open")
	return e, dir, num
}

// TestInspectionCommand: the packet is written and verified through the commands;
// an altered, removed or added file makes report verify name it and exit 3.
func TestInspectionCommand(t *testing.T) {
	e, dir, num := inspectionEnv(t)
	year := itoa(time.Now().Year())
	packet := filepath.Join(t.TempDir(), "packet")
	out := e.ok("--lang", "zh", "server", "report", "inspection", "--dir", dir, "--year", year, "-o", packet, "--unit", "某某大学保密办")
	if !strings.Contains(out, "介质 2 件，主机 1 台，核验日志 2 份（断裂 0 份）") {
		t.Errorf("server report inspection printed:\n%s", out)
	}
	page, err := os.ReadFile(filepath.Join(packet, "inspection.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"某某大学保密办", "涉密存储介质台账", num, "HOST-07", "丢失的介质", "登记介质（medium.register）"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the Chinese page lacks %q", want)
		}
	}
	var v struct {
		OK       bool `json:"ok"`
		Manifest struct {
			Year  int `json:"year"`
			Files []struct {
				Name string `json:"name"`
			} `json:"files"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(e.ok("--json", "report", "verify", packet, "--dir", dir)), &v); err != nil || !v.OK || len(v.Manifest.Files) != 2 {
		t.Fatalf("report verify: %+v %v", v, err)
	}
	// --key takes the public key file itself, as an inspector who has no office
	// directory holds it.
	pub := filepath.Join(t.TempDir(), "office.pub")
	b, _ := os.ReadFile(filepath.Join(dir, "policy.pub"))
	os.WriteFile(pub, b, 0o644)
	e.ok("report", "verify", packet, "--key", pub)

	for _, c := range []struct {
		name, file string
		change     func(p string)
	}{
		{"altered", "inspection.json", func(p string) {
			b, _ := os.ReadFile(filepath.Join(p, "inspection.json"))
			os.WriteFile(filepath.Join(p, "inspection.json"), bytes.Replace(b, []byte(`"lost"`), []byte(`"LOST"`), 1), 0o644)
		}},
		{"removed", "inspection.html", func(p string) { os.Remove(filepath.Join(p, "inspection.html")) }},
		{"added", "note.txt", func(p string) { os.WriteFile(filepath.Join(p, "note.txt"), []byte("x"), 0o644) }},
		{"manifest", "MANIFEST", func(p string) {
			b, _ := os.ReadFile(filepath.Join(p, "MANIFEST"))
			os.WriteFile(filepath.Join(p, "MANIFEST"), bytes.Replace(b, []byte("year "+year), []byte("year 2001"), 1), 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "packet")
			e.ok("server", "report", "inspection", "--dir", dir, "--year", year, "-o", p)
			c.change(p)
			out, errs, code := e.run("report", "verify", p, "--dir", dir)
			if code != ExitBroken || !strings.Contains(errs, c.file) || !strings.Contains(out, c.file) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d naming %s", code, out, errs, ExitBroken, c.file)
			}
		})
	}
}

// TestInspectionBadInput: an unknown department, a year out of range, a directory
// in use and a missing key are refused as usage errors, and nothing is written.
func TestInspectionBadInput(t *testing.T) {
	e, dir, _ := inspectionEnv(t)
	year := itoa(time.Now().Year())
	used := t.TempDir()
	os.WriteFile(filepath.Join(used, "mine.txt"), []byte("x"), 0o644)
	fresh := filepath.Join(t.TempDir(), "p")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--department", "财务处", "-o", fresh, "--year", year}, "unknown department"},
		{[]string{"-o", fresh, "--year", "1999"}, "out of range"},
		{[]string{"-o", fresh, "--year", itoa(time.Now().Year() + 1)}, "out of range"},
		{[]string{"-o", used, "--year", year}, "is not empty"},
		{[]string{"-o", used, "--year", year, "--force"}, "not part of a packet"},
	} {
		_, errs, code := e.run(append([]string{"server", "report", "inspection", "--dir", dir}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errs, ExitUsage, c.want)
		}
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused packet left %s: %v", fresh, err)
	}
	if entries, _ := os.ReadDir(used); len(entries) != 1 {
		t.Errorf("a refused packet touched a directory in use: %d entries", len(entries))
	}
	if _, errs, code := e.run("report", "verify", used, "--dir", t.TempDir()); code != ExitUsage || !strings.Contains(errs, "--key") {
		t.Errorf("report verify without a key: exit %d, %q", code, errs)
	}
}

// TestInspectionPDF prints the Chinese packet to PDF through --pdf (headless
// Chromium), when Chromium is installed; the PDF is in the signed manifest.
// MEDIAGATE_INSPECTION_PDF=path keeps a copy for a look.
func TestInspectionPDF(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed")
	}
	e, dir, num := inspectionEnv(t)
	packet := filepath.Join(t.TempDir(), "packet")
	e.ok("--lang", "zh", "server", "report", "inspection", "--dir", dir, "--year", itoa(time.Now().Year()), "-o", packet, "--pdf", "--unit", "某某大学保密办")
	pdf := filepath.Join(packet, "inspection.pdf")
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("--pdf wrote %d bytes, not a PDF", len(b))
	}
	if keep := os.Getenv("MEDIAGATE_INSPECTION_PDF"); keep != "" {
		os.WriteFile(keep, b, 0o644)
	}
	manifest, _ := os.ReadFile(filepath.Join(packet, "MANIFEST"))
	if !strings.Contains(string(manifest), " inspection.pdf\n") {
		t.Errorf("the manifest does not list the PDF:\n%s", manifest)
	}
	e.ok("report", "verify", packet, "--dir", dir)
	if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		pages := strings.Count(string(out), "\f")
		for _, want := range []string{"某某大学保密办", "机密", "第1页共" + itoa(pages) + "页", "检查人（签字）", "涉密存储介质台账", num, "HOST-07"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%s", want, out)
			}
		}
	}
}
