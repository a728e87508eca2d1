package registry

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// TestMigrationsPairedAcrossEngines: every migration exists for both engines, under
// the same file name, numbered 1, 2, 3 … without gaps; nothing lies beside the
// engines' directories (a migration written where the SQLite ones used to live would
// be applied by neither engine).
func TestMigrationsPairedAcrossEngines(t *testing.T) {
	byEngine := map[Engine][]string{}
	err := fs.WalkDir(migrations, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dir, name := path.Split(p)
		engine := Engine(path.Base(dir))
		if _, known := dialects[engine]; !known || path.Dir(path.Clean(dir)) != "migrations" {
			t.Errorf("%s: migrations live in migrations/sqlite/ with a PostgreSQL twin of the same name in migrations/postgres/", p)
			return nil
		}
		byEngine[engine] = append(byEngine[engine], name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for e := range dialects {
		names := byEngine[e]
		if len(names) == 0 {
			t.Errorf("no migrations for %s", e)
		}
		slices.Sort(names)
		prev := 0
		for _, n := range names {
			num, rest, ok := strings.Cut(n, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(rest, ".sql") {
				t.Errorf("migrations/%s/%s: want NNNN_name.sql", e, n)
				continue
			}
			// Numbers are handed out to branches in advance: a gap is one not merged yet.
			if v <= prev {
				t.Errorf("migrations/%s/%s: number %d, want more than %d (one migration per number)", e, n, v, prev)
			}
			prev = v
		}
	}
	if diff := listDiff(byEngine[SQLite], byEngine[PostgreSQL]); diff != "" {
		t.Errorf("migrations differ between sqlite (-) and postgres (+): every migration needs its twin:\n%s", diff)
	}
}

// TestSchemasMatch opens a new register on each engine and compares what the
// migrations made: the same tables with the same columns (name, kind of type, NOT
// NULL), indexes and triggers. Objects only PostgreSQL has are named here.
func TestSchemasMatch(t *testing.T) {
	testEngine{PostgreSQL}.require(t)
	pgOnly := map[string]bool{
		"table disc_key":                         true, // the sample key that SQLite keeps in <db>.disc-key
		"trigger events_no_truncate":             true, // SQLite has no TRUNCATE
		"trigger office_host_events_no_truncate": true,
	}
	got := map[Engine][]string{}
	for _, e := range testEngines {
		s, _ := e.open(t)
		objs, err := schemaOf(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if e.engine == PostgreSQL && pgOnly[strings.SplitN(o, ".", 2)[0]] {
				continue
			}
			got[e.engine] = append(got[e.engine], o)
		}
	}
	if diff := listDiff(got[SQLite], got[PostgreSQL]); diff != "" {
		t.Errorf("schemas differ between sqlite (-) and postgres (+):\n%s", diff)
	}
	if len(got[SQLite]) < 50 {
		t.Errorf("only %d schema objects found", len(got[SQLite]))
	}
}

// schemaOf lists a register's tables, columns, indexes and triggers as sorted lines:
// "table media.level int notnull", "index media_serial", "trigger events_no_update".
func schemaOf(ctx context.Context, s *Store) ([]string, error) {
	var q string
	switch s.Engine() {
	case SQLite:
		q = `SELECT 'table ' || m.name, c.name, c.type, c."notnull", c.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
			UNION ALL SELECT type || ' ' || name, '', '', 0, 0 FROM sqlite_master
			WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex_%'`
	case PostgreSQL:
		q = `SELECT 'table ' || c.table_name, c.column_name, c.data_type, CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END,
			CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints tc
				JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
				WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema AND tc.table_name = c.table_name
				AND k.column_name = c.column_name) THEN 1 ELSE 0 END
			FROM information_schema.columns c WHERE c.table_schema = current_schema()
			UNION ALL SELECT 'index ' || indexname, '', '', 0, 0 FROM pg_indexes
			WHERE schemaname = current_schema() AND indexname NOT LIKE '%\_pkey' AND indexname NOT LIKE '%\_key'
			UNION ALL SELECT DISTINCT 'trigger ' || trigger_name, '', '', 0, 0 FROM information_schema.triggers
			WHERE trigger_schema = current_schema()`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var obj, col, typ string
		var notNull, pk int
		if err := rows.Scan(&obj, &col, &typ, &notNull, &pk); err != nil {
			return nil, err
		}
		line := obj
		if col != "" {
			// A primary key column is NOT NULL on PostgreSQL; SQLite's pragma says so only
			// where it is declared, so primary keys are compared without it.
			line = obj + "." + col + " " + typeKind(typ)
			if pk == 1 {
				line += " pk"
			} else if notNull == 1 {
				line += " notnull"
			}
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// typeKind maps a declared column type to what it holds: int, text or bytes.
func typeKind(t string) string {
	switch strings.ToLower(t) {
	case "integer", "bigint", "smallint":
		return "int"
	case "text":
		return "text"
	case "blob", "bytea":
		return "bytes"
	}
	return t
}

// listDiff describes what only a (-) and only b (+) hold; "" when they hold the same.
func listDiff(a, b []string) string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "- "+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "+ "+x)
		}
	}
	return strings.Join(out, "\n")
}

// TestMigrationsOutOfOrder: a migration numbered below one already applied (its
// branch was merged later) is still applied, once; a database holding a migration the
// binary does not know is refused, above or below the binary's latest.
func TestMigrationsOutOfOrder(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		ctx := context.Background()
		s, _ := eng.open(t)
		mig := func(names ...string) fstest.MapFS {
			m := fstest.MapFS{}
			for _, n := range names {
				table := "t" + strings.SplitN(n, "_", 2)[0]
				m["m/"+n] = &fstest.MapFile{Data: []byte("CREATE TABLE " + table + " (x INTEGER);")}
			}
			return m
		}
		tables := func() []string {
			t.Helper()
			var out []string
			for _, n := range []string{"t0901", "t0902", "t0903"} {
				if _, err := s.db.ExecContext(ctx, `SELECT x FROM `+n); err == nil {
					out = append(out, n)
				}
			}
			return out
		}
		// The register already has 1–4 (and whatever this release adds); the test's
		// migrations come after them.
		base := fstest.MapFS{}
		files, _ := fs.Glob(migrations, "migrations/"+string(eng.engine)+"/*.sql")
		for _, f := range files {
			b, _ := migrations.ReadFile(f)
			base["m/"+path.Base(f)] = &fstest.MapFile{Data: b}
		}
		with := func(extra fstest.MapFS) fstest.MapFS {
			m := fstest.MapFS{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		if err := s.migrateFrom(ctx, with(mig("0901_a.sql", "0903_c.sql")), "m"); err != nil {
			t.Fatal(err)
		}
		if got := tables(); !slices.Equal(got, []string{"t0901", "t0903"}) {
			t.Fatalf("tables after 901, 903: %v", got)
		}
		if err := s.migrateFrom(ctx, with(mig("0901_a.sql", "0902_b.sql", "0903_c.sql")), "m"); err != nil {
			t.Fatalf("902 after 903: %v", err)
		}
		if got := tables(); !slices.Equal(got, []string{"t0901", "t0902", "t0903"}) {
			t.Fatalf("tables after 902: %v", got)
		}
		// Applied again: nothing to do (a second CREATE TABLE would fail).
		if err := s.migrateFrom(ctx, with(mig("0901_a.sql", "0902_b.sql", "0903_c.sql")), "m"); err != nil {
			t.Fatalf("again: %v", err)
		}
		for _, tt := range []struct {
			files fstest.MapFS
			want  string
		}{
			{with(mig("0901_a.sql", "0902_b.sql")), "newer than this mediagate"},          // lacks 903
			{with(mig("0901_a.sql", "0903_c.sql")), "902, which this mediagate does not"}, // lacks 902
		} {
			if err := s.migrateFrom(ctx, tt.files, "m"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("older binary: %v; want %q", err, tt.want)
			}
		}
	})
}

// TestOpenCurrentDoesNotWaitForWriters: opening a register whose schema is current
// takes no writer's lock, so the daemon starts while a long write (an import) runs
// in another process, and does not hold one up.
func TestOpenCurrentDoesNotWaitForWriters(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		dsn := eng.dsn(t)
		writer, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer writer.Close()
		tx, err := writer.db.BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := writer.lockWriters(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`UPDATE settings SET value = value WHERE key = 'host_id'`); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("open while a writer holds the lock: %v", err)
		}
		defer s.Close()
		if s.HostID() != writer.HostID() {
			t.Errorf("host id %q, want %q", s.HostID(), writer.HostID())
		}
	})
}

// TestWithConnections: a register opened with one connection opens no other, whatever
// the concurrency: the log's batches (RecordEvents), the change checks and the other
// calls take turns on it, none waits for ever, and all finish.
func TestWithConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "reg.db"), WithConnections(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errs := make(chan error, 16)
	for range 8 {
		go func() {
			_, err := s.RecordEvent(ctx, event.KindDaemonStart, "", event.DaemonStart{Mode: media.ModeEnforce, PID: 1})
			if err == nil {
				_, err = s.SchemaVersion(ctx)
			}
			if err == nil {
				_, _, err = s.ChangedSince(ctx, 0)
			}
			errs <- err
		}()
		go func() {
			errs <- s.RecordEvents(ctx, []EventRow{{Kind: event.KindDaemonStop, Details: event.DaemonStop{PID: 2}}})
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := s.db.Stats(); st.MaxOpenConnections != 1 || st.OpenConnections > 1 {
		t.Errorf("pool %+v: want one connection", st)
	}
	if n, err := s.VerifyLog(ctx); err != nil || n != 16 {
		t.Errorf("log after 16 concurrent writers: %d rows, %v", n, err)
	}
}
