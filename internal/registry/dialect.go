package registry

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Engine names the database engine under a Store.
type Engine string

// The engines a register can live on.
const (
	// SQLite is the embedded file (modernc.org/sqlite), the default.
	SQLite Engine = "sqlite"
	// PostgreSQL is a server reached through pgx, for an office that outgrows one file.
	PostgreSQL Engine = "postgres"
)

// The registry keeps one implementation over database/sql and writes its SQL once, in
// the form both engines accept: "?" placeholders, ON CONFLICT … DO NOTHING/UPDATE,
// RETURNING, integer flags (0/1) and UTC times as text. What cannot be written once is
// in the dialect below: JSON search in the audit details, the writer lock, the
// isolation of a consistent read, and which migrations to apply. The placeholder
// rewrite for PostgreSQL happens under database/sql, in the connection (postgres.go),
// so every statement of the package — and of code yet to come — goes through it.
type dialect struct {
	engine Engine
	// lockWriters is run first in every writing transaction (and again before the
	// audit head is read): SQLite's immediate transactions already serialise writers;
	// on PostgreSQL a transaction-scoped advisory lock does, so that two writers can
	// neither fork the audit chain nor hand out one number twice.
	lockWriters string
	// snapshot is the isolation of a read that must see one state of the database
	// across statements (verify reads the head, then the rows).
	snapshot sql.IsolationLevel
	// hasTable counts the tables named by its one argument (0 or 1): on PostgreSQL
	// even CREATE TABLE IF NOT EXISTS needs CREATE on the schema, which a role that
	// only uses the register need not have.
	hasTable string
}

// writerLockKey is the advisory lock every writer of a PostgreSQL register takes
// ("mediagat" in ASCII).
const writerLockKey int64 = 0x6d65646961676174

var dialects = map[Engine]*dialect{
	SQLite: {engine: SQLite, snapshot: sql.LevelDefault,
		hasTable: `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`},
	PostgreSQL: {engine: PostgreSQL, lockWriters: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(writerLockKey, 10) + ")",
		snapshot: sql.LevelRepeatableRead,
		hasTable: `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`},
}

// detailsText is an SQL expression for the text at path (event.Path's "$.a.b") in a
// row's details, NULL when absent; rows whose details are not JSON have none. It
// takes one argument, returned with it.
func (d *dialect) detailsText(path string) (string, any) {
	if d.engine == PostgreSQL {
		// mediagate_details (postgres migration 0001) is the details as jsonb, '{}' when
		// they are empty or not JSON, as json_valid decides on SQLite.
		return `(mediagate_details(details) #>> ?::text[])`, strings.Split(strings.TrimPrefix(path, "$."), ".")
	}
	return `json_extract(CASE WHEN json_valid(details) THEN details ELSE '{}' END, ?)`, path
}

// placeholders rewrites the "?" placeholders of a query to PostgreSQL's "$1", "$2" …
// in order, leaving quoted strings, quoted identifiers, comments and dollar-quoted
// bodies alone. Rewrites are cached: the registry's statements are a small fixed set.
type placeholders struct {
	mu    sync.RWMutex
	cache map[string]string
}

// maxCachedQueries bounds the cache; queries beyond it are rewritten every time.
const maxCachedQueries = 1024

func (p *placeholders) rewrite(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	p.mu.RLock()
	out, ok := p.cache[q]
	p.mu.RUnlock()
	if ok {
		return out
	}
	out = rebind(q)
	p.mu.Lock()
	if p.cache == nil {
		p.cache = map[string]string{}
	}
	if len(p.cache) < maxCachedQueries {
		p.cache[q] = out
	}
	p.mu.Unlock()
	return out
}

// rebind is the rewrite itself.
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			i++
			continue
		case c == '\'' || c == '"':
			j := closing(q, i+1, string(c))
			b.WriteString(q[i:j])
			i = j
			continue
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := closing(q, i+2, "\n")
			b.WriteString(q[i:j])
			i = j
			continue
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			j := closing(q, i+2, "*/")
			b.WriteString(q[i:j])
			i = j
			continue
		case c == '$':
			if tag, ok := dollarTag(q[i:]); ok {
				j := closing(q, i+len(tag), tag)
				b.WriteString(q[i:j])
				i = j
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// closing returns the index just past the first end at or after from, or len(q).
func closing(q string, from int, end string) int {
	if k := strings.Index(q[from:], end); k >= 0 {
		return from + k + len(end)
	}
	return len(q)
}

// dollarTag returns the opening "$tag$" of a dollar-quoted string at the start of s.
// A "$" followed by a digit is a numbered parameter, not a tag.
func dollarTag(s string) (string, bool) {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			return s[:i+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
		case c >= '0' && c <= '9' && i > 1:
		default:
			return "", false
		}
	}
	return "", false
}

// engineOf tells which engine a DSN names: postgres:// and postgresql:// URLs are
// PostgreSQL; "sqlite:" followed by a path, or a plain path, is SQLite.
func engineOf(dsn string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return PostgreSQL, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		p = strings.TrimPrefix(p, "//") // sqlite:///var/lib/… as well as sqlite:/var/lib/…
		if p == "" {
			return "", "", fmt.Errorf("open registry %s: no file path", dsn)
		}
		return SQLite, p, nil
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("open registry %s: unknown database kind (use a file path, sqlite:PATH or postgres://…)", redactDSN(dsn))
	}
	if dsn == "" {
		return "", "", fmt.Errorf("open registry: no database given")
	}
	return SQLite, dsn, nil
}

// SQLiteFile returns the file of an SQLite register named by db (a path or
// sqlite:PATH); ok is false for a database server's URL or a name Open refuses.
func SQLiteFile(db string) (path string, ok bool) {
	e, target, err := engineOf(db)
	if err != nil || e != SQLite {
		return "", false
	}
	return target, true
}
