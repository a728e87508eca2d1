package daemon

import (
	"context"
	"testing"

	"mediagate/internal/registry"
	"mediagate/internal/udev"
)

// BenchmarkPlugCycle is one plug of the registered QEMU stick (add, the bind our write
// causes, its disk, and the removes) through the real decision path and the real
// store opened as the daemon opens it: its allocations are what the collector has to
// clear after every plug in the guest.
//
//	go test -run '^$' -bench PlugCycle -benchmem ./internal/daemon
func BenchmarkPlugCycle(b *testing.B) {
	ctx := context.Background()
	d, s := realStickDaemon(b, registry.WithConnections(1), registry.WithPageCache(64))
	defer s.Close()
	cycle := realStickPlug(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, e := range cycle {
			d.Handle(ctx, e)
		}
		n++
	}
	if realStickEventReads != n {
		b.Fatalf("%d of %d plugs read from their kernel event", realStickEventReads, n)
	}
}

// realStickPlug is one plug of the recorded QEMU stick as the daemon sees it: its add,
// the bind our authorized write causes, its disk, and the removes; the add with the
// kernel event's properties, as mediagated's kernel source hands it on.
func realStickPlug(b *testing.B) []udev.Event {
	return []udev.Event{
		realStickAdd(b),
		{Action: "bind", DevPath: realStickUSB, Subsystem: "usb", DevType: "usb_device"},
		{Action: "add", DevPath: realStickDisk, Subsystem: "block", DevType: "disk"},
		{Action: "remove", DevPath: realStickDisk, Subsystem: "block", DevType: "disk"},
		{Action: "remove", DevPath: realStickUSB, Subsystem: "usb", DevType: "usb_device"},
	}
}
