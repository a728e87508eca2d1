package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"mediagate/internal/testbed"
)

// TestOfficeCatchesLogTampering: the guest, enrolled with the real office server,
// ships its audit log; then, each on a freshly enrolled host, the three attacks of a
// root user on the host's register are done in the guest with the daemon stopped —
// the last rows deleted and the head reset, an older copy of the database put back,
// the register replaced by a fresh one — and the daemon started again. Each time the
// office marks the host broken (server host show), and the guest's status says so.
func TestOfficeCatchesLogTampering(t *testing.T) {
	office := needOffice(t)
	srv, ok := office.(*realServer)
	if !ok {
		t.Skip("log collection needs the real office server (the protocol fake has no log endpoint)")
	}
	v, g := needDaemon(t)
	v.PlugUserNIC(t)
	g.WaitFor(t, 30*time.Second, fmt.Sprintf(`timeout 3 bash -c '</dev/tcp/%s' && echo up`,
		strings.Replace(strings.TrimPrefix(office.URL(), "https://"), ":", "/", 1)))
	t.Cleanup(func() { unenrol(t, g) })

	attacks := []struct {
		name string
		// before runs with the daemon stopped once the log is acknowledged (keeping
		// what the attack needs); attack runs with the daemon stopped later.
		before, attack func(t *testing.T)
	}{
		{name: "rows deleted and head reset", attack: func(t *testing.T) {
			editGuestDB(t, v, g, func(db *sql.DB) error {
				for _, q := range []string{
					`DROP TRIGGER events_no_delete`,
					`DELETE FROM events WHERE seq > (SELECT MAX(seq) - 3 FROM events)`,
					`UPDATE event_head SET seq = (SELECT MAX(seq) FROM events), hash = (SELECT hash FROM events WHERE seq = (SELECT MAX(seq) FROM events))`,
				} {
					if _, err := db.Exec(q); err != nil {
						return fmt.Errorf("%s: %w", q, err)
					}
				}
				return nil
			})
		}},
		{name: "older database copied back",
			before: func(t *testing.T) { g.MustRun(t, "cp "+officeDB+" /root/older.db") },
			attack: func(t *testing.T) {
				g.MustRun(t, "rm -f "+officeDB+"-wal "+officeDB+"-shm && cp /root/older.db "+officeDB)
			}},
		{name: "register replaced with a fresh one", attack: func(t *testing.T) {
			g.MustRun(t, "rm -f "+officeDB+" "+officeDB+"-wal "+officeDB+"-shm")
		}},
	}
	for i, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			host := fmt.Sprintf("VM-L%d", i+1)
			unenrol(t, g)
			enrolGuest(t, office, g, host)
			acked := waitShipped(t, g)
			if at.before != nil {
				g.MustRun(t, "systemctl stop mediagate.service")
				at.before(t)
				g.MustRun(t, "systemctl start mediagate.service")
			}
			// More rows, acknowledged: a restart writes daemon.stop/start.
			g.MustRun(t, "systemctl restart mediagate.service")
			acked2 := waitShipped(t, g)
			if acked2 <= acked {
				t.Fatalf("acknowledged row %d after %d", acked2, acked)
			}
			// The daemon may have written and shipped a row more meanwhile.
			if n := hostLog(t, srv, host).Seq; n < acked2 {
				t.Fatalf("office holds up to row %d, the guest's acknowledgement says %d", n, acked2)
			}
			start := time.Now()
			g.MustRun(t, "systemctl stop mediagate.service")
			at.attack(t)
			g.MustRun(t, "systemctl start mediagate.service")
			var l struct {
				BrokenSeq    int64  `json:"broken_seq"`
				BrokenReason string `json:"broken_reason"`
				Seq          int64  `json:"seq"`
			}
			for deadline := time.Now().Add(60 * time.Second); ; {
				h := hostLog(t, srv, host)
				l.BrokenSeq, l.BrokenReason, l.Seq = h.BrokenSeq, h.BrokenReason, h.Seq
				if l.BrokenSeq != 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the office did not catch it: %+v", h)
				}
				time.Sleep(500 * time.Millisecond)
			}
			t.Logf("FIGURE %s: caught by the office %.1f s after the daemon started again: broken at row %d (acknowledged %d): %s",
				at.name, time.Since(start).Seconds(), l.BrokenSeq, l.Seq, l.BrokenReason)
			if l.BrokenSeq > l.Seq+1 || l.Seq < acked2 {
				t.Errorf("first bad row %d, the office's head %d (the guest had %d acknowledged)", l.BrokenSeq, l.Seq, acked2)
			}
			st := g.WaitFor(t, 30*time.Second, officeEnv+" mediagate status | grep 'Audit log at the office' | grep BROKEN")
			t.Logf("guest status: %s", st)
			list := srv.officer(t, "server", "host", "list")
			if !strings.Contains(list, "LOG BROKEN at row "+strconv.FormatInt(l.BrokenSeq, 10)) {
				t.Errorf("server host list does not show the break:\n%s", list)
			}
			// The guest's own audit verify: the acknowledged row is gone (or the register is
			// another one) — exit 3.
			if res := g.Exec(t, officeEnv+" mediagate audit verify"); res.ExitCode != 3 {
				t.Errorf("audit verify in the guest after %s: %s", at.name, res)
			}
		})
	}
}

// enrolGuest enrols the guest as host with the office and starts its daemon on it,
// with a register of its own (officeDB).
func enrolGuest(t *testing.T, office officeBackend, g *testbed.Guest, host string) {
	t.Helper()
	token := office.Token(t, host)
	g.MustRun(t, fmt.Sprintf(`set -e
mkdir -p %s
mkdir -p %s
printf '[Service]\nEnvironment=%s\n' > %s
%s mediagate host enroll --server %s --token %s --ca-fingerprint %s --host %s
systemctl daemon-reload && systemctl restart mediagate.service && systemctl is-active mediagate.service`,
		officeDir, filepath.Dir(e2eDropIn), officeEnv, e2eDropIn, officeEnv, office.URL(), token, office.Fingerprint(), host))
}

// waitShipped waits until the guest's status says the office acknowledged its whole
// log, and returns the acknowledged row.
func waitShipped(t *testing.T, g *testbed.Guest) int64 {
	t.Helper()
	line := g.WaitFor(t, 60*time.Second, officeEnv+` mediagate status | grep 'Audit log at the office' | grep -E 'up to row ([0-9]+) of \1 '`)
	var n, m int64
	if _, err := fmt.Sscanf(line[strings.Index(line, "up to row"):], "up to row %d of %d", &n, &m); err != nil || n == 0 {
		t.Fatalf("status line %q: %v", line, err)
	}
	return n
}

type hostLogState struct {
	Seq          int64  `json:"seq"`
	BrokenSeq    int64  `json:"broken_seq"`
	BrokenReason string `json:"broken_reason"`
}

// hostLog is the office's record of host's log (server host show --json).
func hostLog(t *testing.T, s *realServer, host string) hostLogState {
	t.Helper()
	var v struct {
		Host struct {
			Log hostLogState `json:"log"`
		} `json:"host"`
	}
	out := s.officer(t, "server", "host", "show", host, "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("server host show: %v\n%s", err, out)
	}
	return v.Host.Log
}

// editGuestDB edits the guest's register as a root user would with sqlite3: the file
// is copied out through the share, edited here, and copied back (the daemon stopped).
func editGuestDB(t *testing.T, v *testbed.VM, g *testbed.Guest, edit func(*sql.DB) error) {
	t.Helper()
	g.MustRun(t, "rm -f "+officeDB+"-wal "+officeDB+"-shm && cp "+officeDB+" /share/bin/tamper.db")
	path := filepath.Join(v.ShareDir(), "bin", "tamper.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := edit(db); err != nil {
		db.Close()
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Install(context.Background(), path, officeDB, 0o640); err != nil {
		t.Fatal(err)
	}
}
