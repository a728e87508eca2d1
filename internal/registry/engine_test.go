package registry

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/audit"
)

// The registry's tests are one contract run against both engines: SQLite always, and
// PostgreSQL when MEDIAGATE_PG_DSN names a server where the tests may create databases
// (scripts/test.sh starts one). Each test gets a database of its own, dropped after.

// pgDSNEnv names the PostgreSQL server for the tests: a postgres:// URL of a role that
// may CREATE DATABASE.
const pgDSNEnv = "MEDIAGATE_PG_DSN"

type testEngine struct{ engine Engine }

var testEngines = []testEngine{{SQLite}, {PostgreSQL}}

// forEngines runs f as a subtest per engine, named after it. The PostgreSQL run skips,
// saying why, when no server is given.
func forEngines(t *testing.T, f func(t *testing.T, e testEngine)) {
	t.Helper()
	for _, e := range testEngines {
		t.Run(string(e.engine), func(t *testing.T) {
			e.require(t)
			f(t, e)
		})
	}
}

func (e testEngine) require(t testing.TB) {
	t.Helper()
	if e.engine == PostgreSQL && os.Getenv(pgDSNEnv) == "" {
		t.Skipf("PostgreSQL run skipped: %s is not set (scripts/test.sh starts a server and sets it)", pgDSNEnv)
	}
}

// dsn returns a new, empty database of the engine for t: a file in t's temporary
// directory, or a database created on the server and dropped when t ends.
func (e testEngine) dsn(t testing.TB) string {
	t.Helper()
	e.require(t)
	if e.engine == SQLite {
		return filepath.Join(t.TempDir(), "reg.db")
	}
	server := os.Getenv(pgDSNEnv)
	ctx := context.Background()
	name, dsn, err := CreateDatabase(ctx, server, "mg_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := DropDatabase(context.Background(), server, name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// open opens a new register of the engine with the tests' clock and actor.
func (e testEngine) open(t testing.TB) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), e.dsn(t), WithClock(c.now), WithActor(audit.Actor{UID: 0, User: "root", Login: "officer"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// rawDSN is where s lives, to open another connection to it.
func (e testEngine) rawDSN(t testing.TB, s *Store) string {
	t.Helper()
	return s.path // the tests' DSNs carry no password to hide
}

// rawDB opens the database of dsn without the registry on it (no migrations).
func (e testEngine) rawDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if e.engine == PostgreSQL {
		db, err = openPostgres(dsn)
	} else {
		db, err = sql.Open("sqlite", "file:"+dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
