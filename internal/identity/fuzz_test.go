package identity

import (
	"bytes"
	"encoding/binary"
	"io"
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

// sectorImage is a sparse disc image for fuzzing: sectors 16… hold data, the last
// data sector also appears as the UDF anchor (sector 256), everything else is zero.
type sectorImage []byte

func (s sectorImage) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = 0
	}
	n := int64(len(s)) / sectorSize
	sec := off / sectorSize
	var src []byte
	switch {
	case sec >= 16 && sec < 16+n:
		src = s[(off - 16*sectorSize):]
	case sec == 256 && n > 0:
		src = s[(n-1)*sectorSize+off%sectorSize:]
	case sec > 256+4:
		return 0, io.EOF
	}
	copy(p, src)
	return len(p), nil
}

// udfFuzzSeed lays out BEA01, NSR02, TEA01, a PVD at sector 19, a partition
// descriptor at 20, a terminator at 21 and the anchor (pointing at 19) as the last
// sector.
func udfFuzzSeed() []byte {
	img := make([]byte, 7*sectorSize)
	for i, id := range []string{"BEA01", "NSR02", "TEA01"} {
		copy(img[i*sectorSize+1:], id)
		img[i*sectorSize+6] = 1
	}
	pvd := img[3*sectorSize:]
	pvd[24] = 8
	copy(pvd[25:], "SEED")
	pvd[55] = 5
	udfTag(pvd, 1, 19)
	pd := img[4*sectorSize:]
	binary.LittleEndian.PutUint32(pd[188:], 22)
	binary.LittleEndian.PutUint32(pd[192:], 200)
	udfTag(pd, 5, 20)
	udfTag(img[5*sectorSize:], 8, 21)
	anchor := img[6*sectorSize:]
	binary.LittleEndian.PutUint32(anchor[16:], 4*sectorSize)
	binary.LittleEndian.PutUint32(anchor[20:], 19)
	udfTag(anchor, 2, 256)
	return img
}

// FuzzDiscSignature: run with -fuzzminimizetime 1s; minimizing its multi-sector
// inputs takes the default minute each, which leaves almost no time for new inputs.
func FuzzDiscSignature(f *testing.F) {
	f.Add(buildISO("SEED", 21)[16*sectorSize:], int64(-1))
	tree := buildISOTree("SEED", isoDir("", isoFile("A.TXT;1", []byte("a")),
		isoDir("SUB", isoFile("B.TXT;1", []byte("b")), isoDir("DEEP"))))
	f.Add(tree[16*sectorSize:], int64(-1))
	f.Add(udfFuzzSeed(), int64(-1))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, sectors []byte, size int64) {
		if len(sectors) > 8*sectorSize {
			return
		}
		d, err := DiscSignature(sectorImage(sectors), size, testDiscKey)
		if err == nil && d.Key() != "" && !strings.HasPrefix(d.Key(), "disc:v2-") {
			t.Fatalf("bad key %q", d.Key())
		}
		if err != nil && d.Signature != "" {
			t.Fatalf("signature %q with error %v", d.Signature, err)
		}
		if k := d.LegacyKey(); k != "" && !IsLegacyDiscKey(k) {
			t.Fatalf("bad legacy key %q", k)
		}
		if d.Directories > maxDirs || d.Records > maxDirRecords {
			t.Fatalf("walk beyond its bounds: %d directories, %d records", d.Directories, d.Records)
		}
		if !utf8.ValidString(d.Label) {
			t.Fatalf("label not UTF-8: %q", d.Label)
		}
		for _, r := range d.Label {
			if r < 0x20 {
				t.Fatalf("control character in label %q", d.Label)
			}
		}
		// Without a key only the legacy signature is computed.
		if n, err := DiscSignature(sectorImage(sectors), size, nil); n.Signature != "" || (err == nil && n.LegacySignature != "") {
			t.Fatalf("keyless identity %+v, %v", n, err)
		}
	})
}

// TestFuzzSeedsParse keeps the disc fuzz seeds meaningful.
func TestFuzzSeedsParse(t *testing.T) {
	if d, err := DiscSignature(sectorImage(udfFuzzSeed()), -1, testDiscKey); err != nil || d.Format != DiscUDF || d.Signature == "" {
		t.Errorf("udf seed: %+v %v", d, err)
	}
	if d, err := DiscSignature(sectorImage(buildISO("SEED", 21)[16*sectorSize:]), -1, testDiscKey); err != nil || d.Format != DiscISO9660 {
		t.Errorf("iso seed: %+v %v", d, err)
	}
	tree := buildISOTree("SEED", isoDir("", isoFile("A.TXT;1", []byte("a")),
		isoDir("SUB", isoFile("B.TXT;1", []byte("b")), isoDir("DEEP"))))
	if d, err := DiscSignature(sectorImage(tree[16*sectorSize:]), -1, testDiscKey); err != nil || d.Directories != 3 || d.Records != 4 {
		t.Errorf("tree seed: %+v %v", d, err)
	}
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
