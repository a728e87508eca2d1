//go:build !mediagate_daemon

package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL through pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib), so that
// the registry keeps one implementation over database/sql. The connector below wraps
// pgx's connections: every statement has its "?" placeholders rewritten to "$n" (once
// per statement text, cached), and Go booleans travel as the 0/1 integers the schema
// keeps flags in on both engines.

// openPostgres opens the register in the PostgreSQL database of dsn.
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", redactDSN(dsn), err)
	}
	// As on SQLite (its 10 s busy timeout): a server that does not answer, or a writer
	// that waits for another's lock longer than this, fails instead of hanging. The URL
	// may set others (connect_timeout=…, options=-c%20lock_timeout=…).
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if _, set := cfg.RuntimeParams["lock_timeout"]; !set && !strings.Contains(cfg.RuntimeParams["options"], "lock_timeout") {
		cfg.RuntimeParams["lock_timeout"] = "10s"
	}
	db := sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*cfg), ph: &placeholders{}})
	// database/sql opens a connection per concurrent query without bound: the office
	// server's long polls woken together (a thousand hosts) would each take one, and
	// PostgreSQL refuses clients beyond max_connections (100 by default). Beyond this
	// many, queries wait for a free connection instead.
	db.SetMaxOpenConns(MaxPostgresConns)
	db.SetMaxIdleConns(MaxPostgresConns / 4)
	return db, nil
}

// MaxPostgresConns bounds the connections a register opens to its PostgreSQL server.
const MaxPostgresConns = 64

type pgConnector struct {
	inner driver.Connector
	ph    *placeholders
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("pgx connector returned %T", conn)
	}
	return &pgConn{Conn: sc, ph: c.ph}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is a pgx connection that takes the registry's portable SQL. Everything not
// overridden here is pgx's own (transactions, session reset, ping).
type pgConn struct {
	*stdlib.Conn
	ph *placeholders
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(c.ph.rewrite(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.ph.rewrite(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, c.ph.rewrite(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, c.ph.rewrite(query), args)
}

// CheckNamedValue passes every argument to pgx as it is, except booleans: flags are
// integer columns (0/1) on both engines, as SQLite stores them.
func (c *pgConn) CheckNamedValue(v *driver.NamedValue) error {
	if b, ok := v.Value.(bool); ok {
		v.Value = int64(0)
		if b {
			v.Value = int64(1)
		}
	}
	return nil
}

// pgUniqueViolation reports whether err is PostgreSQL's unique violation of the
// constraint PostgreSQL names for a UNIQUE column "table.column": table_column_key
// (for a bare "column", of that column in any table).
func pgUniqueViolation(err error, column string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	if !strings.Contains(column, ".") {
		return strings.HasSuffix(pe.ConstraintName, "_"+column+"_key")
	}
	return pe.ConstraintName == strings.ReplaceAll(column, ".", "_")+"_key"
}

// redactDSN hides the password of a database URL for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// CreateDatabase makes a new, empty PostgreSQL database on the server of serverDSN
// (connecting to the database serverDSN names, which must allow CREATE DATABASE) and
// returns its DSN: serverDSN with the database name replaced. The name is prefix and
// a random suffix. It is for tests and for tools that set up a server; Open creates
// the register's tables in it.
func CreateDatabase(ctx context.Context, serverDSN, prefix string) (name, dsn string, err error) {
	var b [6]byte
	rand.Read(b[:])
	name = fmt.Sprintf("%s_%x", prefix, b)
	if !validDBName(name) {
		return "", "", fmt.Errorf("create database %q: bad name", name)
	}
	u, err := url.Parse(serverDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("create database: %s is not a postgres:// URL", redactDSN(serverDSN))
	}
	conn, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		return "", "", fmt.Errorf("create database: connect to %s: %w", redactDSN(serverDSN), err)
	}
	defer conn.Close(ctx)
	// template0 and the C collation: text sorts and compares byte by byte, as on SQLite.
	// Copying the files of the tiny template is quicker than logging every block
	// (PostgreSQL 15's default); older servers know only the copy.
	create := `CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`
	if _, err := conn.Exec(ctx, create+` STRATEGY FILE_COPY`); err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42601" { // syntax error: before PostgreSQL 15
			return "", "", fmt.Errorf("create database %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, create); err != nil {
			return "", "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// DropDatabase drops a database made by CreateDatabase, closing its connections.
func DropDatabase(ctx context.Context, serverDSN, name string) error {
	if !validDBName(name) {
		return fmt.Errorf("drop database %q: bad name", name)
	}
	conn, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		return fmt.Errorf("drop database: connect to %s: %w", redactDSN(serverDSN), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// validDBName accepts the names CreateDatabase makes: lower-case letters, digits and
// underscores, starting with a letter, at most 63 bytes.
func validDBName(n string) bool {
	if n == "" || len(n) > 63 || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// DiscKey returns the register's disc sample key on PostgreSQL, making a new random
// one of size bytes (16 to 64) on first use: two processes doing so at once both end
// up with the one that was stored first. An SQLite register keeps its key in a file
// next to the database (identity.DiscKeyPath) and refuses here.
func (s *Store) DiscKey(ctx context.Context, size int) ([]byte, error) {
	if s.d.engine != PostgreSQL {
		return nil, fmt.Errorf("disc sample key: the %s register keeps it in a file beside the database", s.d.engine)
	}
	if size < 16 || size > 64 {
		return nil, fmt.Errorf("disc sample key: size %d not in 16..64", size)
	}
	var key []byte
	err := s.db.QueryRowContext(ctx, `SELECT key FROM disc_key WHERE singleton = 1`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	fresh := make([]byte, size)
	rand.Read(fresh)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO disc_key (singleton, key, created) VALUES (1, ?, ?) ON CONFLICT (singleton) DO NOTHING`,
		fresh, s.stamp()); err != nil {
		return nil, fmt.Errorf("create disc sample key: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT key FROM disc_key WHERE singleton = 1`).Scan(&key); err != nil {
		return nil, fmt.Errorf("disc sample key: %w", err)
	}
	return key, nil
}
