package mountwatch

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

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
