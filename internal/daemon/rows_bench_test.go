package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

// BenchmarkDecisionRow is the commit of a blocked stick's decision row, the daemon's
// case in the side-by-side benchmark (docs/performance.md): one device.decision row,
// its details as Record.details makes them, committed through RecordEvents on an
// SQLite register opened as the daemon opens it (service.OpenLocal, a 64 KiB page
// cache). Sub-benchmarks: one row, a burst of ten in one transaction, and one row
// through the daemon's own queue (recordLater, flushRows: the commit and the register
// check after it, freshAfterCommit). It checks that every row was written and that the
// chain verifies.
//
//	go test -run '^$' -bench DecisionRow -benchmem ./internal/daemon
//	go test -run '^$' -bench 'DecisionRow/1-row$' -benchtime 20000x -cpuprofile /tmp/rows.pprof ./internal/daemon
func BenchmarkDecisionRow(b *testing.B) {
	ctx := context.Background()
	open := func(b *testing.B) (*service.Local, *registry.Store) {
		l, err := service.OpenLocal(ctx, filepath.Join(b.TempDir(), "reg.db"), service.LocalOptions{
			Actor: audit.Actor{UID: 0, User: "root"}, Create: true, PageCacheKiB: 64})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		s, ok := l.Store().(*registry.Store)
		if !ok {
			b.Fatalf("the local register is a %T", l.Store())
		}
		if _, err := s.InitHost(ctx, media.Host{Number: "BENCH-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
			b.Fatal(err)
		}
		allowed := media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("46f4", "0001", "MGBENCHOK01"), Serial: "MGBENCHOK01",
			VendorID: "46f4", ProductID: "0001", InterfaceClasses: []int{8}}
		if _, err := s.Register(ctx, registry.Registration{Identity: allowed, Level: media.Secret, Custodian: "zhang"}); err != nil {
			b.Fatal(err)
		}
		return l, s
	}
	row := func(i int) registry.EventRow {
		r := blockedStickRecord(i)
		return registry.EventRow{Kind: event.KindDeviceDecision, Medium: r.Decision.Medium, Details: r.details()}
	}
	check := func(b *testing.B, s *registry.Store, want int) {
		b.Helper()
		rows, err := s.Events(ctx, registry.EventFilter{Kind: string(event.KindDeviceDecision)})
		if err != nil {
			b.Fatal(err)
		}
		if len(rows) != want {
			b.Fatalf("%d decision rows, want %d", len(rows), want)
		}
		if _, err := s.VerifyLog(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("%d-row", n)+map[bool]string{true: "", false: "s"}[n == 1], func(b *testing.B) {
			_, s := open(b)
			rows := make([]registry.EventRow, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for j := range rows {
					rows[j] = row(i*n + j)
				}
				if err := s.RecordEvents(ctx, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			check(b, s, b.N*n)
		})
	}
	b.Run("daemon-queue", func(b *testing.B) {
		l, s := open(b)
		d := New(Config{Store: s, Index: l.DecisionIndex(), Sys: b.TempDir()})
		if err := d.cfg.Index.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		// The CPU time of this goroutine's thread too (locked to it): on a shared
		// machine the wall time is mostly waiting for a core.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := threadCPU()
		for i := range b.N {
			r := blockedStickRecord(i)
			d.recordLater(event.KindDeviceDecision, r.Decision.Medium, r.details())
			d.flushRows(ctx)
		}
		b.StopTimer()
		b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		if p := d.Status().Problems; len(p) > 0 {
			b.Fatalf("problems: %q", p)
		}
		check(b, s, b.N)
	})
}

// blockedStickRecord is the decision on an unregistered QEMU stick at a secret host,
// as the daemon records it (the benchmark's blocked plugs).
func blockedStickRecord(i int) Record {
	serial := fmt.Sprintf("MGBENCHNO%04d", i%10000)
	port := fmt.Sprintf("2-%d", 1+i%8)
	id := media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("46f4", "0001", serial), Serial: serial,
		VendorID: "46f4", ProductID: "0001",
		DescriptorHash:   "5c1d0e3f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
		InterfaceClasses: []int{8}}
	return Record{
		Stage: "usb-device", DevPath: "/devices/pci0000:00/0000:00:02.0/usb2/" + port, Name: port,
		Label: "46f4:0001 QEMU QEMU USB HARDDRIVE " + serial, Identity: id,
		Decision: policy.Decision{Verdict: policy.Block, Reason: policy.ReasonUnregistered, Enforce: true,
			HostNumber: "BENCH-01", HostLevel: media.Secret},
		Effective: policy.Block,
	}
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
