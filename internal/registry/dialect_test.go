package registry

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
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
