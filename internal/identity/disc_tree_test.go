package identity

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sampleTree is a disc whose file data fills most of the volume.
func sampleTree(readme []byte, names ...string) *isoNode {
	name := "README.TXT;1"
	if len(names) > 0 {
		name = names[0]
	}
	return isoDir("",
		isoFile(name, readme),
		isoDir("DOCS", isoFile("PLAN.TXT;1", []byte("plan\n")), isoDir("OLD", isoFile("MEMO.TXT;1", []byte("memo\n")))))
}

func signISO(t *testing.T, img []byte, key []byte) Disc {
	t.Helper()
	d, err := DiscSignature(bytes.NewReader(img), int64(len(img)), key)
	if err != nil {
		t.Fatalf("DiscSignature: %v", err)
	}
	return d
}

// TestDiscIdentityCoversTreeAndData: two discs with the same volume descriptors but
// different file data, names or sizes got the same version 1 key; the whole-disc
// identity tells them apart.
func TestDiscIdentityCoversTreeAndData(t *testing.T) {
	const dataLen = 200 * sectorSize
	base := buildISOTree("REPORTS", sampleTree(filled(1, dataLen)))
	variants := map[string][]byte{
		"other file data":        buildISOTree("REPORTS", sampleTree(filled(2, dataLen))),
		"renamed file":           buildISOTree("REPORTS", sampleTree(filled(1, dataLen), "README.BAK;1")),
		"file size, same blocks": buildISOTree("REPORTS", sampleTree(filled(1, dataLen-100))),
		"file added in a subdirectory": buildISOTree("REPORTS", isoDir("", isoFile("README.TXT;1", filled(1, dataLen)),
			isoDir("DOCS", isoFile("PLAN.TXT;1", []byte("plan\n")), isoDir("OLD", isoFile("MEMO.TXT;1", []byte("memo\n")),
				isoFile("X.EXE;1", nil))))),
	}
	b := signISO(t, base, testDiscKey)
	if b.Directories != 3 || b.Records != 5 || b.Sampled != int64(len(base)/sectorSize) {
		t.Errorf("base disc: %d directories, %d records, sample range %d", b.Directories, b.Records, b.Sampled)
	}
	if again := signISO(t, bytes.Clone(base), testDiscKey); again.Key() != b.Key() {
		t.Error("the same disc read twice has two identities")
	}
	for name, img := range variants {
		t.Run(name, func(t *testing.T) {
			if !bytes.Equal(img[16*sectorSize:18*sectorSize], base[16*sectorSize:18*sectorSize]) {
				t.Fatal("the variant's volume descriptors differ; the test would prove nothing")
			}
			v := signISO(t, img, testDiscKey)
			if v.LegacyKey() != b.LegacyKey() {
				t.Errorf("legacy keys differ (%s, %s): the variant is not a look-alike", v.LegacyKey(), b.LegacyKey())
			}
			if v.Key() == b.Key() {
				t.Errorf("%s: same key %s", name, v.Key())
			}
		})
	}
}

// TestDiscIdentitySampleIsKeyed: the sampled blocks depend on the key, so a block that
// one register's key leaves out another's may cover; a change in a sampled block
// changes the identity, a change in a block outside the sample does not (the sample is
// a sample: see docs/security.md).
func TestDiscIdentitySampleIsKeyed(t *testing.T) {
	img := buildISOTree("KEYED", sampleTree(filled(3, 400*sectorSize)))
	other := []byte("another register's sample key..")
	d1, d2 := signISO(t, img, testDiscKey), signISO(t, img, other)
	if d1.Key() == d2.Key() {
		t.Error("two sample keys give the same identity")
	}
	tree := []byte("tree")
	p1 := samplePositions(testDiscKey, tree, d1.Sampled, DiscSamples)
	p2 := samplePositions(other, tree, d1.Sampled, DiscSamples)
	if slices.Equal(p1, p2) || len(p1) != DiscSamples || !slices.IsSorted(p1) || p1[len(p1)-1] >= d1.Sampled {
		t.Fatalf("positions %v / %v", p1, p2)
	}
	if slices.Equal(p1, samplePositions(testDiscKey, []byte("other tree"), d1.Sampled, DiscSamples)) {
		t.Error("positions do not depend on the tree")
	}

	// Find the real positions of this disc by flipping each data block in turn.
	dataStart := int64(len(img)/sectorSize) - 400
	var hit, miss int64 = -1, -1
	for blk := dataStart; blk < int64(len(img)/sectorSize) && (hit < 0 || miss < 0); blk++ {
		mod := bytes.Clone(img)
		mod[blk*sectorSize] ^= 0xff
		if signISO(t, mod, testDiscKey).Key() != d1.Key() {
			hit = blk
		} else {
			miss = blk
		}
	}
	if hit < 0 || miss < 0 {
		t.Fatalf("no sampled (%d) or no unsampled (%d) data block", hit, miss)
	}
}

func TestDiscIdentityHostileTrees(t *testing.T) {
	ok := buildISOTree("HOSTILE", sampleTree([]byte("x")))
	// Locations in the image built from sampleTree: root at 18, DOCS at 19, OLD at 20.
	recordOf := func(img []byte, dirBlock int, name string) []byte {
		ext := img[dirBlock*sectorSize : (dirBlock+1)*sectorSize]
		for p := 0; p < len(ext) && ext[p] != 0; p += int(ext[p]) {
			if string(ext[p+33:p+33+int(ext[p+32])]) == name {
				return ext[p : p+int(ext[p])]
			}
		}
		t.Fatalf("no record %q in block %d", name, dirBlock)
		return nil
	}
	deep := isoDir("D")
	for range maxDirDepth + 2 {
		deep = isoDir("D", deep)
	}
	cases := map[string]func() ([]byte, int64){
		"too deep": func() ([]byte, int64) {
			img := buildISOTree("DEEP", isoDir("", deep))
			return img, int64(len(img))
		},
		"extent beyond the volume": func() ([]byte, int64) {
			img := bytes.Clone(ok)
			bothEndian32(recordOf(img, 18, "README.TXT;1")[2:], 1<<30)
			return img, int64(len(img))
		},
		"huge directory": func() ([]byte, int64) {
			img := bytes.Clone(ok)
			bothEndian32(recordOf(img, 18, "DOCS")[10:], 0xfffff800)
			return img, int64(len(img))
		},
		"inconsistent both-endian size": func() ([]byte, int64) {
			img := bytes.Clone(ok)
			r := recordOf(img, 18, "DOCS")
			r[17] ^= 1
			return img, int64(len(img))
		},
		"record crosses the sector": func() ([]byte, int64) {
			img := bytes.Clone(ok)
			ext := img[18*sectorSize:]
			p := 0
			for ext[p] != 0 {
				p += int(ext[p])
			}
			ext[p] = 250 // a record that runs past the sector end
			for i := p + 1; i < sectorSize; i++ {
				ext[i] = 1
			}
			return img, int64(len(img))
		},
		"loop to an ancestor": func() ([]byte, int64) {
			// OLD's MEMO.TXT;1 becomes a directory whose extent is the root.
			img := bytes.Clone(ok)
			r := recordOf(img, 20, "MEMO.TXT;1")
			bothEndian32(r[2:], 18)
			bothEndian32(r[10:], sectorSize)
			r[25] = 2
			return img, int64(len(img))
		},
		"volume larger than the disc": func() ([]byte, int64) {
			return ok, int64(len(ok)) - sectorSize
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			img, size := mk()
			d, err := DiscSignature(bytes.NewReader(img), size, testDiscKey)
			if !errors.Is(err, ErrMalformedDisc) || d.Key() != "" {
				t.Errorf("got key %q, error %v; want ErrMalformedDisc and no key", d.Key(), err)
			}
		})
	}
	if _, err := DiscSignature(bytes.NewReader(ok), int64(len(ok)), testDiscKey); err != nil {
		t.Fatalf("the unmodified disc: %v", err)
	}
	if d, err := DiscSignature(bytes.NewReader(ok), int64(len(ok)), nil); !errors.Is(err, ErrNoDiscKey) || d.Key() != "" || d.LegacyKey() == "" {
		t.Errorf("without a key: %q, %q, %v", d.Key(), d.LegacyKey(), err)
	}
}

func TestDiscKeyFile(t *testing.T) {
	path := DiscKeyPath(filepath.Join(t.TempDir(), "mediagate.db"))
	if _, err := LoadDiscKey(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v", err)
	}
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Go(func() {
			k, err := EnsureDiscKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != DiscKeySize || !bytes.Equal(k, keys[0]) {
			t.Fatalf("processes creating the key at once got different keys: %x / %x", k, keys[0])
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	if leftovers, _ := filepath.Glob(path + ".new-*"); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	src := DiscKeyFile(path)
	if k, err := src(); err != nil || !bytes.Equal(k, keys[0]) {
		t.Errorf("DiscKeyFile: %x, %v", k, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDiscKey(path); err == nil || !strings.Contains(err.Error(), "owner only") {
		t.Errorf("world-readable key accepted: %v", err)
	}
	if err := os.WriteFile(path, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDiscKey(path); err == nil {
		t.Error("a corrupt key file was accepted or replaced")
	}
}

// TestReadDiscWithoutKey: the reader gives an optical disc no key when the register's
// sample key cannot be had, and refuses multi-session discs.
func TestReadDiscWithoutKey(t *testing.T) {
	r := fixtureRoots(t, "usb-dvd-iso")
	r.DiscKey = nil
	d, err := Resolve(r, "/dev/sr0")
	if err != nil || d.Identity.Key != "" || !strings.Contains(d.Problem, "no disc sample key") {
		t.Errorf("no key source: key %q, problem %q, %v", d.Identity.Key, d.Problem, err)
	}
	r.DiscKey = func() ([]byte, error) { return nil, errors.New("permission denied") }
	if d, _ := Resolve(r, "/dev/sr0"); d.Identity.Key != "" || !strings.Contains(d.Problem, "permission denied") {
		t.Errorf("failing key source: key %q, problem %q", d.Identity.Key, d.Problem)
	}
	r = fixtureRoots(t, "usb-dvd-iso")
	d, _ = Resolve(r, "/dev/sr0")
	if !strings.HasPrefix(d.Identity.Key, "disc:v2-iso9660:") || d.Disc == nil || d.Disc.LegacyKey() == "" {
		t.Fatalf("with the key: %+v", d.Identity)
	}
}

// bridgeDisc is a UDF bridge disc: buildUDF's volume with an ISO 9660 primary volume
// descriptor at 16, a terminator at 17, the UDF recognition sequence at 18 to 20, and
// an ISO 9660 root directory at block 40 holding one file at block 41.
func bridgeDisc(fileName string) []byte {
	img := buildUDF("BRIDGE")
	for i, id := range []string{"BEA01", "NSR02", "TEA01"} {
		s := img[(18+i)*sectorSize : (19+i)*sectorSize]
		clear(s)
		copy(s[1:], id)
		s[6] = 1
	}
	iso := buildISO("BRIDGE", len(img)/sectorSize)
	copy(img[16*sectorSize:18*sectorSize], iso[16*sectorSize:18*sectorSize])
	root := &isoNode{dir: true, loc: 40, size: sectorSize}
	writeISORecord(img[16*sectorSize+156:16*sectorSize+190], "\x00", root)
	ext := img[40*sectorSize:]
	off := 0
	for _, r := range []struct {
		name string
		n    *isoNode
	}{{"\x00", root}, {"\x01", root}, {fileName, &isoNode{loc: 41, size: 100}}} {
		l := isoRecLen(r.name)
		writeISORecord(ext[off:off+l], r.name, r.n)
		off += l
	}
	copy(img[41*sectorSize:], "bridge file data")
	return img
}

func TestDiscIdentityUDFBridgeWalksISOTree(t *testing.T) {
	a := signISO(t, bridgeDisc("A.TXT;1"), testDiscKey)
	if a.Format != DiscUDF || a.Label != "BRIDGE" || a.Directories != 1 || a.Records != 1 || a.Sampled != 260 {
		t.Fatalf("bridge disc: %+v", a)
	}
	b := signISO(t, bridgeDisc("B.TXT;1"), testDiscKey)
	if a.LegacyKey() != b.LegacyKey() || a.Key() == b.Key() {
		t.Errorf("renamed file on a bridge disc: v1 %s / %s, v2 %s / %s", a.LegacyKey(), b.LegacyKey(), a.Key(), b.Key())
	}
}
