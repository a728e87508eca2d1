package registry

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

// BenchmarkRecordEvents is the daemon's audit-row commit (docs/performance.md): a
// blocked stick's device.decision row, with the details the daemon writes for it,
// appended through RecordEvents to a register opened as the daemon opens it (the
// SQLite file with a 256 KiB page cache; PostgreSQL too when MEDIAGATE_PG_DSN names a
// server). One row per transaction, a burst of ten, and one row on a log of 50,000
// rows. Besides ns/op it reports
// pre-commit-ns/op: from the call to the start of the commit, which is when SQLite
// writes the rows to its WAL (the decision the side-by-side benchmark sees), and both
// as CPU time of the thread (cpu-ns/op, pre-commit-cpu-ns/op), which a machine shared
// with other work disturbs less.
//
//	go test -run '^$' -bench RecordEvents -benchmem ./internal/registry/
func BenchmarkRecordEvents(b *testing.B) {
	ctx := context.Background()
	for _, e := range testEngines {
		for _, c := range []struct{ rows, log int }{{1, 0}, {10, 0}, {1, 50_000}} {
			n := c.rows
			name := fmt.Sprintf("%s/rows=%d", e.engine, n)
			if c.log > 0 {
				name += fmt.Sprintf("/log=%d", c.log)
			}
			b.Run(name, func(b *testing.B) {
				e.require(b)
				s, err := Open(ctx, e.dsn(b), WithPageCache(256), WithActor(audit.Actor{UID: 0, User: "root"}))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if _, err := s.InitHost(ctx, media.Host{Number: "BENCH-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
					b.Fatal(err)
				}
				// A log as long as a year of decisions, written in batches.
				batch := make([]EventRow, 500)
				for i := 0; i < c.log; i += len(batch) {
					for j := range batch {
						batch[j] = EventRow{Kind: event.KindDeviceDecision, Details: blockedStickDetails(i + j)}
					}
					if err := s.RecordEvents(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				// Wall time and the CPU time of this goroutine's thread (locked to it: on a
				// shared machine the wall time is mostly waiting for a core).
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var start time.Time
				var startCPU, cpu, preCPU time.Duration
				var pre time.Duration
				s.beforeCommit = func() { pre += time.Since(start); preCPU += threadCPU() - startCPU }
				rows := make([]EventRow, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					for j := range rows {
						rows[j] = EventRow{Kind: event.KindDeviceDecision, Details: blockedStickDetails(i*n + j)}
					}
					start, startCPU = time.Now(), threadCPU()
					if err := s.RecordEvents(ctx, rows); err != nil {
						b.Fatal(err)
					}
					cpu += threadCPU() - startCPU
				}
				b.StopTimer()
				b.ReportMetric(float64(pre.Nanoseconds())/float64(b.N), "pre-commit-ns/op")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(preCPU.Nanoseconds())/float64(b.N), "pre-commit-cpu-ns/op")
				got, err := s.Events(ctx, EventFilter{Kind: string(event.KindDeviceDecision)})
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != c.log+b.N*n {
					b.Fatalf("%d decision rows, want %d", len(got), c.log+b.N*n)
				}
				if _, err := s.VerifyLog(ctx); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// blockedStickDetails are the details of the daemon's row for an unregistered QEMU
// stick at a secret host (daemon.Record.details).
func blockedStickDetails(i int) event.DeviceDecision {
	serial := fmt.Sprintf("MGBENCHNO%04d", i%10000)
	port := fmt.Sprintf("2-%d", 1+i%8)
	return event.DeviceDecision{
		Device: event.DecisionDevice{DevPath: "/devices/pci0000:00/0000:00:02.0/usb2/" + port, Label: "46f4:0001 QEMU QEMU USB HARDDRIVE " + serial, Name: port},
		Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:46f4:0001:" + serial, Serial: serial, VendorID: "46f4", ProductID: "0001",
			DescriptorHash:   "5c1d0e3f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
			InterfaceClasses: []int{8}},
		Effective: "block", Enforce: true, Host: "BENCH-01", HostLevel: "secret", Reason: "unregistered", Stage: "usb-device", Verdict: "block",
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
