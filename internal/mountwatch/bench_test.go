package mountwatch

import (
	"context"
	"fmt"
	"sort"
	"strings"
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

// BenchmarkMountLatency: time from starting mount(8) to the watcher
// returning the Mount event, for each method, with a real loop-mounted
// ext4 image (root only). Reports the median and the worst in ms. The
// figure includes mount(8)'s own run time (fork, exec, loop setup).
func BenchmarkMountLatency(b *testing.B) {
	for _, method := range []Method{MethodPoll, MethodFanotify} {
		b.Run(string(method), func(b *testing.B) {
			li := newLoopImage(b)
			mnt := li.point(b, "m")
			w, err := Open(Options{Method: method, Keep: func(m Mount) bool { return strings.HasPrefix(m.MountPoint, li.dir+"/") }})
			if err != nil {
				b.Skipf("%s watcher: %v", method, err)
			}
			defer w.Close()
			ctx := context.Background()
			var mountLat, umountLat, execTime, afterExec []time.Duration
			next := func(want Kind) Event {
				for {
					e, err := w.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if e.Kind == want && e.MountPoint == mnt {
						return e
					}
				}
			}
			for b.Loop() {
				start := time.Now()
				li.mount(b, "-o", "loop", li.img, mnt)
				execTime = append(execTime, time.Since(start))
				e := next(KindMount)
				mountLat = append(mountLat, e.Time.Sub(start))
				afterExec = append(afterExec, e.Time.Sub(start)-execTime[len(execTime)-1])
				start = time.Now()
				li.umount(b, mnt)
				next(KindUnmount)
				umountLat = append(umountLat, time.Since(start))
			}
			b.ReportMetric(ms(median(mountLat)), "ms-mount-median")
			b.ReportMetric(ms(slowest(mountLat)), "ms-mount-max")
			b.ReportMetric(ms(median(execTime)), "ms-mount(8)-median")
			b.ReportMetric(ms(median(afterExec)), "ms-after-mount(8)-median")
			b.ReportMetric(ms(median(umountLat)), "ms-umount-median")
		})
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func slowest(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
