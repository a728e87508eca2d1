package registry

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"modernc.org/sqlite"
)

// liteConnector opens the connections of an SQLite register: modernc's, each wrapped
// in a liteConn, which carries the audit log's statements once they are prepared on
// it. The daemon holds one connection (WithConnections): its reads, its appends to
// the log and its change checks take turns on it, and the schema is parsed once.
type liteConnector struct{ inner driver.Connector }

func newLiteConnector(dsn string) (liteConnector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return liteConnector{}, err
	}
	return liteConnector{inner: c}, nil
}

func (c liteConnector) Driver() driver.Driver { return c.inner.Driver() }

func (c liteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(liteDriverConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlite connection %T lacks a method the register needs", dc)
	}
	return &liteConn{liteDriverConn: inner}, nil
}

// liteDriverConn is what modernc's connections implement and database/sql looks
// for (modernc.org/sqlite's NewConnector says which): a wrapper that hid one would
// make database/sql fall back to context-free calls.
type liteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// liteConn is one connection to an SQLite register, with the audit log's statements
// prepared on it at its first append (logWriter). database/sql hands a connection to
// one user at a time, so the statements need no lock of their own.
type liteConn struct {
	liteDriverConn
	log *logConnStmts
}

// Unwrap is the modernc connection (modernc.org/sqlite's helpers look through
// wrappers with it).
func (c *liteConn) Unwrap() driver.Conn { return c.liteDriverConn }

// Close finalizes the log's statements, then closes the connection: a statement
// left after its connection closed could not be finalized any more.
func (c *liteConn) Close() error {
	if c.log != nil {
		c.log.close()
		c.log = nil
	}
	return c.liteDriverConn.Close()
}

// logConnStmts are the audit log's statements on one connection: the transaction's
// BEGIN IMMEDIATE, COMMIT and ROLLBACK, the log's head, insert and head update, and
// the daemon's check for register changes (changedSinceSQL).
type logConnStmts struct {
	begin, commit, rollback, head, insert, setHead, changed liteStmt
}

// liteStmt is a statement of the driver, run without database/sql in between: no
// argument conversion by reflection, no per-call bookkeeping.
type liteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// logStatements returns the log's statements on c, preparing them on first use.
func (c *liteConn) logStatements(ctx context.Context) (*logConnStmts, error) {
	if c.log != nil {
		return c.log, nil
	}
	var sts [7]liteStmt
	for i, q := range []string{"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", headSQL, insertSQL, setHeadSQL, changedSinceSQL} {
		st, err := c.PrepareContext(ctx, q)
		if err == nil {
			var ok bool
			if sts[i], ok = st.(liteStmt); !ok {
				st.Close()
				err = fmt.Errorf("sqlite statement %T lacks a method the register needs", st)
			}
		}
		if err != nil {
			for _, st := range sts[:i] {
				st.Close()
			}
			return nil, fmt.Errorf("prepare audit log statements: %w", err)
		}
	}
	c.log = &logConnStmts{begin: sts[0], commit: sts[1], rollback: sts[2], head: sts[3], insert: sts[4], setHead: sts[5], changed: sts[6]}
	return c.log, nil
}

func (l *logConnStmts) close() {
	for _, st := range []liteStmt{l.begin, l.commit, l.rollback, l.head, l.insert, l.setHead, l.changed} {
		st.Close()
	}
}

// exec runs st with args, converted as database/sql converts them.
func exec(ctx context.Context, st liteStmt, args ...any) error {
	nv, err := namedValues(args)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, nv)
	return err
}

// queryRow runs st with args and scans its first row into dest (integers and text),
// or returns errNoRow when there is none.
func queryRow(ctx context.Context, st liteStmt, args []any, dest ...any) error {
	nv, err := namedValues(args)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, nv)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if len(vals) != len(dest) {
		return fmt.Errorf("query returns %d columns, want %d", len(vals), len(dest))
	}
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, io.EOF) {
			return errNoRow
		}
		return err
	}
	for i, v := range vals {
		if err := scanValue(v, dest[i]); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

var errNoRow = errors.New("no row")

func namedValues(args []any) ([]driver.NamedValue, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv, nil
}

// scanValue stores a column's value in dest: *int64 from an integer, *string from
// text (or a blob); anything else is refused.
func scanValue(v driver.Value, dest any) error {
	switch d := dest.(type) {
	case *int64:
		if n, ok := v.(int64); ok {
			*d = n
			return nil
		}
	case *string:
		switch s := v.(type) {
		case string:
			*d = s
			return nil
		case []byte:
			*d = string(s)
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dest)
}
