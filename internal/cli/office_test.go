package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// enrol marks e's host as enrolled with an office server (the marker the register
// commands look at; the rest of the enrolment is the hostclient package's).
func (e *env) enrol(server string) {
	e.t.Helper()
	dir := filepath.Join(filepath.Dir(e.db), "office")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	body := `{"server":"` + server + `","host":"HOST-07"}`
	if err := os.WriteFile(filepath.Join(dir, "enrolment.json"), []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func TestRegisterCommandsRefuseOnAnEnrolledHost(t *testing.T) {
	e := newEnv(t)
	if _, stderr, code := e.run("person", "add", "zhang", "--name", "张三"); code != 0 {
		t.Fatalf("person add before enrolment: %d %s", code, stderr)
	}
	e.enrol("https://office.example:8443")
	for _, args := range [][]string{
		{"person", "add", "li", "--name", "李四"},
		{"person", "list"},
		{"host", "init", "--number", "H-1", "--level", "secret"},
		{"media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001", "--level", "secret", "--custodian", "zhang"},
		{"media", "list"},
		{"media", "lost", "S-1"},
		{"numbering", "set", "--pattern", "{LEVEL}-{SEQ}"},
		{"checkin", "open", "--year", "2026"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			_, stderr, code := e.run(args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (%s)", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, "office server https://office.example:8443") || !strings.Contains(stderr, "'"+strings.Join(args[:2], " ")+"'") {
				t.Errorf("message: %s", stderr)
			}
		})
	}
	// media register points at media request too.
	_, stderr, _ := e.run("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "X1", "--level", "secret", "--custodian", "zhang")
	if !strings.Contains(stderr, "media request") {
		t.Errorf("media register does not point at media request: %s", stderr)
	}
	// What is this host's own stays: the log, the audit check.
	if _, stderr, code := e.run("audit", "verify"); code != 0 {
		t.Errorf("audit verify on an enrolled host: %d %s", code, stderr)
	}
	// In Chinese too.
	if _, stderr, code := e.run("--lang", "zh", "media", "list"); code != ExitUsage || !strings.Contains(stderr, "办公室服务器") {
		t.Errorf("zh: %d %s", code, stderr)
	}
}

func TestMediaRequestNeedsAnEnrolment(t *testing.T) {
	e := newEnv(t)
	_, stderr, code := e.run("media", "request", "--from-device", "/dev/sdb", "--level", "secret", "--purpose", "x")
	if code != ExitUsage || !strings.Contains(stderr, "not enrolled") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	_, stderr, code = e.run("media", "request", "--from-device", "/dev/sdb", "--level", "secret")
	if code != ExitUsage || !strings.Contains(stderr, "purpose") {
		t.Errorf("without --purpose: exit %d: %s", code, stderr)
	}
}

func TestEnrollRefusesTwiceAndNeedsAHostNumber(t *testing.T) {
	e := newEnv(t)
	args := []string{"host", "enroll", "--server", "https://127.0.0.1:1", "--token", "t", "--ca-fingerprint", strings.Repeat("ab", 32)}
	_, stderr, code := e.run(append(args, emptyRoots(t)...)...)
	if code != ExitUsage || !strings.Contains(stderr, "--host") {
		t.Errorf("no host number: exit %d: %s", code, stderr)
	}
	e.enrol("https://office.example:8443")
	_, stderr, code = e.run(append(args, "--host", "HOST-07")...)
	if code != ExitUsage || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, "https://office.example:8443") {
		t.Errorf("second enrolment: exit %d: %s", code, stderr)
	}
}
