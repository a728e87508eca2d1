package mountwatch

import (
	"bytes"
	"path/filepath"
	"testing"
)

// FuzzParseMountinfo: hostile mountinfo bytes never panic; whatever parses
// respects the limits, writes back to bytes that parse to the same table,
// and diffs cleanly against itself and against nothing.
func FuzzParseMountinfo(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mountinfo", "*.txt"))
	for _, p := range files {
		f.Add(fixture(f, filepath.Base(p)))
	}
	f.Add([]byte("1 0 8:1 /\\040 /a\\134b rw shared:1 - ext4 /dev/sda1 rw\n"))
	f.Add([]byte("1 0 8:1 / /m rw -  \n2 1 0:0 / / rw - x  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMountinfo(data)
		if err != nil {
			return
		}
		var out []byte
		for _, m := range ms {
			if len(m.Optional) > MaxOptionalFields || m.ID < 0 || m.ParentID < 0 || m.FSType == "" {
				t.Fatalf("limits broken: %+v", m)
			}
			out = m.AppendLine(out)
		}
		again, err := ParseMountinfo(out)
		if err != nil {
			t.Fatalf("re-parse of written table: %v\n%q", err, out)
		}
		var out2 []byte
		for _, m := range again {
			out2 = m.AppendLine(out2)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("write/parse not stable:\n%q\n%q", out, out2)
		}
		if ev := Diff(ms, again, t0); len(ev) != 0 && !hasDuplicateKeys(ms) {
			t.Fatalf("table differs from its own copy: %+v", ev)
		}
		if ev := Diff(nil, ms, t0); len(ev) != len(ms) {
			t.Fatalf("diff from nothing: %d events for %d mounts", len(ev), len(ms))
		}
	})
}

func hasDuplicateKeys(ms []Mount) bool {
	seen := map[Key]bool{}
	for _, m := range ms {
		if seen[KeyOf(m)] {
			return true
		}
		seen[KeyOf(m)] = true
	}
	return false
}
