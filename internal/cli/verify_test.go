package cli

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mediagate/internal/anchor"
)

// sqlite runs SQL on the test register with the sqlite3 tool, as root on a host could.
func (e *env) sqlite(query string) {
	e.t.Helper()
	tool, err := exec.LookPath("sqlite3")
	if err != nil {
		e.t.Skip("sqlite3 tool not installed (scripts/test.sh installs it)")
	}
	if out, err := exec.Command(tool, e.db, query).CombinedOutput(); err != nil {
		e.t.Fatalf("sqlite3: %v: %s", err, out)
	}
}

func (e *env) registerStick(serial string) string {
	e.t.Helper()
	return strings.TrimSpace(e.ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", serial,
		"--level", "secret", "--custodian", "lisi"))
}

// TestVerifyCatchesRegisterEdits: the three attacks on a register, made with the
// sqlite3 tool, each end in exit status 3 with the table, key and field named.
func TestVerifyCatchesRegisterEdits(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		wants []string
	}{
		{"lost set active", `UPDATE media SET status = 'active' WHERE number = 'S-2026-0001'`,
			[]string{"media S-2026-0001: status is \"active\" in the register, the audit log makes it \"lost\""}},
		{"stick added", `INSERT INTO media (id, number, kind, identity_key, level, custodian_id, status, access, created, updated)
			SELECT 'x', 'S-2026-0099', 'usb-disk', 'usb:dead:beef:X', 2, custodian_id, 'active', 'rw', created, updated FROM media LIMIT 1`,
			[]string{"media S-2026-0099: the audit log never made this row"}},
		{"last rows cut, head moved", `DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq >= (SELECT seq FROM events WHERE kind = 'medium.lost');
			UPDATE event_head SET seq = (SELECT MAX(seq) FROM events), hash = (SELECT hash FROM events ORDER BY seq DESC LIMIT 1)`,
			[]string{"media S-2026-0001: status is \"lost\" in the register, the audit log makes it \"active\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.setup()
			e.registerStick("VERIFY01")
			e.ok("media", "lost", "S-2026-0001", "--note", "left on a train")
			if out := e.ok("audit", "verify"); !strings.Contains(out, "register matches its audit log: 3 people, 1 media") {
				t.Fatalf("before: %q", out)
			}
			e.sqlite(tt.sql)
			out, errs, code := e.run("audit", "verify")
			if code != ExitBroken || !strings.Contains(errs, "does not match its audit log") {
				t.Fatalf("exit %d, stderr %q, stdout %q", code, errs, out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			var res verifyResult
			js, _, _ := e.run("audit", "verify", "--json")
			if err := json.Unmarshal([]byte(js), &res); err != nil || res.Intact || res.Register == nil || res.Register.Matches ||
				len(res.Register.Findings) == 0 {
				t.Errorf("--json = %s (%v)", js, err)
			}
		})
	}
}

// TestVerifyCatchesRollback: an older copy of the register copied back verifies on
// its own; the office's acknowledgement of a later row catches it.
func TestVerifyCatchesRollback(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.registerStick("ROLL01")
	old, err := os.ReadFile(e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.ok("media", "lost", "S-2026-0001", "--note", "gone")
	var rows []struct {
		Seq    int64  `json:"seq"`
		Hash   string `json:"hash"`
		HostID string `json:"host_id"`
	}
	if err := json.Unmarshal([]byte(e.ok("log", "--json", "--limit", "1")), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("log: %v", err)
	}
	seed, _ := hex.DecodeString(strings.Repeat("42", 32))
	priv := ed25519.NewKeyFromSeed(seed)
	ack := anchor.Sign(anchor.Ack{Host: rows[0].HostID, Seq: rows[0].Seq, Hash: rows[0].Hash, Time: time.Now()}, priv)
	if err := anchor.Save(anchor.File(e.db), ack); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(anchor.KeyFile(e.db), []byte(hex.EncodeToString(priv.Public().(ed25519.PublicKey))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "office acknowledgement of row") {
		t.Fatalf("acknowledged: %q", out)
	}
	// Root puts the older file back.
	os.Remove(e.db + "-wal")
	os.Remove(e.db + "-shm")
	if err := os.WriteFile(e.db, old, 0o640); err != nil {
		t.Fatal(err)
	}
	out, errs, code := e.run("audit", "verify")
	if code != ExitBroken || !strings.Contains(out, "rolled back or cut") {
		t.Errorf("rollback: exit %d, %q, %q", code, out, errs)
	}
	// An acknowledgement signed with another key is refused.
	_, other, _ := ed25519.GenerateKey(nil)
	if err := anchor.Save(anchor.File(e.db), anchor.Sign(ack, other)); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := e.run("audit", "verify"); code != ExitBroken || !strings.Contains(errs, "does not verify") {
		t.Errorf("forged acknowledgement: exit %d, %q", code, errs)
	}
	// An acknowledgement file someone cut short is tampering too.
	if err := os.WriteFile(anchor.File(e.db), []byte(`{"host": "x", "seq": 1`), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := e.run("audit", "verify"); code != ExitBroken || !strings.Contains(errs, "cannot be read") {
		t.Errorf("truncated acknowledgement: exit %d, %q", code, errs)
	}
	if err := anchor.Save(anchor.File(e.db), anchor.Sign(ack, other)); err != nil {
		t.Fatal(err)
	}
	// Without the office key the chain is still checked against it, and the output says
	// the signature was not checked.
	os.Remove(anchor.KeyFile(e.db))
	if out, _, code := e.run("audit", "verify"); code != ExitBroken || !strings.Contains(out, "rolled back") || !strings.Contains(out, "signature was not checked") {
		t.Errorf("no key: exit %d, %q", code, out)
	}
}
