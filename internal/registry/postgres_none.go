//go:build mediagate_daemon

package registry

// The daemon binary (cmd/mediagated, built with the tag mediagate_daemon) keeps the
// register in SQLite and links no PostgreSQL driver: that keeps it small in memory
// (docs/performance.md). It hands a postgres:// register to the full mediagate
// binary. Everything postgres.go provides to the rest of the package is here,
// refusing.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
)

var errNoPostgres = errors.New("this build has no PostgreSQL driver (the daemon binary); run 'mediagate daemon'")

func openPostgres(string) (*sql.DB, error) { return nil, errNoPostgres }

func pgUniqueViolation(error, string) bool { return false }

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

// CreateDatabase is refused in this build.
func CreateDatabase(context.Context, string, string) (string, string, error) {
	return "", "", errNoPostgres
}

// DropDatabase is refused in this build.
func DropDatabase(context.Context, string, string) error { return errNoPostgres }

// DiscKey: an SQLite register keeps its key in a file next to the database
// (identity.DiscKeyPath).
func (s *Store) DiscKey(context.Context, int) ([]byte, error) {
	return nil, fmt.Errorf("disc sample key: the %s register keeps it in a file beside the database", s.d.engine)
}
