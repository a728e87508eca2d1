package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"mediagate/internal/audit"
	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
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
	fix := filepath.Join("..", "..", "testdata", "devices", "qemu-usb-storage")
	roots := identity.Roots{Paths: sysfs.Paths{Sys: filepath.Join(fix, "sys"), UdevData: filepath.Join(fix, "run", "udev", "data"), Dev: b.TempDir()}}
	const usbP = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	const diskP = usbP + "/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda"
	dev, err := identity.ReadDevice(roots, filepath.Join(roots.Sys, usbP))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		s, err := registry.Open(ctx, filepath.Join(b.TempDir(), "reg.db"), registry.WithActor(audit.Actor{UID: 0, User: "root"}),
			registry.WithConnections(1), registry.WithPageCache(256))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.InitHost(ctx, media.Host{Number: "BENCH-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
			b.Fatal(err)
		}
		id := dev.Identity
		id.Capacity = 0
		if _, err := s.Register(ctx, registry.Registration{Identity: id, Level: media.Secret, Custodian: "zhang"}); err != nil {
			b.Fatal(err)
		}
		rec := enforce.NewRecorder()
		rec.Keep = 64
		d := New(Config{Store: s, Enforcer: rec, Sys: roots.Sys, Index: regindex.New(&regindex.Registry{Store: s}),
			Read: func(p string) (identity.Device, error) {
				return identity.ReadDeviceHeld(roots, filepath.Join(roots.Sys, p))
			}})
		if err := d.Start(ctx); err != nil {
			b.Fatal(err)
		}
		cycle := []udev.Event{
			{Action: "add", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
			{Action: "bind", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
			{Action: "add", DevPath: diskP, Subsystem: "block", DevType: "disk"},
			{Action: "remove", DevPath: diskP, Subsystem: "block", DevType: "disk"},
			{Action: "remove", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
		}
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
