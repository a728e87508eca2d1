package identity

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedDescriptors adds every recorded descriptors file as a fuzz seed.
func seedDescriptors(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "sys", "devices", "pci0000:00", "*", "*", "*", "descriptors"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseUdevDB(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "run", "udev", "data", "*"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("E:A=b\nE:A='c'\nS:x\nI:99999999999999999999\nE: K=V\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParseUdevDB(data)
		if err != nil {
			return
		}
		for k, v := range rec.Properties {
			if !validPropertyKey(k) || !validText(v, maxPropertyVal) {
				t.Fatalf("invalid property %q=%q accepted", k, v)
			}
		}
		if len(rec.Properties) > maxPropertyKeys {
			t.Fatalf("%d properties", len(rec.Properties))
		}
		props, err := ParseProperties(data)
		if err != nil {
			t.Fatalf("ParseProperties failed where ParseUdevDB did not: %v", err)
		}
		for k := range props {
			if !validPropertyKey(k) {
				t.Fatalf("invalid key %q", k)
			}
		}
	})
}

func FuzzParseDescriptors(f *testing.F) {
	seedDescriptors(f)
	f.Add([]byte{18, 1, 0, 2, 0, 0, 0, 64, 1, 0, 2, 0, 0, 1, 1, 2, 3, 1, 9, 2, 9, 0, 0, 1, 0, 0x80, 50})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDescriptors(data)
		if err != nil {
			return
		}
		if len(d.RawHash) != 64 || len(d.CanonicalHash) != 64 {
			t.Fatal("missing hashes")
		}
		for _, c := range d.InterfaceClasses() {
			_ = ClassName(c.Class)
		}
		_ = Functions(d.DeviceClass, d.InterfaceClasses())
		// Parsing is deterministic.
		d2, _ := ParseDescriptors(bytes.Clone(data))
		if d2.CanonicalHash != d.CanonicalHash {
			t.Fatal("canonical hash not deterministic")
		}
	})
}

func FuzzDiscSignature(f *testing.F) {
	f.Add(buildISO("SEED", 20), int64(-1))
	f.Add(buildUDF("SEED")[:40*sectorSize], int64(-1))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, prefix []byte, size int64) {
		// The fuzzer mutates the first sectors; place them where descriptors live
		// (sector 16 onward) and, for UDF, mirror them at the anchor.
		img := make([]byte, 16*sectorSize, 300*sectorSize)
		img = append(img, prefix...)
		if len(prefix) > sectorSize {
			for len(img) < 256*sectorSize {
				img = append(img, 0)
			}
			img = append(img, prefix[:sectorSize]...)
		}
		d, err := DiscSignature(bytes.NewReader(img), size)
		if err == nil && d.Key() != "" && !strings.HasPrefix(d.Key(), "disc:") {
			t.Fatalf("bad key %q", d.Key())
		}
		if !utf8.ValidString(d.Label) {
			t.Fatalf("label not UTF-8: %q", d.Label)
		}
		for _, r := range d.Label {
			if r < 0x20 {
				t.Fatalf("control character in label %q", d.Label)
			}
		}
	})
}

func FuzzEscapeComponent(f *testing.F) {
	for _, s := range []string{"", "ABC", "a:b", "%41", strings.Repeat("x", 200), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeComponent(s)
		if len(e) > maxComponentLen+7+64 {
			t.Fatalf("component %d bytes", len(e))
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			if c == ':' || c < 0x21 || c > 0x7e {
				t.Fatalf("byte %q in component %q", c, e)
			}
		}
		if EscapeComponent(TrimSerial(s)) != e {
			t.Fatal("escape not stable under trimming")
		}
		_ = CheckSerial(s)
		k := USBKey(s, s, s)
		if _, parts, err := SplitKey(k); err != nil || len(parts) != 3 {
			t.Fatalf("USBKey(%q) = %q does not split: %v", s, k, err)
		}
	})
}
