package mountwatch

import (
	"fmt"
	"testing"
	"time"
)

// bigTable returns mountinfo bytes for n block-device mounts under /media
// with escaped names and optional fields, plus the same table with one
// mount gone, one remounted ro and one new.
func bigTable(n int) (before, after []byte) {
	for i := 0; i < n; i++ {
		m := Mount{ID: 100 + i, ParentID: 1, Major: 8, Minor: uint32(i % 256), Root: "/",
			MountPoint: fmt.Sprintf("/media/officer/STICK %04d", i), Options: "rw,nosuid,nodev,relatime",
			Optional: []string{fmt.Sprintf("shared:%d", i)}, FSType: "vfat", Source: fmt.Sprintf("/dev/sd%c%d", 'b'+i%20, i),
			SuperOptions: "rw,uid=1000,gid=1000,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,utf8,errors=remount-ro"}
		before = m.AppendLine(before)
		switch i {
		case 0:
			continue // unmounted
		case 1:
			m.Options = "ro,nosuid,nodev,relatime"
		}
		after = m.AppendLine(after)
	}
	extra := Mount{ID: 100 + n, ParentID: 1, Major: 8, Minor: 1, Root: "/", MountPoint: "/media/new", Options: "rw",
		FSType: "ext4", Source: "/dev/sdz1", SuperOptions: "rw"}
	return before, extra.AppendLine(after)
}

// BenchmarkParseDiff: one watcher cycle on a 2,000-mount table (parse the
// new table, diff against the old). rows/s counts parsed mountinfo lines.
func BenchmarkParseDiff(b *testing.B) {
	const n = 2000
	before, after := bigTable(n)
	prev, err := ParseMountinfo(before)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(after)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		next, err := ParseMountinfo(after)
		if err != nil {
			b.Fatal(err)
		}
		if ev := Diff(prev, next, t0); len(ev) != 3 {
			b.Fatalf("got %d events, want 3", len(ev))
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "rows/s")
}
