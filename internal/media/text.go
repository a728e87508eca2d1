package media

import (
	"unicode"
	"unicode/utf8"
)

// UnsafeRune returns the first rune of s that must not appear in text a person types
// into the register (names, notes, numbers, serials): control characters (Cc), format
// characters such as U+202E RIGHT-TO-LEFT OVERRIDE or zero-width joiners (Cf), line and
// paragraph separators (Zl, Zp), and invalid UTF-8 or U+FFFD (the trace of text decoded
// with the wrong encoding). Such runes let a listing read differently from what is
// stored. ok is false when s is clean.
func UnsafeRune(s string) (r rune, ok bool) {
	for _, r := range s {
		if r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return r, true
		}
	}
	return 0, false
}
