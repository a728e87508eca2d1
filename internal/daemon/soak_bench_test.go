package daemon

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"mediagate/internal/registry"
)

// BenchmarkPlugSoakHeap runs plug cycles of the registered QEMU stick (add, the bind
// our write causes, its disk, and the removes) through the real decision path and
// the real store opened as the daemon opens it (one connection, 64 KiB page cache),
// and prints the live Go heap after a collection after the 1st, 10th, 100th, 400th and
// every 1,000th plug: what a soak in the guest (scripts/bench-usbguard.sh --soak) sees
// of the Go heap, without the guest. It reports the growth from the first thousand to
// the last as heap-growth-KiB.
//
//	go test -run '^$' -bench PlugSoakHeap -benchtime 1x ./internal/daemon
func BenchmarkPlugSoakHeap(b *testing.B) {
	const plugs = 6000
	ctx := context.Background()
	// The test binary's memory profiler would count as heap growth (its buckets);
	// mediagated does not link it.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 0
	for i := 0; i < b.N; i++ {
		d, s := realStickDaemon(b, registry.WithConnections(1), registry.WithPageCache(64))
		cycle := realStickPlug(b)
		var ms runtime.MemStats
		var first uint64
		for n := 1; n <= plugs; n++ {
			for _, e := range cycle {
				d.Handle(ctx, e)
			}
			if n != 1 && n != 10 && n != 100 && n != 400 && n%1000 != 0 {
				continue
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if n == 1000 {
				first = ms.HeapAlloc
			}
			fmt.Printf("after %5d plugs: live heap %5d KiB in %d objects\n", n, ms.HeapAlloc>>10, ms.HeapObjects)
		}
		if got := d.Status().Counts.Decisions; got != 2*plugs {
			b.Fatalf("%d decisions, want %d", got, 2*plugs)
		}
		b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(first))/1024, "heap-growth-KiB")
		s.Close()
	}
}
