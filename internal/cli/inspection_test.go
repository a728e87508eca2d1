package cli

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
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

// collectRows stores rows of a host's log as the office's ledger does.
func collectRows(t *testing.T, e *env, host string, rows []*audit.Event) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id string
	if err := db.QueryRow(`SELECT id FROM office_hosts WHERE number = ?`, host).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var prev audit.Head
	for _, r := range rows {
		audit.Seal(r, prev.Seq, prev.Hash)
		prev = audit.Head{Seq: r.Seq, Hash: r.Hash}
		if _, err := db.Exec(`INSERT INTO office_host_events (host, seq, id, time, host_id, kind, medium, actor_uid, actor_user,
			actor_sudo, details, prev_hash, hash, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r.Seq, r.ID, r.Time.UTC().Format(audit.TimeLayout), r.HostID, string(r.Kind), r.Medium, r.Actor.UID, r.Actor.User,
			r.Actor.Login, string(r.Details), r.PrevHash, r.Hash, r.Time.UTC().Format(audit.TimeLayout)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO office_chains (host, seq, hash, acked) VALUES (?, ?, ?, ?)`, id, prev.Seq, prev.Hash,
		time.Now().UTC().Format(audit.TimeLayout)); err != nil {
		t.Fatal(err)
	}
}

// TestOfficeWideLogCommand: log --all-hosts and --host show the hosts' collected
// rows with their host; media show lists the medium's mounts there.
func TestOfficeWideLogCommand(t *testing.T) {
	e, _, num := inspectionEnv(t)
	at := time.Now().Add(-time.Hour)
	var rows []*audit.Event
	for i, k := range []event.Kind{event.KindMountAttach, event.KindMountDetach} {
		d, _ := audit.Details(event.Mount{Event: string(k), Host: "HOST-07", Hostname: "pc07", Medium: num, MountPoint: "/media/usb",
			FSType: "vfat", Attribution: "fanotify", User: "zhangsan", Device: event.MountDevice{Source: "/dev/sdb1"}})
		rows = append(rows, &audit.Event{ID: "h7-" + itoa(i), Time: at.Add(time.Duration(i) * time.Minute), HostID: "reg-h7", Kind: k,
			Medium: num, Actor: audit.Actor{User: "root"}, Details: d})
	}
	collectRows(t, e, "HOST-07", rows)
	if out := e.ok("log", "--all-hosts", "--kind", "mount."); !strings.Contains(out, "HOST-07:1") || !strings.Contains(out, "HOST-07:2") {
		t.Errorf("log --all-hosts --kind mount.:\n%s", out)
	}
	if out := e.ok("log", "--kind", "mount."); strings.Contains(out, "HOST-07:") {
		t.Errorf("log without --all-hosts shows collected rows:\n%s", out)
	}
	var got []struct {
		Origin string     `json:"origin"`
		Kind   event.Kind `json:"kind"`
	}
	if err := json.Unmarshal([]byte(e.ok("--json", "log", "--host", "HOST-07")), &got); err != nil {
		t.Fatal(err)
	}
	collected := 0
	for _, r := range got {
		if r.Origin == "HOST-07" {
			collected++
		}
	}
	if collected != 2 {
		t.Errorf("log --host HOST-07 --json: %+v", got)
	}
	if out := e.ok("log", "--all-hosts", "--medium", num, "--csv"); !strings.Contains(out, ",HOST-07\n") || !strings.HasPrefix(out, "seq,") {
		t.Errorf("log --csv lacks the origin column:\n%s", out)
	}
	if _, errs, code := e.run("log", "--all-hosts", "--follow"); code != ExitUsage || !strings.Contains(errs, "--all-hosts") {
		t.Errorf("log --follow --all-hosts: exit %d, %s", code, errs)
	}
	if out := e.ok("media", "show", num); !strings.Contains(out, "pc07") || !strings.Contains(out, "/media/usb") {
		t.Errorf("media show lacks the mounts on HOST-07:\n%s", out)
	}
}
