package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// handleRE is compiled on first use: its Unicode classes take 2.5 MB to build, which
// the daemon, which never checks a handle, should not pay at start.
var handleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$`) })

// ValidHandle reports whether h can be a person's handle: letters, digits, '.', '_', '-',
// starting with a letter or digit, at most 64 characters.
func ValidHandle(h string) bool { return handleRE().MatchString(h) }

// cleanText trims s and refuses control and format characters (media.UnsafeRune) and
// overlong values.
func cleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > max {
		return "", errf(ErrInvalid, "invalid.too-long", Field(field), max)
	}
	if err := checkRunes(field, s); err != nil {
		return "", err
	}
	return s, nil
}

// checkRunes refuses text with control or format characters (media.UnsafeRune).
func checkRunes(field, s string) error {
	if r, bad := media.UnsafeRune(s); bad {
		return errf(ErrInvalid, "invalid.control-char", Field(field), r)
	}
	return nil
}

// AddPerson registers a person. Handle and name are required.
func (s *Store) AddPerson(ctx context.Context, p media.Person) (media.Person, error) {
	var err error
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = s.addPersonTx(ctx, tx, p)
		return err
	})
	return p, err
}

// addPersonTx adds a checked person inside tx, with its audit row.
func (s *Store) addPersonTx(ctx context.Context, tx *sql.Tx, p media.Person) (media.Person, error) {
	if !ValidHandle(p.Handle) {
		return media.Person{}, errf(ErrInvalid, "invalid.handle", p.Handle)
	}
	var err error
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"name", &p.Name, 200}, {"department", &p.Department, 200}, {"email", &p.Email, 200}, {"login", &p.Login, 64}} {
		if *f.v, err = cleanText(f.name, *f.v, f.max); err != nil {
			return media.Person{}, err
		}
	}
	if p.Name == "" {
		return media.Person{}, errf(ErrInvalid, "invalid.required", Field("name"))
	}
	p.ID, p.Active = NewID(), true
	p.Created = parseStamp(s.stamp())
	p.Updated = p.Created
	_, err = tx.ExecContext(ctx, `INSERT INTO people (id, handle, name, department, email, login, active, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`, p.ID, p.Handle, p.Name, p.Department, p.Email, p.Login, s.stamp(), s.stamp())
	if isUnique(err, "people.handle") {
		return p, errf(ErrDuplicateHandle, "err.dup-handle", p.Handle)
	}
	if err != nil {
		return p, fmt.Errorf("add person: %w", err)
	}
	_, err = s.appendEvent(ctx, tx, event.KindPersonAdd, "", event.PersonOf(p))
	return p, err
}

const personCols = `id, handle, name, department, email, login, active, created, updated`

func scanPerson(row interface{ Scan(...any) error }) (media.Person, error) {
	var p media.Person
	var created, updated string
	err := row.Scan(&p.ID, &p.Handle, &p.Name, &p.Department, &p.Email, &p.Login, &p.Active, &created, &updated)
	p.Created, p.Updated = parseStamp(created), parseStamp(updated)
	return p, err
}

// Person returns the person with the given handle.
func (s *Store) Person(ctx context.Context, handle string) (media.Person, error) {
	return personTx(ctx, s.db, handle)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func personTx(ctx context.Context, q querier, handle string) (media.Person, error) {
	p, err := scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+` FROM people WHERE handle = ?`, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errf(ErrNotFound, "not-found.person", handle)
	}
	return p, err
}

// activePersonTx returns the person if they exist and are active.
func activePersonTx(ctx context.Context, q querier, handle string) (media.Person, error) {
	if strings.TrimSpace(handle) == "" {
		return media.Person{}, errf(ErrInvalid, "invalid.required", Field("person"))
	}
	p, err := personTx(ctx, q, handle)
	if err != nil {
		return p, err
	}
	if !p.Active {
		return p, errf(ErrInactivePerson, "err.inactive", handle)
	}
	return p, nil
}

// ListPeople lists people by handle; deactivated ones only when all is true.
func (s *Store) ListPeople(ctx context.Context, all bool) ([]media.Person, error) {
	q := `SELECT ` + personCols + ` FROM people`
	if !all {
		q += ` WHERE active = 1`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY handle`)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	defer rows.Close()
	out := []media.Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PersonUpdate holds the fields to change; nil means unchanged.
type PersonUpdate struct {
	Name, Department, Email, Login *string
}

// UpdatePerson changes a person's details.
func (s *Store) UpdatePerson(ctx context.Context, handle string, u PersonUpdate) (media.Person, error) {
	var p media.Person
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = personTx(ctx, tx, handle); err != nil {
			return err
		}
		before := event.PersonOf(p)
		for _, f := range []struct {
			name string
			in   *string
			dst  *string
			max  int
		}{{"name", u.Name, &p.Name, 200}, {"department", u.Department, &p.Department, 200}, {"email", u.Email, &p.Email, 200}, {"login", u.Login, &p.Login, 64}} {
			if f.in == nil {
				continue
			}
			if *f.dst, err = cleanText(f.name, *f.in, f.max); err != nil {
				return err
			}
		}
		if p.Name == "" {
			return errf(ErrInvalid, "invalid.required", Field("name"))
		}
		if event.PersonOf(p) == before {
			return nil // nothing changes: no write, no audit row
		}
		_, err = tx.ExecContext(ctx, `UPDATE people SET name = ?, department = ?, email = ?, login = ?, updated = ? WHERE id = ?`,
			p.Name, p.Department, p.Email, p.Login, s.stamp(), p.ID)
		if err != nil {
			return fmt.Errorf("update person: %w", err)
		}
		p.Updated = parseStamp(s.stamp())
		_, err = s.appendEvent(ctx, tx, event.KindPersonUpdate, "", event.PersonUpdate{After: event.PersonOf(p), Before: before})
		return err
	})
	return p, err
}

// DeactivatePerson marks a person inactive. A person who is still custodian or holder
// of media that are not destroyed or retired cannot be deactivated: hand them over first.
func (s *Store) DeactivatePerson(ctx context.Context, handle string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := personTx(ctx, tx, handle)
		if err != nil {
			return err
		}
		if !p.Active {
			return errf(ErrInactivePerson, "inactive.already", handle)
		}
		var n int
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM media WHERE (custodian_id = ? OR holder_id = ?)
			AND status NOT IN ('destroyed', 'retired')`, p.ID, p.ID).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return errf(ErrPersonHoldsMedia, "holds-media", handle, n)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE people SET active = 0, updated = ? WHERE id = ?`, s.stamp(), p.ID); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, event.KindPersonDeactivate, "", event.PersonDeactivate{Handle: p.Handle, PersonID: p.ID})
		return err
	})
}
