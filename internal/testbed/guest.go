package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Guest runs shell commands in the VM through the guest runner (scripts/vm/guest/runner.sh)
// and the 9p share: the host drops cmd/N.sh, the guest answers with N.out, N.err and N.rc.
// Commands run as root with bash, each on its own, so several may run at once.
type Guest struct {
	share  string
	exited <-chan struct{}
	seq    atomic.Int64
	// Poll is how often the host looks for an answer; default 20 ms.
	Poll time.Duration
}

// NewGuest returns a Guest for a runner watching share (the host path of the share).
// VM.Guest is the usual way to get one; this is for tests of the protocol.
func NewGuest(share string) *Guest {
	return &Guest{share: share}
}

// Result is what a command in the guest did.
type Result struct {
	Script   string
	Stdout   string
	Stderr   string
	ExitCode int
	Duration time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("$ %s\n[exit %d after %s]\n--- stdout ---\n%s--- stderr ---\n%s",
		strings.TrimSpace(r.Script), r.ExitCode, r.Duration.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Run runs script with bash in the guest and waits for it to finish or for ctx to end.
// The guest kills the script 2 s after ctx's deadline (or 10 minutes). A non-zero
// exit is not an error; err is for the runner or the VM failing.
func (g *Guest) Run(ctx context.Context, script string) (Result, error) {
	res := Result{Script: script}
	limit := 10 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl)
	}
	// The host gives up at the deadline; the guest ends the command a little later.
	secs := int((limit+time.Second-1)/time.Second) + 2

	n := g.seq.Add(1)
	base := filepath.Join(g.share, "cmd", fmt.Sprintf("h%d-%d", os.Getpid(), n))
	if err := os.WriteFile(base+".timeout", []byte(strconv.Itoa(secs)), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(base+".sh.tmp", []byte(script+"\n"), 0o644); err != nil {
		return res, err
	}
	start := time.Now()
	if err := os.Rename(base+".sh.tmp", base+".sh"); err != nil {
		return res, err
	}
	poll := g.Poll
	if poll == 0 {
		poll = 20 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		rc, err := os.ReadFile(base + ".rc")
		if err == nil {
			res.Duration = time.Since(start)
			res.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(rc)))
			if err != nil {
				return res, fmt.Errorf("guest command %s: bad exit code %q", base, rc)
			}
			out, _ := os.ReadFile(base + ".out")
			errb, _ := os.ReadFile(base + ".err")
			res.Stdout, res.Stderr = string(out), string(errb)
			return res, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
		select {
		case <-tick.C:
		case <-g.exited:
			return res, errors.New("guest command: the VM has stopped")
		case <-ctx.Done():
			out, _ := os.ReadFile(base + ".out")
			errb, _ := os.ReadFile(base + ".err")
			res.Stdout, res.Stderr, res.Duration = string(out), string(errb), time.Since(start)
			return res, fmt.Errorf("guest command %s: %w", filepath.Base(base), ctx.Err())
		}
	}
}

// waitReady waits for the runner's ready file.
func (g *Guest) waitReady(ctx context.Context) error {
	ready := filepath.Join(g.share, "ready")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(ready); err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-g.exited:
			return errors.New("qemu exited before the guest was ready")
		case <-ctx.Done():
			return fmt.Errorf("guest not ready: %w", ctx.Err())
		}
	}
}

// Ready returns the facts the runner wrote when it started (kernel=…, boot_id=…, uptime=…).
func (g *Guest) Ready() map[string]string {
	b, _ := os.ReadFile(filepath.Join(g.share, "ready"))
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// WaitScript wraps cond in a guest-side loop that re-runs it every 0.2 s until it exits 0
// (then prints its stdout and exits 0) or timeout has passed (then prints the last
// output and exits 124). Polling inside the guest keeps the host out of the loop.
func WaitScript(cond string, timeout time.Duration) string {
	return fmt.Sprintf(`__mg_cond() {
%s
}
__mg_end=$(( $(date +%%s%%N) / 1000000 + %d ))
while :; do
	if __mg_out=$(__mg_cond 2>/tmp/.mg-wait.$$); then printf '%%s' "$__mg_out"; rm -f /tmp/.mg-wait.$$; exit 0; fi
	if (( $(date +%%s%%N) / 1000000 >= __mg_end )); then
		printf '%%s' "$__mg_out"; cat /tmp/.mg-wait.$$ >&2; rm -f /tmp/.mg-wait.$$
		echo "condition still false after %s" >&2; exit 124
	fi
	sleep 0.2
done`, cond, timeout.Milliseconds(), timeout)
}
