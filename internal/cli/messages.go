package cli

import (
	"errors"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/media"
)

// T returns the catalogue's text for key in lang, formatted with args (see
// internal/catalog: every user-facing string lives there).
func T(lang, key string, args ...any) string { return catalog.T(lang, key, args...) }

// describe renders any error as one line in lang.
func describe(err error, lang string) string {
	var le localError
	if errors.As(err, &le) {
		return T(lang, le.key, le.args...)
	}
	var ce catalog.Coded
	if errors.As(err, &ce) {
		return catalog.Error(lang, ce)
	}
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return T(lang, "err.audit-broken", be.Seq, be.Reason)
	}
	if isUsage(err) {
		if msg, ok := cobraMessage(lang, err); ok {
			return T(lang, "err.usage", msg)
		}
		return T(lang, "err.usage", err.Error())
	}
	return err.Error()
}

// localError is an error whose text comes from the catalogue.
type localError struct {
	key  string
	args []any
}

func (e localError) Error() string { return T("en", e.key, e.args...) }

func lerr(key string, args ...any) error { return localError{key: key, args: args} }

// usageMsg is a usage error whose text comes from the catalogue.
func usageMsg(key string, args ...any) error { return usageError{lerr(key, args...)} }

// parseLevel parses a level flag with a localized error.
func parseLevel(s string) (media.Level, error) {
	l, err := media.ParseLevel(s)
	if err != nil {
		return 0, usageError{lerr("err.unknown-level", s)}
	}
	return l, nil
}

func yesNo(lang string, b bool) string { return catalog.YesNo(lang, b) }
