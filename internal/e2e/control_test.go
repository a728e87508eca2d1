package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// The control socket as an unprivileged local user meets it: a flood of status calls,
// connections held open without a request, and accept failing for lack of file
// descriptors. The flood client is a small static Go program built for the guest
// (floodSource), so that one process can call as fast as the socket answers.

// floodSource is the guest's flood client. `mgflood flood SOCK SECONDS WORKERS` calls
// status in a loop from WORKERS goroutines and prints {"calls","errors","seconds"};
// `mgflood hold SOCK N SECONDS` opens N connections that never send a request, holds
// them and prints {"held"}.
const floodSource = `package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func call(sock string) error {
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("{\"op\":\"status\"}\n")); err != nil {
		return err
	}
	var resp struct{ OK bool ` + "`json:\"ok\"`" + ` }
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return err
	}
	if !resp.OK {
		return fmt.Errorf("not ok")
	}
	return nil
}

func main() {
	sock := os.Args[2]
	switch os.Args[1] {
	case "flood":
		secs, _ := strconv.Atoi(os.Args[3])
		workers, _ := strconv.Atoi(os.Args[4])
		var calls, errs atomic.Int64
		end := time.Now().Add(time.Duration(secs) * time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					if call(sock) != nil {
						errs.Add(1)
					} else {
						calls.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Printf("{\"calls\":%d,\"errors\":%d,\"seconds\":%.3f}\n", calls.Load(), errs.Load(), time.Since(start).Seconds())
	case "hold":
		n, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.Atoi(os.Args[4])
		var held []net.Conn
		for range n {
			c, err := net.DialTimeout("unix", sock, 2*time.Second)
			if err != nil {
				continue
			}
			held = append(held, c)
		}
		fmt.Printf("{\"held\":%d}\n", len(held))
		os.Stdout.Sync()
		time.Sleep(time.Duration(secs) * time.Second)
		for _, c := range held {
			c.Close()
		}
	}
}
`

// installFlood builds the flood client for the guest and installs it as
// /usr/local/bin/mgflood.
func installFlood(t *testing.T, v *testbed.VM) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the flood client")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module mgflood\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(floodSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "mgflood")
	cmd := exec.Command(gobin, "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the flood client: %v\n%s", err, b)
	}
	if err := v.Install(t.Context(), out, "/usr/local/bin/mgflood", 0o755); err != nil {
		t.Fatal(err)
	}
}

// asNobody runs a guest command as the unprivileged user nobody (no groups).
const asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups "

type controlRow struct {
	Seq     int64 `json:"seq"`
	Details struct {
		Allowed bool   `json:"allowed"`
		Count   int    `json:"count"`
		Op      string `json:"op"`
		UID     int    `json:"uid"`
	} `json:"details"`
}

// controlRows returns the daemon.control rows after seq.
func controlRows(t *testing.T, g *testbed.Guest, after int64) []controlRow {
	t.Helper()
	var rows []controlRow
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate log --kind daemon.control --json")), &rows); err != nil {
		t.Fatal(err)
	}
	var out []controlRow
	for _, r := range rows {
		if r.Seq > after {
			out = append(out, r)
		}
	}
	return out
}

// newestSeq is the sequence number of the newest audit row.
func newestSeq(t *testing.T, g *testbed.Guest) int64 {
	t.Helper()
	n, err := strconv.ParseInt(g.MustRun(t, "mediagate log --json --limit 1 | grep -o '\"seq\": *[0-9]*' | tail -1 | grep -o '[0-9]*$' || echo 0"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dbBytes is the size of the register with its write-ahead log.
func dbBytes(t *testing.T, g *testbed.Guest) int64 {
	t.Helper()
	n, err := strconv.ParseInt(g.MustRun(t, "cat /var/lib/mediagate/mediagate.db /var/lib/mediagate/mediagate.db-wal 2>/dev/null | wc -c"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDaemonControlSocketFlood: a local user who is neither root nor an officer calls
// status as fast as the socket answers; the audit log grows by a few rows, not a row
// per call, and after the daemon stops the rows' counts add up to the calls. That user's
// status does not show a medium registered to someone else. Connections held open
// without a request are capped per user (the daemon's descriptors stay bounded, root
// still gets an answer), and accept failing for want of descriptors is retried, not the end of
// the socket. Prints the figures (calls/s, rows/s, register growth).
func TestDaemonControlSocketFlood(t *testing.T) {
	v, g := needDaemon(t)
	installFlood(t, v)
	const sock = "/run/mediagate/control.sock"

	// Status privacy: root sees the registered stick, nobody does not.
	num := register(t, g, "FLOOD0001", "secret")
	dev := v.PlugStick(t, "FLOOD0001", testbed.Files{"a.txt": []byte("x")})
	if got := decided(t, g, "FLOOD0001"); got != "allowed" {
		t.Fatalf("registered stick: %q, want allowed", got)
	}
	if st := g.MustRun(t, "mediagate status --json"); !strings.Contains(st, num) {
		t.Errorf("root's status does not show %s:\n%s", num, st)
	}
	res := g.Exec(t, asNobody+"mediagate status --json")
	if res.ExitCode != 0 {
		t.Fatalf("status as nobody: %s", res)
	}
	if strings.Contains(res.Stdout, num) || strings.Contains(res.Stdout, "FLOOD0001") {
		t.Errorf("nobody's status shows zhang's medium:\n%s", res.Stdout)
	}
	v.Unplug(t, dev.ID)

	// The flood.
	seq0, bytes0 := newestSeq(t, g), dbBytes(t, g)
	var flood struct {
		Calls, Errors int
		Seconds       float64
	}
	const secs, workers = 10, 8
	if err := json.Unmarshal([]byte(g.MustRun(t, fmt.Sprintf(asNobody+"mgflood flood %s %d %d", sock, secs, workers))), &flood); err != nil {
		t.Fatal(err)
	}
	seq1, bytes1 := newestSeq(t, g), dbBytes(t, g)
	rows := controlRows(t, g, seq0)
	t.Logf("flood figures: %d status calls by uid 65534 answered in %.1f s (%.0f calls/s; %d failed or turned away), %d audit rows written (%.2f rows/s; %d rows of any kind), register %d → %d bytes (%+d bytes, %.0f bytes/s)",
		flood.Calls, flood.Seconds, float64(flood.Calls)/flood.Seconds, flood.Errors, len(rows), float64(len(rows))/flood.Seconds,
		seq1-seq0, bytes0, bytes1, bytes1-bytes0, float64(bytes1-bytes0)/flood.Seconds)
	if flood.Calls < 100 {
		t.Fatalf("only %d calls in %.1f s: not a flood (%d failed)", flood.Calls, flood.Seconds, flood.Errors)
	}
	// One row for the first call, at most one summary per minute boundary crossed.
	if len(rows) > 3 {
		t.Errorf("%d status calls by one user wrote %d audit rows, want at most 3", flood.Calls, len(rows))
	}
	// Stopping the daemon writes the pending count: the rows add up to the calls.
	g.MustRun(t, "systemctl restart mediagate.service")
	sum := 0
	for _, r := range controlRows(t, g, seq0) {
		if r.Details.UID == 65534 && r.Details.Op == "status" {
			sum += max(r.Details.Count, 1)
		}
	}
	if sum < flood.Calls || sum > flood.Calls+flood.Errors {
		t.Errorf("the rows of uid 65534 count %d status calls; the client made %d (and %d failed)", sum, flood.Calls, flood.Errors)
	}

	// Held connections: one ordinary user's are served at most 4 at once.
	pid := g.MustRun(t, "systemctl show -p MainPID --value mediagate.service")
	fds := func() int {
		n, err := strconv.Atoi(g.MustRun(t, "ls /proc/"+pid+"/fd | wc -l"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := fds()
	g.MustRun(t, fmt.Sprintf(asNobody+"sh -c 'mgflood hold %s 64 12 >/tmp/held.json 2>&1 &'", sock))
	g.WaitFor(t, 20*time.Second, "grep -q held /tmp/held.json && cat /tmp/held.json")
	during := fds()
	t0 := time.Now()
	st := g.Exec(t, "timeout 60 mediagate status --json")
	wait := time.Since(t0)
	t.Logf("held connections: %s; daemon descriptors %d before, %d while held; root's status answered after %.1f s",
		g.MustRun(t, "cat /tmp/held.json"), base, during, wait.Seconds())
	// One user's connections are served at most 4 at once (the rest turned away).
	if during > base+4+4 {
		t.Errorf("daemon has %d descriptors while one user holds 64 connections (had %d): the cap of 4 per user does not hold", during, base)
	}
	if st.ExitCode != 0 {
		t.Errorf("root's status while connections are held: %s", st)
	}
	g.WaitFor(t, 30*time.Second, "! pgrep -x mgflood")

	// Accept failing (no descriptor left) is retried: squeeze the daemon's limit to
	// what it has open, hold connections, give the limit back; the same daemon answers.
	soft := g.MustRun(t, "prlimit --pid "+pid+" --nofile --raw --noheadings -o SOFT")
	open := fds()
	g.MustRun(t, fmt.Sprintf("prlimit --pid %s --nofile=%d:", pid, open))
	g.MustRun(t, fmt.Sprintf(asNobody+"mgflood hold %s 4 3 >/dev/null", sock))
	g.MustRun(t, fmt.Sprintf("prlimit --pid %s --nofile=%s:", pid, soft))
	if res := g.Exec(t, "timeout 60 mediagate status >/dev/null"); res.ExitCode != 0 {
		t.Errorf("status after accept failed for want of descriptors: %s\n%s", res,
			g.Exec(t, "journalctl -u mediagate --no-pager -o cat | tail -5").Stdout)
	}
	if now := g.MustRun(t, "systemctl show -p MainPID --value mediagate.service"); now != pid {
		t.Errorf("the daemon was restarted (pid %s → %s): the socket did not survive accept errors", pid, now)
	}
	if !strings.Contains(g.Exec(t, "journalctl -u mediagate --no-pager -o cat _PID="+pid).Stdout, "accept on the control socket failed; retrying") {
		t.Errorf("no accept failure in the journal: the squeeze did not reach accept (limit %d)", open)
	}
}
