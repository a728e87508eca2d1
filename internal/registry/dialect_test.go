package registry

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
)

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || ? FROM t`, `SELECT '?' || $1 FROM t`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT "odd?name" FROM t WHERE x = ?`, `SELECT "odd?name" FROM t WHERE x = $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{`SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{`DO $$ BEGIN PERFORM '?'; END $$; SELECT ?`, `DO $$ BEGIN PERFORM '?'; END $$; SELECT $1`},
		{`SELECT $tag$ ? $tag$, ?`, `SELECT $tag$ ? $tag$, $1`},
		{`SELECT $1, ?`, `SELECT $1, $1`}, // a numbered parameter is not a dollar quote
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ? FROM t WHERE a = '?'`, `$$?$$ ?`, "-- ?\n?", `/* ? */ ? "?"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		if !strings.Contains(q, "?") && out != q {
			t.Fatalf("rebind changed a query without placeholders: %q → %q", q, out)
		}
		if strings.Count(out, "?") > strings.Count(q, "?") {
			t.Fatalf("rebind added placeholders: %q → %q", q, out)
		}
		if n := strings.Count(q, "?") - strings.Count(out, "?"); n > 0 && !strings.Contains(out, "$"+strconv.Itoa(n)) {
			t.Fatalf("rebind replaced %d placeholders without a $%d: %q → %q", n, n, q, out)
		}
	})
}

func TestPlaceholderCache(t *testing.T) {
	var p placeholders
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				q := `SELECT ? FROM t WHERE a = ?` + strings.Repeat(" ", (i*200+j)%3)
				if got := p.rewrite(q); !strings.HasPrefix(got, `SELECT $1 FROM t WHERE a = $2`) {
					t.Errorf("rewrite = %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(p.cache); n != 3 {
		t.Errorf("cache holds %d statements; want 3", n)
	}
}

func TestEngineOf(t *testing.T) {
	for _, tt := range []struct {
		dsn    string
		engine Engine
		target string
		bad    bool
	}{
		{"/var/lib/mediagate/mediagate.db", SQLite, "/var/lib/mediagate/mediagate.db", false},
		{"reg.db", SQLite, "reg.db", false},
		{"sqlite:/var/lib/m.db", SQLite, "/var/lib/m.db", false},
		{"sqlite:///var/lib/m.db", SQLite, "/var/lib/m.db", false},
		{"postgres://u:pw@db.office/mediagate?sslmode=verify-full", PostgreSQL, "postgres://u:pw@db.office/mediagate?sslmode=verify-full", false},
		{"postgresql://db.office/mediagate", PostgreSQL, "postgresql://db.office/mediagate", false},
		{"mysql://db.office/mediagate", "", "", true},
		{"sqlite:", "", "", true},
		{"", "", "", true},
	} {
		e, target, err := engineOf(tt.dsn)
		if (err != nil) != tt.bad || e != tt.engine || target != tt.target {
			t.Errorf("engineOf(%q) = %q, %q, %v", tt.dsn, e, target, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
		if file, ok := SQLiteFile(tt.dsn); ok != (tt.engine == SQLite) || file != map[bool]string{true: tt.target}[ok] {
			t.Errorf("SQLiteFile(%q) = %q, %v", tt.dsn, file, ok)
		}
	}
	if _, err := Open(context.Background(), "mysql://u:secret@h/db"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open of an unknown kind of database: %v", err)
	}
	if got := redactDSN("postgres://officer:s3cret@db/mg"); strings.Contains(got, "s3cret") || !strings.Contains(got, "officer") {
		t.Errorf("redactDSN = %q", got)
	}
}

// TestDiscKey: a PostgreSQL register makes its disc sample key once, also when many
// ask at once; an SQLite register keeps it in its file and refuses.
func TestDiscKey(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		if eng.engine == SQLite {
			if _, err := s.DiscKey(ctx, 32); err == nil {
				t.Error("an SQLite register gave a disc key from the database")
			}
			return
		}
		other, err := Open(ctx, eng.rawDSN(t, s))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		keys := make(chan string, 8)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				k, err := []*Store{s, other}[i%2].DiscKey(ctx, 32)
				if err != nil || len(k) != 32 {
					t.Errorf("DiscKey = %x, %v", k, err)
				}
				keys <- string(k)
			})
		}
		wg.Wait()
		close(keys)
		first := <-keys
		for k := range keys {
			if k != first {
				t.Fatal("two different disc keys handed out")
			}
		}
		if _, err := s.DiscKey(ctx, 8); err == nil {
			t.Error("a key of 8 bytes accepted")
		}
	})
}

// TestUniqueViolation: a refused duplicate is told apart by its column on both engines.
func TestUniqueViolation(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		ins := `INSERT INTO people (id, handle, name, created, updated) VALUES (?, 'same', 'N', '', '')`
		if _, err := s.db.ExecContext(ctx, ins, NewID()); err != nil {
			t.Fatal(err)
		}
		_, err := s.db.ExecContext(ctx, ins, NewID())
		if !isUnique(err, "people.handle") || !isUnique(err, "handle") {
			t.Errorf("duplicate handle not recognised: %v", err)
		}
		if isUnique(err, "media.number") || isUnique(err, "number") || isUnique(nil, "handle") {
			t.Errorf("duplicate handle taken for another column: %v", err)
		}
	})
}

// TestWriterWaitsAtMostTheLockTimeout: on PostgreSQL a writer waits for another's
// writer lock as long as lock_timeout (10 s unless the URL says otherwise), then fails
// without writing, as a writer on SQLite does after its busy timeout.
func TestWriterWaitsAtMostTheLockTimeout(t *testing.T) {
	eng := testEngine{PostgreSQL}
	dsn := eng.dsn(t)
	ctx := context.Background()
	holder, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var lt string
	if err := holder.db.QueryRowContext(ctx, `SHOW lock_timeout`).Scan(&lt); err != nil || lt != "10s" {
		t.Errorf("lock_timeout of a plain URL = %q, %v; want 10s", lt, err)
	}
	waiter, err := Open(ctx, dsn+"&options=-c%20lock_timeout%3D300ms")
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	tx, err := holder.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := holder.lockWriters(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.AddPerson(ctx, media.Person{Handle: "late", Name: "Late"}); err == nil || !strings.Contains(err.Error(), "lock timeout") {
		t.Errorf("writer behind a held lock: %v; want a lock timeout", err)
	}
	tx.Rollback()
	if _, err := waiter.Person(ctx, "late"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused write left %v", err)
	}
	if _, err := waiter.AddPerson(ctx, media.Person{Handle: "late", Name: "Late"}); err != nil {
		t.Errorf("writer after the lock was released: %v", err)
	}
}

// TestLeastPrivilegeRole: once the register's owner has made the tables, a role with
// only SELECT, INSERT, UPDATE on them and USAGE on their sequences opens it and does
// every kind of write — and cannot delete a row.
func TestLeastPrivilegeRole(t *testing.T) {
	eng := testEngine{PostgreSQL}
	dsn := eng.dsn(t)
	ctx := context.Background()
	owner, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() }) // after the role's cleanup below
	role := "mg_user_" + strings.ToLower(strings.ReplaceAll(NewID()[:8], "-", ""))
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ` + role,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ` + role,
	} {
		if _, err := owner.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := owner.db.ExecContext(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	s, err := Open(ctx, u.String(), WithActor(audit.Actor{UID: 0, User: "root"}))
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	defer s.Close()
	if _, err := s.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret}); err != nil {
		t.Fatal(err)
	}
	seed(t, s, "alice")
	m := register(t, s, "LP1", media.Secret, "alice")
	if _, _, err := s.OpenCampaign(ctx, 2026, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckInPlugged(ctx, m.Number, m.Identity, "A", "1"); err != nil {
		t.Fatalf("check-in (a sequence-numbered row): %v", err)
	}
	if _, err := s.DiscKey(ctx, 32); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VerifyLog(ctx); err != nil || n != 5 {
		t.Errorf("VerifyLog = %d, %v", n, err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM people WHERE handle = 'nobody'`); err == nil {
		t.Error("the least-privilege role may delete")
	}
}
