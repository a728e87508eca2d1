package testbed

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startRunner runs the guest runner on this machine against a temporary share: the same
// protocol the VM uses, without a VM.
func startRunner(t *testing.T) *Guest {
	t.Helper()
	dir, err := findGuestDir()
	if err != nil {
		t.Fatal(err)
	}
	share := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(dir, "runner.sh"), share)
	cmd.Env = append(os.Environ(), "MEDIAGATE_E2E_FIFO="+filepath.Join(t.TempDir(), "fifo"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the runner's own process group
		<-exited
	})
	g := NewGuest(share)
	g.exited = exited
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if g.Ready()["boot_id"] == "" {
		t.Errorf("ready file lacks boot_id: %v", g.Ready())
	}
	return g
}

func TestRunnerResults(t *testing.T) {
	t.Parallel()
	g := startRunner(t)
	res := g.Exec(t, "echo out; echo err >&2; printf 'no newline'; exit 7")
	if res.ExitCode != 7 || res.Stdout != "out\nno newline" || res.Stderr != "err\n" {
		t.Errorf("got %+v", res)
	}
	if got := g.MustRun(t, `x='a b'; echo "$x"`); got != "a b" {
		t.Errorf("MustRun = %q", got)
	}
}

func TestRunnerCommandsRunConcurrently(t *testing.T) {
	t.Parallel()
	g := startRunner(t)
	slow := make(chan Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, _ := g.Run(ctx, "sleep 3; echo slow")
		slow <- res
	}()
	start := time.Now()
	if got := g.MustRun(t, "echo fast"); got != "fast" {
		t.Errorf("fast = %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a quick command waited %s behind a slow one", d)
	}
	if res := <-slow; strings.TrimSpace(res.Stdout) != "slow" {
		t.Errorf("slow = %+v", res)
	}
}

func TestRunnerKillsCommandAtDeadline(t *testing.T) {
	t.Parallel()
	g := startRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := g.Run(ctx, "sleep 30"); err == nil {
		t.Fatal("no error for a command past its deadline")
	}
	// The guest side gives up too (timeout(1) exits 124) instead of running on.
	base := filepath.Join(g.share, "cmd")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(base, "*.rc"))
		if len(m) == 1 {
			b, _ := os.ReadFile(m[0])
			if strings.TrimSpace(string(b)) != "124" {
				t.Errorf("exit code after the deadline = %s, want 124", b)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("the runner did not end the command after its deadline")
}

func TestWaitScript(t *testing.T) {
	t.Parallel()
	g := startRunner(t)
	flag := filepath.Join(t.TempDir(), "flag")
	go func() {
		time.Sleep(500 * time.Millisecond)
		os.WriteFile(flag, []byte("up\n"), 0o644)
	}()
	if got := g.WaitFor(t, 10*time.Second, "cat "+flag); got != "up" {
		t.Errorf("WaitFor = %q", got)
	}

	res := g.Exec(t, WaitScript("echo not yet; exit 1", time.Second))
	if res.ExitCode != 124 || !strings.Contains(res.Stdout, "not yet") || !strings.Contains(res.Stderr, "still false") {
		t.Errorf("timed-out wait: %+v", res)
	}
	// Not negates snippets that leave with exit.
	if res := g.Exec(t, Not("exit 0")); res.ExitCode == 0 {
		t.Error("Not(exit 0) succeeded")
	}
	if res := g.Exec(t, Not("exit 1")); res.ExitCode != 0 {
		t.Error("Not(exit 1) failed")
	}
}

func TestMakeStickImageAndISO(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sfdisk", "mkfs.vfat", "mcopy", "mdir", "xorriso"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/e2e.sh installs it)", tool)
		}
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "stick.img")
	if err := MakeStickImage(img, 16, "LABEL1", Files{"a.txt": []byte("A"), "sub/b.txt": []byte("B")}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sfdisk", "--dump", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "start=        2048") || !strings.Contains(string(out), "type=c") {
		t.Errorf("partition table:\n%s (%v)", out, err)
	}
	out, err = exec.Command("mdir", "-/", "-b", "-i", img+"@@1M", "::/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "::/a.txt") || !strings.Contains(string(out), "::/sub/b.txt") {
		t.Errorf("files on the stick:\n%s (%v)", out, err)
	}

	iso := filepath.Join(dir, "d.iso")
	if err := MakeISO(iso, "VOL1", Files{"README.TXT": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(iso)
	if err != nil || len(b) < 0x8028+5 || string(b[0x8001:0x8006]) != "CD001" || !strings.HasPrefix(string(b[0x8028:]), "VOL1") {
		t.Errorf("not an ISO 9660 image with volume id VOL1")
	}
}
