package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"mediagate/internal/media"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table collects rows and writes them aligned in columns, counting wide (Chinese)
// characters as two columns.
type table struct {
	w    io.Writer
	rows [][]string
}

// newTable starts a table with a tab-separated header.
func newTable(w io.Writer, header string) *table {
	return &table{w: w, rows: [][]string{strings.Split(header, "\t")}}
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = safe(c)
	}
	t.rows = append(t.rows, cols)
}

func (t *table) flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// safe makes text from the registry or a device harmless on a terminal: control
// characters (escape sequences, tabs, newlines) are shown as \x.. escapes.
func safe(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// field prints one "Label: value" line of a detail view.
func field(w io.Writer, lang, key, value string) {
	if value == "" {
		return
	}
	label := T(lang, key)
	pad := 16 - displayWidth(label)
	if pad < 1 {
		pad = 1
	}
	fmt.Fprintf(w, "%s%s%s\n", label, strings.Repeat(" ", pad), safe(value))
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x30ff) || (r >= 0xff00 && r <= 0xff60) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// localTime formats a time for people: local zone, minutes.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// parseTime reads a date or time flag: YYYY-MM-DD (local midnight, or the end of that
// day when endOfDay), "YYYY-MM-DD HH:MM", or RFC 3339.
func parseTime(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if endOfDay {
			return media.EndOfDay(t), nil
		}
		return t, nil
	}
	return time.Time{}, usageError{lerr("err.bad-date", s)}
}

// humanBytes is a size with the exact byte count, for detail views.
func humanBytes(n int64) string {
	if n <= 0 {
		return ""
	}
	if n < 1000 {
		return humanSize(n)
	}
	return fmt.Sprintf("%s (%d bytes)", humanSize(n), n)
}

// nonNil makes a nil slice print as [] in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
