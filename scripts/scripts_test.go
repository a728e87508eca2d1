// Package scripts_test runs the install scripts under a temporary root: nothing here
// touches the real system.
package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const param = "usbcore.authorized_default=0"

type tree struct {
	root, bin, grubLog string
}

// newTree makes a temporary root, a stand-in mediagate binary and a stand-in update-grub
// that logs its calls. withGrub gives the root an /etc/default/grub.
func newTree(t *testing.T, withGrub bool) tree {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	d := t.TempDir()
	tr := tree{root: filepath.Join(d, "root"), bin: filepath.Join(d, "mediagate"), grubLog: filepath.Join(d, "update-grub.log")}
	must(t, os.MkdirAll(tr.root, 0o755))
	// The stand-in writes one page for "man --dir DIR", as the real one writes them all.
	must(t, os.WriteFile(tr.bin, []byte("#!/bin/sh\ncase \" $* \" in *\" man \"*) for a; do :; done; mkdir -p \"$a\"; echo .TH >\"$a/mediagate.1\" ;; esac\necho mediagate test\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "update-grub"), []byte("#!/bin/sh\necho called >>"+tr.grubLog+"\n"), 0o755))
	t.Setenv("MEDIAGATE_UPDATE_GRUB", filepath.Join(d, "update-grub"))
	t.Setenv("MEDIAGATE_AUTHORIZED_DEFAULT", "")
	if withGrub {
		must(t, os.MkdirAll(filepath.Join(tr.root, "etc/default"), 0o755))
		must(t, os.WriteFile(filepath.Join(tr.root, "etc/default/grub"), []byte(grubDefault), 0o644))
	}
	return tr
}

const grubDefault = `GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0"
`

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run runs a script of this directory and returns its output; it fails the test on a
// non-zero exit unless wantCode says otherwise.
func run(t *testing.T, wantCode int, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != wantCode {
		t.Fatalf("%s %s: exit %d, want %d\n%s", script, strings.Join(args, " "), code, wantCode, out.String())
	}
	return out.String()
}

// cmdline is GRUB_CMDLINE_LINUX as grub-mkconfig sees it: /etc/default/grub, then every
// /etc/default/grub.d/*.cfg, sourced by /bin/sh.
func (tr tree) cmdline(t *testing.T) string {
	t.Helper()
	script := `set -e
. "$1/etc/default/grub"
for x in "$1"/etc/default/grub.d/*.cfg; do
	if [ -e "$x" ]; then . "$x"; fi
done
printf '%s' "$GRUB_CMDLINE_LINUX"`
	out, err := exec.Command("sh", "-c", script, "sh", tr.root).CombinedOutput()
	if err != nil {
		t.Fatalf("source the GRUB defaults: %v\n%s", err, out)
	}
	return string(out)
}

func (tr tree) grubCalls() int {
	b, _ := os.ReadFile(tr.grubLog)
	return strings.Count(string(b), "called")
}

func TestInstallPutsTheKernelParameterAndTheDocumentedUndoRemovesIt(t *testing.T) {
	tr := newTree(t, true)
	out := run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin)
	for _, f := range []string{"usr/local/bin/mediagate", "etc/udev/rules.d/71-mediagate.rules",
		"etc/systemd/system/mediagate.service", "etc/default/grub.d/mediagate.cfg", "var/lib/mediagate",
		"usr/local/share/man/man1/mediagate.1", "usr/local/share/man/zh_CN/man1/mediagate.1"} {
		if _, err := os.Stat(filepath.Join(tr.root, f)); err != nil {
			t.Errorf("install did not create %s:\n%s", f, out)
		}
	}
	if got := tr.cmdline(t); got != "console=ttyS0 "+param {
		t.Errorf("kernel command line after install = %q, want %q", got, "console=ttyS0 "+param)
	}
	if n := tr.grubCalls(); n != 1 {
		t.Errorf("update-grub ran %d times on install, want 1", n)
	}
	// Installing again changes nothing on the command line.
	run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin)
	if got := tr.cmdline(t); strings.Count(got, param) != 1 {
		t.Errorf("after a second install the command line is %q", got)
	}

	// The undo docs/daemon.md gives for the officer.
	doc, err := os.ReadFile("../docs/daemon.md")
	must(t, err)
	if !strings.Contains(string(doc), "scripts/bootparam.sh remove") {
		t.Fatal("docs/daemon.md does not document the undo this test runs")
	}
	before := tr.grubCalls()
	out = run(t, 0, "bootparam.sh", "remove", "--root", tr.root)
	if _, err := os.Stat(filepath.Join(tr.root, "etc/default/grub.d/mediagate.cfg")); err == nil {
		t.Errorf("the drop-in is still there after the undo:\n%s", out)
	}
	if got := tr.cmdline(t); got != "console=ttyS0" {
		t.Errorf("kernel command line after the undo = %q, want the original", got)
	}
	if n := tr.grubCalls(); n != before+1 {
		t.Errorf("update-grub did not run on the undo (%d calls)", n)
	}
	b, err := os.ReadFile(filepath.Join(tr.root, "etc/default/grub"))
	must(t, err)
	if string(b) != grubDefault {
		t.Errorf("/etc/default/grub was changed:\n%s", b)
	}
	if out := run(t, 0, "bootparam.sh", "status", "--root", tr.root); !strings.Contains(out, "drop-in: none") {
		t.Errorf("status after the undo: %s", out)
	}
}

func TestInstallWithoutGrubSaysWhatItCouldNotDo(t *testing.T) {
	tr := newTree(t, false)
	out := run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin)
	if !strings.Contains(out, "NOT put on the") || !strings.Contains(out, param) {
		t.Errorf("install without GRUB does not say that the kernel parameter is missing:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(tr.root, "etc/default/grub.d")); err == nil {
		t.Error("a GRUB drop-in directory was made on a system without GRUB")
	}
	if _, err := os.Stat(filepath.Join(tr.root, "usr/local/bin/mediagate")); err != nil {
		t.Error("the rest of the install did not happen")
	}
	if n := tr.grubCalls(); n != 0 {
		t.Errorf("update-grub ran %d times without GRUB", n)
	}
}

func TestBootparamValue(t *testing.T) {
	tr := newTree(t, true)
	t.Setenv("MEDIAGATE_AUTHORIZED_DEFAULT", "2")
	run(t, 0, "bootparam.sh", "install", "--root", tr.root)
	if got := tr.cmdline(t); got != "console=ttyS0 usbcore.authorized_default=2" {
		t.Errorf("command line %q", got)
	}
	t.Setenv("MEDIAGATE_AUTHORIZED_DEFAULT", "1")
	run(t, 2, "bootparam.sh", "install", "--root", tr.root)
	run(t, 2, "bootparam.sh", "frobnicate")
}

func TestInstallCanSkipTheKernelParameter(t *testing.T) {
	tr := newTree(t, true)
	t.Setenv("MEDIAGATE_NO_BOOTPARAM", "1")
	run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin)
	if got := tr.cmdline(t); got != "console=ttyS0" {
		t.Errorf("command line %q with MEDIAGATE_NO_BOOTPARAM=1", got)
	}
}

func TestInstallServer(t *testing.T) {
	tr := newTree(t, true)
	out := run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin, "--server")
	for _, f := range []string{"etc/systemd/system/mediagate-server.service", "var/lib/mediagate-server", "etc/systemd/system/mediagate.service"} {
		if _, err := os.Stat(filepath.Join(tr.root, f)); err != nil {
			t.Errorf("install --server did not create %s:\n%s", f, out)
		}
	}
	st, err := os.Stat(filepath.Join(tr.root, "var/lib/mediagate-server"))
	if err == nil && st.Mode().Perm() != 0o700 {
		t.Errorf("server directory mode %v; want 0700", st.Mode().Perm())
	}
	unit, _ := os.ReadFile(filepath.Join(tr.root, "etc/systemd/system/mediagate-server.service"))
	if !strings.Contains(string(unit), "mediagate server run") || !strings.Contains(out, "server init") {
		t.Errorf("server unit:\n%s\noutput:\n%s", unit, out)
	}
}

// The unit runs the small daemon binary when one is installed, and the full binary's
// daemon command when only mediagate is given.
func TestInstallDaemonBinary(t *testing.T) {
	tr := newTree(t, true)
	t.Setenv("MEDIAGATE_NO_BOOTPARAM", "1")
	unitPath := filepath.Join(tr.root, "etc/systemd/system/mediagate.service")
	execStart := func() string {
		b, err := os.ReadFile(unitPath)
		must(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "ExecStart=") {
				return l
			}
		}
		t.Fatalf("no ExecStart in the unit:\n%s", b)
		return ""
	}
	run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin)
	if got := execStart(); got != "ExecStart=/usr/local/bin/mediagate daemon --socket /run/mediagate/control.sock" {
		t.Errorf("--bin alone: %s", got)
	}
	dbin := filepath.Join(t.TempDir(), "mediagated")
	must(t, os.WriteFile(dbin, []byte("#!/bin/sh\n"), 0o755))
	run(t, 0, "install.sh", "--root", tr.root, "--bin", tr.bin, "--daemon-bin", dbin, "--prefix", "/opt/mg")
	if got := execStart(); got != "ExecStart=/opt/mg/bin/mediagated --socket /run/mediagate/control.sock" {
		t.Errorf("--daemon-bin: %s", got)
	}
	if _, err := os.Stat(filepath.Join(tr.root, "opt/mg/bin/mediagated")); err != nil {
		t.Errorf("mediagated not installed: %v", err)
	}
}
