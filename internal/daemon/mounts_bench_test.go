package daemon

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
	"mediagate/internal/registry"
)

// BenchmarkMountLog feeds mount/unmount events of a stick (looked up in the registry on every event) from a fake
// source into a daemon writing to a real SQLite registry, and reports rows/s
// sustained and the latency from the event (its Time) to the committed row.
//
//	go test -run '^$' -bench MountLog -benchtime 5000x ./internal/daemon/
func BenchmarkMountLog(b *testing.B) {
	ctx := context.Background()
	store, err := registry.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		b.Fatal(err)
	}
	sys := b.TempDir()
	devs := &devices{}
	_, blk := stick("BENCH1", 64<<20)
	devs.set(blk)
	d := New(Config{Store: store, Read: devs.read, Sys: sys,
		Mounts: MountConfig{UdevData: mountSysfs(b, sys), UdisksState: "-", Hostname: "pc-01", Method: "fake"}})
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		k := mountwatch.KindMount
		if i%2 == 1 {
			k = mountwatch.KindUnmount
		}
		ev := mountEv(k, "/mnt/bench", false)
		ev.Time = time.Now()
		d.HandleMount(ctx, ev)
		lat = append(lat, time.Since(ev.Time))
	}
	el := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "rows/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	rows, _ := store.Events(ctx, registry.EventFilter{Kind: "mount."})
	if len(rows) != b.N {
		b.Fatalf("%d rows for %d events", len(rows), b.N)
	}
}
