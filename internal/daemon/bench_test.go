package daemon

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/udev"
)

// These benchmarks print figures; they assert nothing about time. docs/daemon.md has
// the numbers of a run. Run them with:
//
//	go test -run '^$' -bench DecisionLatency -benchtime 20000x ./internal/daemon
//	go test -run '^$' -bench EventStorm -benchtime 1x ./internal/daemon

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// rssKB reads VmRSS and VmHWM of this process.
func rssKB() (rss, hwm int) {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			n, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				rss = n
			} else {
				hwm = n
			}
		}
	}
	return
}

// benchBed is a daemon on fakes with n registered and n unregistered sticks.
func benchBed(b *testing.B, n int) (*Daemon, *enforce.Recorder, *devices) {
	store := newMemStore(secretHost())
	rec := enforce.NewRecorder()
	rec.Keep = 1024
	devs := &devices{}
	for i := range n {
		serial := fmt.Sprintf("BENCH%05d", i)
		p := fmt.Sprintf("%s/2-%d", hub, i+1)
		key := identity.USBKey("46f4", "0001", serial)
		usb := &identity.USBInfo{Port: fmt.Sprintf("2-%d", i+1), SysPath: p, VendorID: "46f4", ProductID: "0001", Functions: []identity.Function{identity.FuncStorage}}
		id := media.Identity{Kind: media.KindUSBDisk, Key: key, Serial: serial, VendorID: "46f4", ProductID: "0001", InterfaceClasses: []int{8}}
		devs.set(identity.Device{Name: usb.Port, Subsystem: "usb", SysPath: p, Bus: "usb", Identity: id, USB: usb})
		bid := id
		bid.Capacity = 1 << 30
		devs.set(identity.Device{Name: fmt.Sprintf("sd%d", i), Subsystem: "block", SysPath: p + "/host/block/sd", DevNode: "/dev/sdx", Bus: "usb", Identity: bid, USB: usb, Size: 1 << 30})
		if i%2 == 0 {
			store.media[key] = media.Medium{Number: "B-" + serial, Kind: media.KindUSBDisk, Level: media.Secret, Status: media.StatusActive,
				Custodian: "zhang", Identity: media.Identity{Kind: media.KindUSBDisk, Key: key}}
		}
	}
	d := New(Config{Store: store, Enforcer: rec, Read: devs.read, Sys: b.TempDir(), Recent: 100})
	d.Start(context.Background())
	return d, rec, devs
}

// BenchmarkDecisionLatency measures one USB add event from receipt to the (fake)
// sysfs write of authorized, with registry lookup, policy and the audit row.
func BenchmarkDecisionLatency(b *testing.B) {
	const n = 100
	d, rec, _ := benchBed(b, n)
	var mu sync.Mutex
	var wrote time.Time
	rec.OnAction = func(a enforce.Action) {
		mu.Lock()
		wrote = a.At
		mu.Unlock()
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := fmt.Sprintf("%s/2-%d", hub, i%n+1)
		ev := udev.Event{Action: udev.ActionAdd, DevPath: p, Subsystem: "usb", DevType: "usb_device", Received: time.Now()}
		d.Handle(ctx, ev)
		mu.Lock()
		lat = append(lat, wrote.Sub(ev.Received))
		mu.Unlock()
		// remove: the next add at this port is decided afresh and written again
		d.Handle(ctx, udev.Event{Action: udev.ActionRemove, DevPath: p, Subsystem: "usb", DevType: "usb_device"})
		rec.SetAuthorized(p, i%2 == 1)
	}
	b.StopTimer()
	p50, p99 := percentile(lat, .5), percentile(lat, .99)
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	if b.N >= 1000 {
		fmt.Printf("decision latency over %d decisions: p50 %s, p99 %s\n", len(lat), p50, p99)
	}
}

// BenchmarkEventStorm pushes 10,000 events (plug, interface, our change events, block
// device, partition, unplug for 1,000 sticks, half of them registered) through the
// fake source and Run, and reports events/s, per-event handling p50/p99 and RSS.
func BenchmarkEventStorm(b *testing.B) {
	const sticks = 1000
	for i := 0; i < b.N; i++ {
		d, _, _ := benchBed(b, sticks)
		var evs []udev.Event
		for s := range sticks {
			p := fmt.Sprintf("%s/2-%d", hub, s+1)
			blk := p + "/host/block/sd"
			evs = append(evs,
				udev.Event{Action: "add", DevPath: p, Subsystem: "usb", DevType: "usb_device"},
				udev.Event{Action: "add", DevPath: p + "/1.0", Subsystem: "usb", DevType: "usb_interface"},
				udev.Event{Action: "change", DevPath: p, Subsystem: "usb", DevType: "usb_device"},
				udev.Event{Action: "bind", DevPath: p, Subsystem: "usb", DevType: "usb_device"},
				udev.Event{Action: "add", DevPath: blk, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "add", DevPath: blk + "/sd1", Subsystem: "block", DevType: "partition"},
				udev.Event{Action: "change", DevPath: blk, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "remove", DevPath: blk + "/sd1", Subsystem: "block", DevType: "partition"},
				udev.Event{Action: "remove", DevPath: blk, Subsystem: "block", DevType: "disk"},
				udev.Event{Action: "remove", DevPath: p, Subsystem: "usb", DevType: "usb_device"},
			)
		}
		src := udev.NewFake(0)
		per := make([]time.Duration, 0, len(evs))
		start := time.Now()
		go func() {
			src.Push(evs...)
			src.Close()
		}()
		ctx := context.Background()
		for {
			ev, err := src.Receive(ctx)
			if err != nil {
				break
			}
			t0 := time.Now()
			d.Handle(ctx, ev)
			per = append(per, time.Since(t0))
		}
		total := time.Since(start)
		rss, hwm := rssKB()
		st := d.Status()
		b.ReportMetric(float64(len(per))/total.Seconds(), "events/s")
		b.ReportMetric(float64(percentile(per, .5).Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(percentile(per, .99).Nanoseconds())/1e3, "p99-µs")
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
		if i > 0 {
			continue
		}
		fmt.Printf("event storm: %d events in %s = %.0f events/s; per event p50 %s, p99 %s; %d decisions (%d allowed, %d blocked); RSS %d KiB, peak %d KiB\n",
			len(per), total.Round(time.Millisecond), float64(len(per))/total.Seconds(), percentile(per, .5), percentile(per, .99),
			st.Counts.Decisions, st.Counts.Allowed, st.Counts.Blocked, rss, hwm)
	}
}
