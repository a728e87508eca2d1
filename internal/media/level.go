// Package media holds the domain types that every other mediagate package shares:
// classification levels, medium kinds and statuses, the status transition table,
// people, host profiles, registered media and device identities.
//
// It imports only the standard library and does no I/O.
package media

import (
	"errors"
	"fmt"
	"strings"
)

// Level is a classification level. The zero value is Unclassified.
type Level int

const (
	Unclassified Level = iota // 非密
	Confidential              // 秘密
	Secret                    // 机密
	TopSecret                 // 绝密
)

// ErrUnknownLevel is returned by ParseLevel for input that names no level.
var ErrUnknownLevel = errors.New("unknown level")

var levelNames = [...]struct{ key, zh string }{
	Unclassified: {"unclassified", "非密"},
	Confidential: {"confidential", "秘密"},
	Secret:       {"secret", "机密"},
	TopSecret:    {"top-secret", "绝密"},
}

// Levels lists all levels in rank order.
func Levels() []Level { return []Level{Unclassified, Confidential, Secret, TopSecret} }

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool { return l >= Unclassified && l <= TopSecret }

// Rank is the level's order: 0 for unclassified up to 3 for top secret.
func (l Level) Rank() int { return int(l) }

// String returns the level's key, such as "secret".
func (l Level) String() string {
	if !l.Valid() {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l].key
}

// Chinese returns the level's Chinese name, such as "机密", which ParseLevel accepts
// on input. Messages name levels through the catalogue (internal/catalog).
func (l Level) Chinese() string {
	if !l.Valid() {
		return l.String()
	}
	return levelNames[l].zh
}

// ParseLevel accepts a level key ("top-secret"), its Chinese name ("绝密") or
// its rank ("3"). Case and surrounding space are ignored; "_" and " " are read as "-".
func ParseLevel(s string) (Level, error) {
	norm := strings.ToLower(strings.TrimSpace(s))
	norm = strings.NewReplacer("_", "-", " ", "-").Replace(norm)
	for l, n := range levelNames {
		if norm == n.key || norm == n.zh || norm == fmt.Sprint(l) {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one of unclassified, confidential, secret, top-secret or 非密, 秘密, 机密, 绝密)", ErrUnknownLevel, s)
}

// MarshalText encodes the level as its key.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("%w %d", ErrUnknownLevel, int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText decodes any form ParseLevel accepts.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
