// Package registry is mediagate's register of people, the host profile, media and the
// audit log. It is the only package that talks SQL: to an embedded SQLite file
// (modernc.org/sqlite, WAL) by default, or to a PostgreSQL server (pgx) for an office
// that outgrows one file; one implementation over database/sql serves both (dialect.go).
//
// Every change and its audit row are written in one transaction, so the log never
// misses a committed change and never records one that did not happen.
package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// The schema of each engine: migrations/sqlite/NNNN_*.sql and their twins of the same
// numbers and meaning in migrations/postgres/.
//
//go:embed migrations
var migrations embed.FS

const timeLayout = audit.TimeLayout

// Store is an open registry.
type Store struct {
	db     *sql.DB
	path   string // the SQLite file, or the PostgreSQL URL (password hidden)
	d      *dialect
	now    func() time.Time
	actor  audit.Actor
	hostID string
	// cacheKiB, when positive, bounds SQLite's page cache of each connection
	// (WithPageCache).
	cacheKiB int
	// conns, when positive, is the most connections to an SQLite register
	// (WithConnections).
	conns int
	// appended, when set, is called after every writing transaction that committed
	// (WithAppended).
	appended func()
	// midApprove, set only by tests, runs inside ApproveRequest's transaction after the
	// medium is registered: an error there must leave nothing behind.
	midApprove func() error
	// logStmts are the audit log's statements, prepared once (logappend.go).
	logStmts logStmts
	// writer appends RecordEvents batches, SQLite only (logappend.go); own is the last
	// of them (logstate.go).
	writer logWriter
	own    ownAppends
	// shm reads the -shm file's header for LogState, SQLite only.
	shm *headFile
	// beforeCommit, set only by benchmarks, runs in inTx just before the commit;
	// afterCommit, set only by tests, runs right after a batch of audit rows commits.
	beforeCommit, afterCommit func()
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock used for timestamps and numbering years.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithActor sets who is recorded as the actor of every change made through the store,
// unless the context of the change names one (audit.WithActor).
func WithActor(a audit.Actor) Option { return func(s *Store) { s.actor = a } }

// WithConnections bounds the connections to an SQLite register to n (database/sql
// pools without bound and keeps two idle). Each connection parses the whole schema
// when it opens and holds its own page cache and statements, so a resident process
// with little concurrency (the daemon: its event loop, its mount log and the odd
// control call) saves memory and CPU with one: its reads, its appends to the log
// (logWriter) and its change checks (ChangeFeed) take turns on it. A caller must then
// not ask the store for anything while it holds the connection (an open transaction
// or rows): it would wait for itself. No effect on PostgreSQL.
func WithConnections(n int) Option { return func(s *Store) { s.conns = n } }

// WithAppended sets f to be called after every writing transaction of the store
// commits — nearly every one appends an audit row. f must not block: the enrolled
// host's log shipper uses it to wake without polling.
func WithAppended(f func()) Option { return func(s *Store) { s.appended = f } }

// Open opens the registry db names and applies pending migrations: a file path or
// "sqlite:PATH" is an SQLite file (created if needed), a "postgres://…" URL a
// PostgreSQL database (which must exist; its tables are created).
func Open(ctx context.Context, db string, opts ...Option) (*Store, error) {
	engine, target, err := engineOf(db)
	if err != nil {
		return nil, err
	}
	s := &Store{path: target, d: dialects[engine], now: time.Now, actor: audit.Actor{UID: -1, User: "unknown"}}
	for _, o := range opts {
		o(s)
	}
	if engine == PostgreSQL {
		s.path = redactDSN(target)
		if s.db, err = openPostgres(target); err != nil {
			return nil, fmt.Errorf("open registry: %w", err)
		}
		return s.start(ctx)
	}
	s.shm = newHeadFile(target + "-shm")
	return s.openSQLite(ctx, target)
}

// openSQLite opens (creating if needed) the SQLite file at path.
func (s *Store) openSQLite(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open registry %s: %w", path, err)
		}
	}
	// The register is not for everyone's eyes: create it owner-writable, group-readable
	// (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	q := url.Values{}
	// temp_store(MEMORY): the statement journal of a multi-row INSERT (the office's
	// receipt of host logs) stays in memory instead of a temporary file written page by page.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(1)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	if s.cacheKiB > 0 {
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", s.cacheKiB))
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	conn, err := newLiteConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	db := sql.OpenDB(conn)
	if s.conns > 0 {
		db.SetMaxOpenConns(s.conns)
		db.SetMaxIdleConns(s.conns)
	}
	s.db = db
	return s.start(ctx)
}

// start migrates the open database and loads the host id.
func (s *Store) start(ctx context.Context) (*Store, error) {
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open registry %s: %w", s.path, err)
	}
	if err := s.loadHostID(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open registry %s: %w", s.path, err)
	}
	// The audit log's statements, before any transaction needs them: should this
	// fail, each append prepares them for itself (appender).
	_, _, _, _ = s.logStmts.get(ctx, s.db)
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.logStmts.close()
	if s.shm != nil {
		s.shm.close()
	}
	return s.db.Close()
}

// Path is the SQLite database file, or the PostgreSQL URL with its password hidden.
func (s *Store) Path() string { return s.path }

// Engine is the database engine of the register.
func (s *Store) Engine() Engine { return s.d.engine }

// HostID is this registry's globally unique host id, used on every audit row.
func (s *Store) HostID() string { return s.hostID }

// SchemaVersion is the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (s *Store) migrate(ctx context.Context) error {
	return s.migrateFrom(ctx, migrations, "migrations/"+string(s.d.engine))
}

// migrateFrom applies, in order of number, every migration NNNN_*.sql in dir of fsys
// that the database has not applied yet — also one numbered below the highest applied:
// numbers are handed out ahead of time, so a register may meet migration 5 after
// migration 7. A database that holds a migration this binary does not know is newer
// than it and refused.
//
// A register whose schema is current (every start of the daemon, nearly every
// command) is told so by one read, without the writers' lock: opening it neither
// waits for a writer nor makes one wait.
func (s *Store) migrateFrom(ctx context.Context, fsys fs.FS, dir string) error {
	files, known, latest, err := knownMigrations(fsys, dir)
	if err != nil {
		return err
	}
	if s.schemaCurrent(ctx, known) {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lockWriters(ctx, tx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.d.hasTable, "schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	applied, err := appliedMigrations(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for v := range applied {
		if known[v] == "" {
			if v > latest {
				return fmt.Errorf("database schema version %d is newer than this mediagate (%d); upgrade mediagate", v, latest)
			}
			return fmt.Errorf("database has schema migration %d, which this mediagate does not know; upgrade mediagate", v)
		}
	}
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0])
		if applied[v] {
			continue
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v, s.stamp()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// knownMigrations lists the migrations NNNN_*.sql in dir of fsys, sorted, by number.
func knownMigrations(fsys fs.FS, dir string) (files []string, known map[int]string, latest int, err error) {
	files, err = fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, nil, 0, err
	}
	sort.Strings(files)
	known = map[int]string{}
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0])
		if err != nil || known[v] != "" {
			return nil, nil, 0, fmt.Errorf("migration %s: bad name", f)
		}
		known[v], latest = f, max(latest, v)
	}
	return files, known, latest, nil
}

// schemaCurrent reports whether the database has applied exactly the known
// migrations. Anything else — no schema_migrations table yet, a migration missing or
// unknown, an error — is left to the locked path, which applies or refuses.
func (s *Store) schemaCurrent(ctx context.Context, known map[int]string) bool {
	applied, err := appliedMigrations(ctx, s.db)
	if err != nil || len(applied) != len(known) {
		return false
	}
	for v := range known {
		if !applied[v] {
			return false
		}
	}
	return true
}

// appliedMigrations reads the versions in schema_migrations.
func appliedMigrations(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func (s *Store) loadHostID(ctx context.Context) error {
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'host_id'`).Scan(&s.hostID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	id := NewID()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('host_id', ?) ON CONFLICT (key) DO NOTHING`, id); err != nil {
		return err
	}
	return s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'host_id'`).Scan(&s.hostID)
}

// NewID returns a random version-4 UUID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// actorOf is the actor of a change made with ctx: the context's (audit.WithActor),
// else the store's (WithActor).
func (s *Store) actorOf(ctx context.Context) audit.Actor {
	if a, ok := audit.ActorFrom(ctx); ok {
		return a
	}
	return s.actor
}

func (s *Store) stamp() string { return s.now().UTC().Format(timeLayout) }

func parseStamp(v string) time.Time {
	t, err := time.Parse(timeLayout, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// inTx runs f in one writing transaction: immediate on SQLite, holding the writer
// lock on PostgreSQL, so that writers take turns on both engines.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockWriters(ctx, tx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		return err
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if s.appended != nil {
		s.appended()
	}
	return nil
}

// lockWriters takes the writer lock in tx where the engine needs one (dialect).
func (s *Store) lockWriters(ctx context.Context, tx *sql.Tx) error {
	if s.d.lockWriters == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.d.lockWriters)
	return err
}

// appendEvent adds one audit row inside tx. details must be the details type of
// kind (package event); anything else is refused before anything is written.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, kind event.Kind, medium string, details any) (*audit.Event, error) {
	d, err := rowDetails(kind, details)
	if err != nil {
		return nil, err
	}
	a, err := s.appender(ctx, tx)
	if err != nil {
		return nil, err
	}
	e, err := a.add(ctx, kind, medium, d)
	if err != nil {
		return nil, err
	}
	return e, a.finish(ctx)
}

// RecordEvent appends a free-standing audit row (a device decision, a check-in, …).
// details must be the details type of kind (package event).
func (s *Store) RecordEvent(ctx context.Context, kind event.Kind, medium string, details any) (*audit.Event, error) {
	var e *audit.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = s.appendEvent(ctx, tx, kind, medium, details)
		return err
	})
	return e, err
}
