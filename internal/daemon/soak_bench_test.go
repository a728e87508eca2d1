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
// the real store opened as the daemon opens it (one connection, 256 KiB page cache),
// and prints the live Go heap after a collection every 1,000 plugs: what a soak in
// the guest (scripts/bench-usbguard.sh --soak) sees of the Go heap, without the
// guest. It reports the growth from the first thousand to the last as heap-growth-KiB.
//
//	go test -run '^$' -bench PlugSoakHeap -benchtime 1x ./internal/daemon
func BenchmarkPlugSoakHeap(b *testing.B) {
	const rounds, perRound = 6, 1000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		d, s := realStickDaemon(b, registry.WithConnections(1), registry.WithPageCache(256))
		cycle := realStickPlug()
		var ms runtime.MemStats
		var first uint64
		for r := 1; r <= rounds; r++ {
			for range perRound {
				for _, e := range cycle {
					d.Handle(ctx, e)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if r == 1 {
				first = ms.HeapAlloc
			}
			fmt.Printf("after %5d plugs: live heap %5d KiB in %d objects\n", r*perRound, ms.HeapAlloc>>10, ms.HeapObjects)
		}
		if got := d.Status().Counts.Decisions; got != 2*rounds*perRound {
			b.Fatalf("%d decisions, want %d", got, 2*rounds*perRound)
		}
		b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(first))/1024, "heap-growth-KiB")
		s.Close()
	}
}
