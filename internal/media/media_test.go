package media

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
	}{
		{"unclassified", Unclassified}, {"非密", Unclassified}, {"0", Unclassified},
		{"confidential", Confidential}, {"秘密", Confidential},
		{"secret", Secret}, {"机密", Secret}, {" SECRET ", Secret},
		{"top-secret", TopSecret}, {"top_secret", TopSecret}, {"Top Secret", TopSecret}, {"绝密", TopSecret}, {"3", TopSecret},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "topsecret", "4", "-1", "机", "secret!"} {
		if _, err := ParseLevel(bad); !errors.Is(err, ErrUnknownLevel) {
			t.Errorf("ParseLevel(%q) err = %v; want ErrUnknownLevel", bad, err)
		}
	}
}

func TestLevelRoundTrip(t *testing.T) {
	for _, l := range Levels() {
		for _, s := range []string{l.String(), l.Chinese()} {
			got, err := ParseLevel(s)
			if err != nil || got != l {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v", s, got, err, l)
			}
		}
		b, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("text round trip of %v gave %v, %v", l, back, err)
		}
	}
	if _, err := Level(9).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid level succeeded")
	}
}

// TestTransitionTable checks every ordered pair of statuses against the expected matrix.
func TestTransitionTable(t *testing.T) {
	A, L, V, R, X, D, T := StatusActive, StatusLent, StatusInVault, StatusRepair, StatusLost, StatusDestroyed, StatusRetired
	allowed := map[[2]Status]bool{
		{A, L}: true, {A, V}: true, {A, R}: true, {A, X}: true, {A, D}: true, {A, T}: true,
		{L, A}: true, {L, V}: true, {L, X}: true,
		{V, A}: true, {V, R}: true, {V, X}: true, {V, D}: true, {V, T}: true,
		{R, A}: true, {R, V}: true, {R, X}: true, {R, D}: true, {R, T}: true,
		{X, A}: true, {X, D}: true, {X, T}: true,
	}
	n := 0
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			n++
			want := allowed[[2]Status{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v; want %v", from, to, got, want)
			}
			err := CheckTransition(from, to)
			if want != (err == nil) {
				t.Errorf("CheckTransition(%s, %s) = %v; want allowed=%v", from, to, err, want)
			}
			if err != nil && !errors.Is(err, ErrTransition) {
				t.Errorf("CheckTransition(%s, %s) error %v is not ErrTransition", from, to, err)
			}
		}
	}
	if n != 49 {
		t.Fatalf("checked %d pairs; want 49", n)
	}
	if !D.Terminal() || !T.Terminal() || A.Terminal() {
		t.Error("terminal statuses wrong")
	}
	if err := CheckTransition("bogus", A); !errors.Is(err, ErrTransition) {
		t.Errorf("unknown status accepted: %v", err)
	}
}

func TestParseStatusKindMode(t *testing.T) {
	for _, s := range Statuses() {
		for _, in := range []string{string(s), statusZH[s]} {
			if got, err := ParseStatus(in); err != nil || got != s {
				t.Errorf("ParseStatus(%q) = %v, %v", in, got, err)
			}
		}
	}
	if _, err := ParseStatus("gone"); !errors.Is(err, ErrUnknownStatus) {
		t.Errorf("ParseStatus(gone) err = %v", err)
	}
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
	}
	if got, _ := ParseKind("CD"); got != KindOpticalDisc {
		t.Errorf("ParseKind(CD) = %v", got)
	}
	if _, err := ParseKind("floppy-tape"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("ParseKind(floppy-tape) err = %v", err)
	}
	if _, err := ParseMode("block"); err == nil {
		t.Error("ParseMode(block) succeeded")
	}
}

func TestUnsafeRune(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rune
		bad  bool
	}{
		{"张三 办公室", 0, false},
		{"Zhang San (HR), 2026-12-01", 0, false},
		{"tab\there", '\t', true},
		{"new\nline", '\n', true},
		{"evil\u202Etxt.exe", '\u202E', true}, // right-to-left override (Cf)
		{"zero\u200Bwidth", '\u200B', true},   // zero-width space (Cf)
		{"bom\uFEFF", '\uFEFF', true},         // byte order mark (Cf)
		{"line\u2028sep", '\u2028', true},     // Zl
		{"para\u2029sep", '\u2029', true},     // Zp
		{"del\x7f", '\x7f', true},
		{"bad\xffutf8", utf8.RuneError, true},
		{"replacement \uFFFD char", utf8.RuneError, true},
	} {
		r, bad := UnsafeRune(tc.in)
		if bad != tc.bad || r != tc.want {
			t.Errorf("UnsafeRune(%q) = %U, %v; want %U, %v", tc.in, r, bad, tc.want, tc.bad)
		}
	}
}
