package registry

import (
	"errors"
	"strings"

	"mediagate/internal/media"
)

// Sentinel errors. Every error the store returns for bad input wraps one of these in
// an *Error that also names the subject, so callers can say what went wrong in the
// user's language.
var (
	ErrNotFound          = errors.New("not found")
	ErrDuplicateHandle   = errors.New("person handle already registered")
	ErrDuplicateNumber   = errors.New("medium number already in use")
	ErrDuplicateIdentity = errors.New("medium identity already registered")
	ErrNoHost            = errors.New("host not initialised")
	ErrInactivePerson    = errors.New("person is deactivated")
	ErrPersonHoldsMedia  = errors.New("person is still custodian or holder of media")
	ErrRelevelDown       = errors.New("level can only be raised")
	ErrBadPattern        = errors.New("bad numbering pattern")
	ErrInvalid           = errors.New("invalid value")
	ErrTransition        = media.ErrTransition
)

// Error is a store error about one subject (a handle, a number, a serial …).
type Error struct {
	Kind     error  // one of the sentinels above
	Subject  string // what it is about, as the user typed it
	Detail   string // extra detail in English, optional
	DetailZH string // the same in Chinese
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Subject != "" {
		b.WriteString(": ")
		b.WriteString(e.Subject)
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

func errf(kind error, subject, detail, detailZH string) error {
	return &Error{Kind: kind, Subject: subject, Detail: detail, DetailZH: detailZH}
}

// isUnique reports whether err is a UNIQUE constraint failure on the given column.
func isUnique(err error, column string) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") && strings.Contains(err.Error(), column)
}
