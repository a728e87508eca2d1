//go:build linux && cgo

package udev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	goudev "github.com/jochenvg/go-udev"
)

// Options configures Open.
type Options struct {
	// UdevControl is udevd's control socket, normally /run/udev/control; when it
	// exists udevd is taken to run and the "udev" source is used, else "kernel".
	UdevControl string
	// Source forces "udev" or "kernel"; empty chooses as above.
	Source string
	// QueueLimit bounds the queue of received events (default 65536).
	QueueLimit int
	// NoEnumerate skips the enumeration of present devices at start.
	NoEnumerate bool
}

// Monitor is the libudev event source.
type Monitor struct {
	q      *queue
	cancel context.CancelFunc
	done   chan struct{}
	name   string
}

// Name is the netlink source in use: "udev" or "kernel".
func (m *Monitor) Name() string { return m.name }

// Open starts listening for usb and block events, enumerates the devices present and
// queues them ahead of the events that arrived meanwhile.
func Open(opts Options) (*Monitor, error) {
	name := opts.Source
	if name == "" {
		name = "kernel"
		ctl := opts.UdevControl
		if ctl == "" {
			ctl = "/run/udev/control"
		}
		if _, err := os.Stat(ctl); err == nil {
			name = "udev"
		}
	}
	if name != "udev" && name != "kernel" {
		return nil, fmt.Errorf("udev source %q: want udev or kernel", name)
	}
	limit := opts.QueueLimit
	if limit <= 0 {
		limit = 65536
	}
	u := &goudev.Udev{}
	mon := u.NewMonitorFromNetlink(name)
	if mon == nil {
		return nil, fmt.Errorf("open %s netlink monitor (needs root)", name)
	}
	for _, s := range append([]string{"usb", "block"}, NodeSubsystems...) {
		if err := mon.FilterAddMatchSubsystem(s); err != nil {
			return nil, fmt.Errorf("udev filter %s: %w", s, err)
		}
	}
	_ = mon.SetReceiveBufferSize(128 << 20) // best effort: needs CAP_NET_ADMIN

	ctx, cancel := context.WithCancel(context.Background())
	devs, errs, err := mon.DeviceChan(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("udev monitor: %w", err)
	}
	m := &Monitor{q: newQueue(limit), cancel: cancel, done: make(chan struct{}), name: name}
	// From here on every event is drained into the queue while the enumeration runs.
	go m.drain(devs, errs)

	var present []Event
	if !opts.NoEnumerate {
		present, err = enumerate(u)
		if err != nil {
			m.Close()
			return nil, err
		}
	}
	m.q.pushFront(append(present, Event{Action: ActionSettled, Received: time.Now()}))
	return m, nil
}

func (m *Monitor) drain(devs <-chan *goudev.Device, errs <-chan error) {
	defer close(m.done)
	for {
		select {
		case d, ok := <-devs:
			if !ok {
				m.q.close(nil)
				return
			}
			if d == nil {
				continue
			}
			if e, ok := toEvent(d, false); ok {
				m.q.push(e)
			}
		case err, ok := <-errs:
			if ok && err != nil {
				m.q.close(fmt.Errorf("udev monitor: %w", err))
				m.cancel()
				// keep draining devs so the libudev goroutine can exit
				for range devs {
				}
				return
			}
			errs = nil
		}
	}
}

// enumerate lists the usb and block devices present: USB devices first (hubs before
// what hangs off them), then block devices (disks before their partitions).
func enumerate(u *goudev.Udev) ([]Event, error) {
	var out []Event
	for _, sub := range []string{"usb", "block"} {
		en := u.NewEnumerate()
		if en == nil {
			return nil, errors.New("udev enumerate: out of memory")
		}
		if err := en.AddMatchSubsystem(sub); err != nil {
			return nil, fmt.Errorf("udev enumerate %s: %w", sub, err)
		}
		devs, err := en.Devices()
		if err != nil {
			return nil, fmt.Errorf("udev enumerate %s: %w", sub, err)
		}
		var group []Event
		for _, d := range devs {
			if e, ok := toEvent(d, true); ok {
				group = append(group, e)
			}
		}
		slices.SortStableFunc(group, func(a, b Event) int {
			switch {
			case a.DevPath < b.DevPath:
				return -1
			case a.DevPath > b.DevPath:
				return 1
			}
			return 0
		})
		out = append(out, group...)
	}
	return out, nil
}

const maxProperties = 256

func toEvent(d *goudev.Device, enumerated bool) (Event, bool) {
	e := Event{
		Seq:        d.Seqnum(),
		Action:     d.Action(),
		DevPath:    cleanPath(d.Devpath()),
		Subsystem:  d.Subsystem(),
		DevType:    d.Devtype(),
		SysName:    d.Sysname(),
		DevNode:    d.Devnode(),
		Enumerated: enumerated,
		Received:   time.Now(),
	}
	if enumerated {
		e.Action, e.Seq = ActionAdd, 0
	}
	if e.DevPath == "" || !Interesting(e.Subsystem) {
		return e, false
	}
	props := d.Properties()
	if len(props) <= maxProperties {
		e.Properties = props
	}
	return e, true
}

// Receive returns the next event in order.
func (m *Monitor) Receive(ctx context.Context) (Event, error) { return m.q.receive(ctx) }

// Close stops the monitor. It waits for the libudev goroutine, which notices
// cancellation within about a second.
func (m *Monitor) Close() error {
	m.cancel()
	m.q.close(nil)
	select {
	case <-m.done:
	case <-time.After(3 * time.Second):
	}
	return nil
}
