package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain runs main itself when the test binary is started as mediagate (by the
// tests below), so that they see the real process: signals, exit status, stderr.
func TestMain(m *testing.M) {
	if os.Getenv("MEDIAGATE_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// mediagate returns a command that runs main with args on a register and machine
// roots of the test's own (no devices, no daemon).
func mediagate(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	for _, d := range []string{"sys/class/block", "sys/bus/usb/devices", "run/udev/data", "dev", "run/mediagate"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roots := []string{"--sysfs-root", filepath.Join(dir, "sys"), "--udev-root", filepath.Join(dir, "run/udev/data"),
		"--dev-root", filepath.Join(dir, "dev"), "--run-dir", filepath.Join(dir, "run/mediagate")}
	cmd := exec.Command(os.Args[0], append(roots, args...)...)
	cmd.Env = append(os.Environ(), "MEDIAGATE_TEST_AS_MAIN=1", "MEDIAGATE_DB="+filepath.Join(dir, "mediagate.db"),
		"MEDIAGATE_SOCKET="+filepath.Join(dir, "run/mediagate/control.sock"), "LANG=C")
	return cmd
}

// TestSignalAtPromptExits130: SIGINT (Ctrl-C) or SIGTERM to a command waiting at its
// confirmation prompt — standard input open, nobody typing — ends the process at once
// with exit status 130 and one line saying it was interrupted, and the change it was
// about to make is not made.
func TestSignalAtPromptExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			if out, err := mediagate(t, dir, "host", "init", "--number", "H-01", "--level", "secret").CombinedOutput(); err != nil {
				t.Fatalf("host init: %v\n%s", err, out)
			}
			// Lowering the level asks first.
			cmd := mediagate(t, dir, "host", "init", "--number", "H-01", "--level", "confidential")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; !strings.Contains(stderr.String(), "[y/N]") && i < 1000; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(stderr.String(), "[y/N]") {
				cmd.Process.Kill()
				t.Fatalf("no confirmation prompt: %q", stderr.String())
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after %s at the prompt", sig)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Errorf("after %s: %v; want exit status 130", sig, err)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "interrupted") {
				t.Errorf("stderr %q; want its last line to say interrupted", stderr.String())
			}
			out, err := mediagate(t, dir, "host", "show").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "secret") || strings.Contains(string(out), "confidential") {
				t.Errorf("host after the interrupted lowering: %v\n%s", err, out)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the writer (exec's copy) and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
