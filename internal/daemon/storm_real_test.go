package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
)

// processCPU is the CPU time (user + system) of this process so far: on a shared
// machine events per CPU second say what the path costs, events per second what the
// machine gave it.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEventStormRealStore pushes 10,000 uevents through the real decision path:
// the real identity reader on a sysfs tree (testdata/devices/qemu-usb-storage, a
// QEMU stick as the guest's kernel shows it), the in-memory index filled from a real
// registry (SQLite file, WAL) that also takes every audit row, policy, and the
// enforcement recorder in place of sysfs writes. 1,000 plug cycles of the registered
// stick: add, interface, the change and bind our write causes, disk, partition, disk
// change, and the three removes. It prints events/s; it asserts that nothing was lost
// (one allowed decision per plug for the stick and for its disk).
//
//	go test -run '^$' -bench EventStormRealStore -benchtime 1x ./internal/daemon
func BenchmarkEventStormRealStore(b *testing.B) {
	const cycles = 1000
	ctx := context.Background()
	const usbP, diskP = realStickUSB, realStickDisk
	for i := 0; i < b.N; i++ {
		d, s := realStickDaemon(b)
		add := realStickAdd(b)
		var evs []udev.Event
		for range cycles {
			evs = append(evs,
				add,
				udev.Event{Action: "add", DevPath: usbP + "/2-1:1.0", Subsystem: "usb", DevType: "usb_interface"},
				udev.Event{Action: "change", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
				udev.Event{Action: "bind", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
				udev.Event{Action: "add", DevPath: diskP, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "add", DevPath: diskP + "/sda1", Subsystem: "block", DevType: "partition"},
				udev.Event{Action: "change", DevPath: diskP, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "remove", DevPath: diskP + "/sda1", Subsystem: "block", DevType: "partition"},
				udev.Event{Action: "remove", DevPath: diskP, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "remove", DevPath: usbP, Subsystem: "usb", DevType: "usb_device"},
			)
		}
		// Through Run, as the service runs: the decisions' rows of a burst are
		// committed together once no event waits (or every maxQueuedRows rows).
		src := &timedSource{Fake: udev.NewFake(0), per: make([]time.Duration, 0, len(evs))}
		src.Push(evs...)
		src.Close()
		d.SetSource(src, "storm")
		cpu0 := processCPU()
		start := time.Now()
		src.last = start
		if err := d.Run(ctx); err != nil {
			b.Fatal(err)
		}
		per := src.per
		total := time.Since(start)
		cpu := processCPU() - cpu0
		st := d.Status()
		rows, err := s.Events(ctx, registry.EventFilter{Kind: "device.decision"})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		if realStickEventReads != cycles {
			b.Fatalf("%d of %d plugs read from their kernel event", realStickEventReads, cycles)
		}
		if len(per) != len(evs)+1 || st.Counts.Allowed < 2*cycles || st.Counts.Blocked != 0 || len(rows) != int(st.Counts.Decisions) {
			b.Fatalf("%d of %d events handled; %d allowed, %d blocked, %d errors; %d decision rows for %d decisions; problems %q",
				len(per), len(evs), st.Counts.Allowed, st.Counts.Blocked, st.Counts.Errors, len(rows), st.Counts.Decisions, st.Problems)
		}
		per = per[1:] // per[0]: from the start to the first Receive
		b.ReportMetric(float64(len(per))/total.Seconds(), "events/s")
		b.ReportMetric(float64(len(per))/cpu.Seconds(), "events/CPU-s")
		b.ReportMetric(float64(percentile(per, .5).Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(percentile(per, .99).Nanoseconds())/1e3, "p99-µs")
		if i == 0 {
			fmt.Printf("event storm, real store: %d events in %s = %.0f events/s (%.0f per CPU second: %s of CPU); per event p50 %s, p99 %s; %d decisions (%d allowed), %d audit rows\n",
				len(per), total.Round(time.Millisecond), float64(len(per))/total.Seconds(), float64(len(per))/cpu.Seconds(), cpu.Round(time.Millisecond),
				percentile(per, .5), percentile(per, .99), st.Counts.Decisions, st.Counts.Allowed, len(rows))
		}
	}
}

// Devpaths of the QEMU stick in testdata/devices/qemu-usb-storage.
const (
	realStickUSB  = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	realStickDisk = realStickUSB + "/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda"
)

// realStickEventReads counts the reads of a USB device from its kernel event
// (Config.ReadEvent) by the latest realStickDaemon.
var realStickEventReads int

// realStickAdd is the kernel's add uevent of the QEMU stick as mediagated's kernel
// source hands it on: its uevent file's properties and the event's own.
func realStickAdd(b *testing.B) udev.Event {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "devices", "qemu-usb-storage", "sys", realStickUSB, "uevent"))
	if err != nil {
		b.Fatal(err)
	}
	props := map[string]string{"ACTION": "add", "DEVPATH": realStickUSB, "SUBSYSTEM": "usb", "SEQNUM": "1"}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			props[k] = v
		}
	}
	if props["DEVTYPE"] != "usb_device" || props["BUSNUM"] == "" {
		b.Fatalf("the fixture's uevent: %q", props)
	}
	return udev.Event{Action: "add", DevPath: realStickUSB, Subsystem: "usb", DevType: "usb_device", Properties: props}
}

// realStickDaemon is a started daemon over the real decision path: the real identity
// reader on the QEMU stick's sysfs tree, a real registry (SQLite file, WAL, opened with
// opts) in which the stick is registered to a custodian and which takes every audit
// row, the index filled from it, and the enforcement recorder in place of sysfs writes.
func realStickDaemon(b *testing.B, opts ...registry.Option) (*Daemon, *registry.Store) {
	b.Helper()
	ctx := context.Background()
	fix, err := filepath.Abs(filepath.Join("..", "..", "testdata", "devices", "qemu-usb-storage"))
	if err != nil {
		b.Fatal(err)
	}
	roots := identity.Roots{Paths: sysfs.Paths{Sys: filepath.Join(fix, "sys"), UdevData: filepath.Join(fix, "run", "udev", "data"), Dev: b.TempDir()}}
	dev, err := identity.ReadDevice(roots, filepath.Join(roots.Sys, realStickUSB))
	if err != nil {
		b.Fatal(err)
	}
	opts = append([]registry.Option{registry.WithActor(audit.Actor{UID: 0, User: "root"})}, opts...)
	s, err := registry.Open(ctx, filepath.Join(b.TempDir(), "reg.db"), opts...)
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
	realStickEventReads = 0
	d := New(Config{Store: s, Enforcer: rec, Sys: roots.Sys, Index: regindex.New(&regindex.Registry{Store: s}),
		// As mediagated reads: a USB device just added from its kernel event's
		// properties (realStickAdd), any other read from sysfs alone.
		Read: func(p string) (identity.Device, error) {
			return identity.ReadDeviceHeld(roots, filepath.Join(roots.Sys, p))
		},
		ReadEvent: func(p string, uevent map[string]string) (identity.Device, error) {
			realStickEventReads++
			return identity.ReadUSBEventHeld(roots, filepath.Join(roots.Sys, p), uevent)
		}})
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return d, s
}

// timedSource is the storm's source: it measures the time between one Receive
// returning and the next being called, which is how long the daemon took for the
// event (its decision and, at the end of a burst, the commit of the rows).
type timedSource struct {
	*udev.Fake
	last time.Time
	per  []time.Duration
}

func (s *timedSource) Receive(ctx context.Context) (udev.Event, error) {
	s.per = append(s.per, time.Since(s.last))
	ev, err := s.Fake.Receive(ctx)
	s.last = time.Now()
	return ev, err
}
