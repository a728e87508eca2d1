package mountwatch

import (
	"bytes"
	"path"
	"path/filepath"
	"strconv"
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

// FuzzParseAuditRecord: hostile record text never panics; a record that parses has
// a header whose id round-trips, and its fields are bounded by the input.
func FuzzParseAuditRecord(f *testing.F) {
	for _, r := range auditFixture(f, "mount-remount-umount.txt") {
		f.Add([]byte(r[1]))
	}
	f.Add([]byte(`audit(1.000:2): comm=6D79206D6F756E74 msg='a="b c"' key=(null)`))
	f.Add([]byte("audit(1.000:2): =x ==y a= b=\"\" c='"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseAuditRecord(AuditSyscall, data)
		if err != nil {
			return
		}
		n := 0
		for k, v := range r.Fields {
			n += len(k) + len(v)
		}
		if n > len(data) {
			t.Fatalf("fields (%d bytes) larger than the record (%d)", n, len(data))
		}
		if r.Time.Unix() < 0 {
			t.Fatalf("negative time %v", r.Time)
		}
	})
}

// FuzzAuditAssembler: any sequence of records (type byte + text, split on newlines)
// never panics, keeps the pending set bounded, and returns only keyed mount syscalls
// with absolute, clean paths when the working directory is absolute.
func FuzzAuditAssembler(f *testing.F) {
	var seed []byte
	for _, r := range auditFixture(f, "mount-remount-umount.txt") {
		typ, _ := strconv.Atoi(r[0])
		seed = append(seed, byte(typ-1300))
		seed = append(seed, r[1]...)
		seed = append(seed, '\n')
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a AuditAssembler
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			m, ok := a.Add(1300+uint16(line[0]), line[1:])
			if len(a.pending) > maxPending {
				t.Fatalf("%d pending", len(a.pending))
			}
			if !ok {
				continue
			}
			if m.Key != AuditKey || m.Syscall == "" {
				t.Fatalf("returned %+v", m)
			}
			for _, p := range m.Paths {
				if path.IsAbs(m.CWD) && (!path.IsAbs(p) || path.Clean(p) != p) {
					t.Fatalf("path %q with cwd %q", p, m.CWD)
				}
			}
		}
	})
}
