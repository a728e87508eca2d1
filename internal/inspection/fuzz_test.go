package inspection_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"mediagate/internal/inspection"
)

// FuzzParseManifest: a manifest is outside input (a packet travels on media): any
// bytes are refused or read without a panic, and only bytes signed with the key are
// ever accepted.
func FuzzParseManifest(f *testing.F) {
	pub := testKey.Public().(ed25519.PublicKey)
	signed := inspection.Manifest{Office: "office.example", Year: 2026, Department: "办公室", Lang: "zh",
		Created: time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC),
		Files:   []inspection.File{{Name: "inspection.html", Size: 10, SHA256: strings.Repeat("ab", 32)}}}.Sign(testKey)
	f.Add(signed)
	f.Add([]byte("mediagate-inspection/1\nsignature AAAA\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := inspection.ParseManifest(b, pub)
		if err != nil {
			return
		}
		// Accepted: it must be what the key signed, byte for byte.
		again := m
		if got := again.Sign(testKey); string(got) != string(b) {
			t.Fatalf("accepted a manifest that is not the signed form of what it says:\n%q\n%q", b, got)
		}
	})
}
