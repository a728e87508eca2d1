package registry

import (
	"errors"
	"fmt"
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

// Error is a store refusal. Kind is one of the sentinels above, for errors.Is; Code
// names its message in the catalogue (internal/catalog) and Args are the message's
// arguments. The store holds no prose of its own: the front-end renders the code in
// the reader's language. Arguments that are words (field names, levels, statuses) are
// typed (Field, media.Level, media.Status) so that they are translated as well.
type Error struct {
	Kind error
	Code string
	Args []any
}

// Error describes the refusal for logs: the sentinel's text, the code and arguments.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(" (")
	b.WriteString(e.Code)
	for _, a := range e.Args {
		fmt.Fprintf(&b, " %v", a)
	}
	b.WriteString(")")
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

// MessageCode returns the catalogue key and its arguments.
func (e *Error) MessageCode() (string, []any) { return e.Code, e.Args }

// Field names a field of a request in a message ("name", "due"); the catalogue
// renders it as the key "field-name.<field>".
type Field string

// MessageKey is the catalogue key of the field's name.
func (f Field) MessageKey() string { return "field-name." + string(f) }

// String returns the field as written in code.
func (f Field) String() string { return string(f) }

// Why is a reason inside a message ("identity key differs"); the catalogue renders
// it as the key "why.<why>".
type Why string

// MessageKey is the catalogue key of the reason.
func (w Why) MessageKey() string { return "why." + string(w) }

// errf returns a store refusal. code must be a string literal: the catalogue's test
// finds every code this package can return by reading the calls.
func errf(kind error, code string, args ...any) error {
	return &Error{Kind: kind, Code: code, Args: args}
}

// isUnique reports whether err is a UNIQUE constraint failure on the given column
// ("table.column"), on either engine.
func isUnique(err error, column string) bool {
	if err == nil {
		return false
	}
	if pgUniqueViolation(err, column) {
		return true
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed") && strings.Contains(err.Error(), column)
}
