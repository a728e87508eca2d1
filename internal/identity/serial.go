package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// MaxSerialLen is the longest serial, in bytes, that is accepted as good. A USB string
// descriptor holds at most 126 UTF-16 code units (bLength is one byte: (255-2)/2), so
// no genuine USB serial is longer; ATA and NVMe serials are 20 bytes, SCSI VPD page
// 0x80 serials are in practice far shorter. Anything longer is weak and, in a key,
// replaced by its hash.
const MaxSerialLen = 126

// maxComponentLen bounds one escaped key component; longer ones are hashed.
const maxComponentLen = 128

// Quality says whether a serial can identify one physical medium by itself.
type Quality struct {
	Good   bool   `json:"good"`
	Reason string `json:"reason,omitempty"` // why it is weak, in English; empty when good
	// Code names the reason for the message catalogue ("serial-weak.<code>"), one of
	// WeakCodes; empty when good.
	Code string `json:"-"`
	arg  string // the argument of the message, if it has one
}

// WeakCodes lists every Code CheckSerial and the device reader can return.
func WeakCodes() []string {
	return []string{"empty", "blank", "too-long", "not-utf8", "non-printable", "too-short", "placeholder", "repeated", "counting", "zeros",
		"card-reader", "optical", "disc-no-content"}
}

// MessageCode names the reason in the message catalogue, so that a message about a
// weak serial shows the reason in the reader's language.
func (q Quality) MessageCode() (string, []any) {
	if q.arg != "" {
		return "serial-weak." + q.Code, []any{q.arg}
	}
	return "serial-weak." + q.Code, nil
}

// String returns "good" or "weak: <reason>".
func (q Quality) String() string {
	if q.Good {
		return "good"
	}
	return "weak: " + q.Reason
}

func weak(code, reason string) Quality { return Quality{Reason: reason, Code: code} }

// knownBogusSerials are serials that many different units share, so they identify
// nothing. Compared after trimming, case-insensitively. Sources:
//   - 0123456789ABCDEF: default serial of Linux USB gadget setups and of unbranded
//     devices (github.com/sipeed/NanoKVM/issues/617 shows it on every NanoKVM).
//   - 000000000000: hard-coded serial of RP2040 firmware
//     (github.com/Noltari/pico-uart-bridge/pull/8).
//   - 000000000001: default serial of STM32 USB stacks (github.com/candle-usb/
//     candleLight_fw/pull/5) and reported by a SanDisk "Gemini" drive
//     (github.com/martijnvanbrummelen/nwipe/issues/560).
//   - 0123456789, 1234567890, 123456789ABC, 123456789012, 01234567890123456789,
//     0000000000000001, 00000001: placeholder strings of the same sort, commonly seen
//     in lsusb listings of cheap sticks and SATA bridges (no single citable source;
//     kept because none of them can be a real unit's serial).
//   - 1: QEMU's usb-storage default serial (hw/usb/dev-storage.c, STR_SERIALNUMBER);
//     caught by the length rule.
//   - DEMO, SERIAL, NONE, N/A, DEFAULT, "To be filled by O.E.M.": unset-field text
//     from vendor tools and BIOS templates.
//
// The rules in CheckSerial (one repeated character such as AAAAAAAAAAAA or
// 00000000000000000000, a counting run, zeros with a trailing 1) catch more cases
// than this list; the list holds the ones the rules miss.
var knownBogusSerials = map[string]bool{
	"0123456789ABCDEF":       true,
	"0123456789":             true,
	"1234567890":             true,
	"123456789ABC":           true,
	"123456789012":           true,
	"01234567890123456789":   true,
	"0000000000000001":       true,
	"000000000001":           true,
	"00000001":               true,
	"DEMO":                   true,
	"SERIAL":                 true,
	"SERIALNUMBER":           true,
	"SERIAL NUMBER":          true,
	"NONE":                   true,
	"N/A":                    true,
	"NULL":                   true,
	"DEFAULT":                true,
	"USB":                    true,
	"TO BE FILLED BY O.E.M.": true,
}

// TrimSerial removes what devices pad serials with: surrounding ASCII white space
// and NUL bytes. It does nothing else; the result may still be hostile.
func TrimSerial(s string) string {
	return strings.Trim(s, " \t\r\n\x00")
}

// CheckSerial tells whether a serial, as the device reported it, is good enough to
// identify one medium alone. Weak serials need extra identity (capacity and
// descriptor hash) bound at registration.
func CheckSerial(raw string) Quality {
	s := TrimSerial(raw)
	switch {
	case raw == "":
		return weak("empty", "empty")
	case s == "":
		return weak("blank", "only white space")
	case len(s) > MaxSerialLen:
		return weak("too-long", "longer than 126 bytes")
	case !utf8.ValidString(s):
		return weak("not-utf8", "not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return weak("non-printable", "contains non-printable characters")
		}
	}
	if len(s) < 4 {
		return weak("too-short", "shorter than 4 characters")
	}
	up := strings.ToUpper(s)
	if knownBogusSerials[up] {
		return weak("placeholder", "known placeholder serial shared by many devices")
	}
	if strings.Count(up, up[:1]) == len(up) {
		return weak("repeated", "one repeated character")
	}
	if isCountingRun(up) {
		return weak("counting", "a counting sequence, not a serial")
	}
	if strings.Trim(up, "0") == "1" || strings.Trim(up, "0") == "" {
		return weak("zeros", "zeros")
	}
	return Quality{Good: true}
}

// isCountingRun reports whether s (upper case, at least 8 long) is consecutive
// characters of 0-9A-F, counting up or down, possibly wrapping (0123…F0123…).
func isCountingRun(s string) bool {
	const alphabet = "0123456789ABCDEF"
	if len(s) < 8 {
		return false
	}
	up, down := true, true
	for i := 1; i < len(s); i++ {
		a, b := strings.IndexByte(alphabet, s[i-1]), strings.IndexByte(alphabet, s[i])
		if a < 0 || b < 0 {
			return false
		}
		// decimal runs wrap 9→0, hex runs F→0
		if !(b == a+1 || (a == 9 && b == 0) || (a == 15 && b == 0)) {
			up = false
		}
		if !(b == a-1 || (a == 0 && (b == 9 || b == 15))) {
			down = false
		}
	}
	return up || down
}

// EscapeComponent turns one untrusted string (a serial, model, WWID) into a key
// component: it is trimmed with TrimSerial, bytes outside [A-Za-z0-9._-] become %XX
// (so ':' separators and control characters can never appear), and a result longer
// than 128 characters is replaced by "sha256~" and the hex SHA-256 of the trimmed
// bytes. The mapping is injective on short inputs and bounded on long ones.
func EscapeComponent(raw string) string {
	s := TrimSerial(raw)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			const hexdig = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
		if b.Len() > maxComponentLen {
			sum := sha256.Sum256([]byte(s))
			return "sha256~" + hex.EncodeToString(sum[:])
		}
	}
	return b.String()
}
