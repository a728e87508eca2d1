package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// DefaultPattern is the unified numbering pattern used until the officer sets another:
// level code, year of registration and a four-digit sequence per level per year,
// e.g. "S-2026-0007" for the seventh secret medium registered in 2026.
const DefaultPattern = "{level_code}-{year}-{seq:04}"

// DefaultLevelCodes are the level codes used in numbers until the officer sets others.
var DefaultLevelCodes = map[media.Level]string{
	media.Unclassified: "U",
	media.Confidential: "C",
	media.Secret:       "S",
	media.TopSecret:    "TS",
}

// Numbering is the configured numbering scheme.
type Numbering struct {
	Pattern string                 `json:"pattern"`
	Codes   map[media.Level]string `json:"level_codes"`
}

var tokenRE = regexp.MustCompile(`\{([a-z_]+)(?::0([1-9]))?\}`)

// ValidatePattern checks a numbering pattern. It must contain {level_code}, {year} and
// {seq} (optionally zero-padded as {seq:0N}, N from 1 to 9), so that numbers of
// different levels and years never collide; other text must be printable, without
// spaces, braces or slashes.
func ValidatePattern(p string) error {
	if len(p) == 0 || len(p) > 64 {
		return errf(ErrBadPattern, "bad-pattern.length", p)
	}
	seen := map[string]int{}
	for _, m := range tokenRE.FindAllStringSubmatch(p, -1) {
		switch m[1] {
		case "level_code", "year", "seq":
			seen[m[1]]++
		default:
			return errf(ErrBadPattern, "bad-pattern.field", p, m[1])
		}
		if m[2] != "" && m[1] != "seq" {
			return errf(ErrBadPattern, "bad-pattern.width", p)
		}
	}
	for _, need := range []string{"level_code", "year", "seq"} {
		if seen[need] != 1 {
			return errf(ErrBadPattern, "bad-pattern.once", p, need)
		}
	}
	for _, r := range tokenRE.ReplaceAllString(p, "") {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || strings.ContainsRune("{}/\\", r) {
			return errf(ErrBadPattern, "bad-pattern.char", p, r)
		}
	}
	return nil
}

// ValidateLevelCode checks a level code: 1 to 8 letters or digits.
func ValidateLevelCode(c string) error {
	if c == "" || utf8.RuneCountInString(c) > 8 {
		return errf(ErrBadPattern, "bad-code.length", c)
	}
	for _, r := range c {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return errf(ErrBadPattern, "bad-code.chars", c)
		}
	}
	return nil
}

// Format renders a number.
func (n Numbering) Format(level media.Level, year, seq int) string {
	return tokenRE.ReplaceAllStringFunc(n.Pattern, func(tok string) string {
		m := tokenRE.FindStringSubmatch(tok)
		switch m[1] {
		case "level_code":
			return n.Codes[level]
		case "year":
			return strconv.Itoa(year)
		case "seq":
			if m[2] != "" {
				return fmt.Sprintf("%0*d", int(m[2][0]-'0'), seq)
			}
			return strconv.Itoa(seq)
		}
		return tok
	})
}

// Carries reports whether number was made by the pattern with level's code, that is,
// whether the number says the level: such a number changes when the level does. A
// number given by hand in another form says nothing of the level and stays.
func (n Numbering) Carries(number string, level media.Level) bool {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range tokenRE.FindAllStringSubmatchIndex(n.Pattern, -1) {
		b.WriteString(regexp.QuoteMeta(n.Pattern[last:loc[0]]))
		switch n.Pattern[loc[2]:loc[3]] {
		case "level_code":
			b.WriteString(regexp.QuoteMeta(n.Codes[level]))
		case "year", "seq":
			b.WriteString(`[0-9]+`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(n.Pattern[last:]))
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(number)
}

// Numbering returns the configured numbering scheme.
func (s *Store) Numbering(ctx context.Context) (Numbering, error) { return numberingTx(ctx, s.db) }

func numberingTx(ctx context.Context, q querier) (Numbering, error) {
	n := Numbering{Pattern: DefaultPattern, Codes: map[media.Level]string{}}
	for l, c := range DefaultLevelCodes {
		n.Codes[l] = c
	}
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'numbering'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("read numbering: %w", err)
	}
	var stored Numbering
	if err := json.Unmarshal([]byte(v), &stored); err != nil {
		return n, fmt.Errorf("read numbering: %w", err)
	}
	if stored.Pattern != "" {
		n.Pattern = stored.Pattern
	}
	for l, c := range stored.Codes {
		n.Codes[l] = c
	}
	return n, nil
}

// SetNumbering changes the pattern (when not empty) and the given level codes.
// Numbers already given out stay as they are.
func (s *Store) SetNumbering(ctx context.Context, pattern string, codes map[media.Level]string) (Numbering, error) {
	var n Numbering
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = numberingTx(ctx, tx); err != nil {
			return err
		}
		before := n.Pattern
		beforeCodes := maps.Clone(n.Codes)
		if pattern != "" {
			if err := ValidatePattern(pattern); err != nil {
				return err
			}
			n.Pattern = pattern
		}
		for l, c := range codes {
			if err := ValidateLevelCode(c); err != nil {
				return err
			}
			n.Codes[l] = c
		}
		seen := map[string]media.Level{}
		for l, c := range n.Codes {
			if other, dup := seen[c]; dup {
				return errf(ErrBadPattern, "bad-code.twice", c, other, l)
			}
			seen[c] = l
		}
		if n.Pattern == before && maps.Equal(n.Codes, beforeCodes) {
			return nil // nothing changes: no write, no audit row
		}
		b, _ := json.Marshal(n)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('numbering', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, string(b)); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, event.KindNumberingSet, "", event.NumberingSet{
			After: event.Numbering{Pattern: n.Pattern, Codes: n.Codes}, Before: before})
		return err
	})
	return n, err
}

// nextNumber allocates the next unused number for level in the current year and
// returns it with the year and sequence it took. Sequences only grow; a number found
// already taken (for example given explicitly) is skipped.
func (s *Store) nextNumber(ctx context.Context, tx *sql.Tx, level media.Level) (num string, year, seq int, err error) {
	n, err := numberingTx(ctx, tx)
	if err != nil {
		return "", 0, 0, err
	}
	year = s.now().Year()
	num, seq, err = peekNumber(ctx, tx, n, level, year)
	if err != nil {
		return "", 0, 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO number_seq (level, year, next) VALUES (?, ?, ?)
		ON CONFLICT (level, year) DO UPDATE SET next = excluded.next`, int(level), year, seq+1)
	return num, year, seq, err
}

// peekNumber finds the number the next registration of level in year gets, and its
// sequence, without taking it.
func peekNumber(ctx context.Context, q querier, n Numbering, level media.Level, year int) (string, int, error) {
	var seq int
	err := q.QueryRowContext(ctx, `SELECT next FROM number_seq WHERE level = ? AND year = ?`, int(level), year).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		seq = 1
	} else if err != nil {
		return "", 0, err
	}
	for ; ; seq++ {
		num := n.Format(level, year, seq)
		var used int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM numbers_used WHERE number = ?`, num).Scan(&used); err != nil {
			return "", 0, err
		}
		if used == 0 {
			return num, seq, nil
		}
	}
}

// NextNumbers returns, for every level, the number the next registration of that
// level gets now (numbers taken by hand skipped). It takes none of them.
func (s *Store) NextNumbers(ctx context.Context) (map[media.Level]string, error) {
	n, err := numberingTx(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := map[media.Level]string{}
	for _, l := range media.Levels() {
		num, _, err := peekNumber(ctx, s.db, n, l, s.now().Year())
		if err != nil {
			return nil, fmt.Errorf("next number: %w", err)
		}
		out[l] = num
	}
	return out, nil
}
