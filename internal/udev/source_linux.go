//go:build linux

package udev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"mediagate/internal/sysfs"
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
	// Sys and UdevData are the sysfs root and udevd's database directory the
	// enumeration reads (default: sysfs.DefaultPaths()).
	Sys, UdevData string
	// Log receives what the source drops (messages it cannot parse, overflows).
	Log *slog.Logger
}

// Monitor is the netlink event source: USB devices from the kernel's own uevents,
// the rest from udevd's (or from the kernel's too when udevd does not run).
type Monitor struct {
	q       *queue
	name    string
	socks   []*nlSocket
	wg      sync.WaitGroup
	closing atomic.Bool
	log     *slog.Logger
}

// Name is the source in use: "kernel+udev" (USB devices from the kernel, block
// devices and nodes from udevd) or "kernel".
func (m *Monitor) Name() string { return m.name }

// rcvbuf is the receive buffer asked for each socket (an event storm is absorbed
// there; beyond it the loss turns into a rescan).
const rcvbuf = 32 << 20

// Open starts listening, enumerates the devices present and queues them ahead of the
// events that arrived meanwhile.
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
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{q: newQueue(limit), name: "kernel", log: log.With("component", "uevents")}
	ks, err := openNetlink(groupKernel, rcvbuf)
	if err != nil {
		return nil, err
	}
	m.socks = append(m.socks, ks)
	if name == "udev" {
		us, err := openNetlink(groupUdev, rcvbuf)
		if err != nil {
			ks.close()
			return nil, err
		}
		m.socks = append(m.socks, us)
		m.name = "kernel+udev"
		// udevd's events of other subsystems are dropped by the kernel, before they wake
		// the reader (as libudev's monitors do); without the filter the reader drops them.
		if err := us.filter(subsystemFilter(append([]string{"block"}, NodeSubsystems...))); err != nil {
			log.Warn("udev events: no socket filter; every event is read", "err", err)
		}
		// USB devices are decided from the kernel's event: their descriptors and
		// serial are in sysfs before udevd has run its rules (tens of ms later).
		m.kernelFilter(ks, []string{"usb"})
		m.start(ks, parseKernelMessage, func(sub string) bool { return sub == "usb" })
		m.start(us, parseUdevMessage, func(sub string) bool { return sub != "usb" && Interesting(sub) })
	} else {
		m.kernelFilter(ks, append([]string{"usb", "block"}, NodeSubsystems...))
		m.start(ks, parseKernelMessage, Interesting)
	}

	var present []Event
	if !opts.NoEnumerate {
		def := sysfs.DefaultPaths()
		sys, data := opts.Sys, opts.UdevData
		if sys == "" {
			sys = def.Sys
		}
		if data == "" {
			data = def.UdevData
		}
		present, err = enumeratePresent(sys, data)
		if err != nil {
			m.Close()
			return nil, err
		}
	}
	m.q.pushFront(append(present, Event{Action: ActionSettled, Received: time.Now()}))
	return m, nil
}

// kernelDropTypes are the device types whose kernel events the kernel's group filter
// drops although their subsystem is wanted: a USB interface's add, bind, unbind and
// remove (four events of every stick the daemon lets in) change nothing, since the
// decision is the usb_device's.
var kernelDropTypes = map[string]string{"usb": "usb_interface"}

// kernelFilter has the kernel drop its group's events of other subsystems before they
// wake the reader; without the filter the reader drops them.
// The longest scan the kernel accepts is attached (kernelScans).
func (m *Monitor) kernelFilter(s *nlSocket, subsystems []string) {
	var err error
	for _, scan := range kernelScans {
		if err = s.filter(kernelSubsystemFilter(subsystems, kernelDropTypes, scan)); err == nil {
			if scan < kernelScan {
				m.log.Info("kernel events: socket filter with a shorter scan", "scan_bytes", scan, "longest", kernelScan)
			}
			return
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	m.log.Warn("kernel events: no socket filter; every event is read", "err", err)
}

// start runs one reader: every message of a subsystem keep wants parsed, checked and
// queued in the order it arrived; the others dropped unparsed. A message lost
// (overflow, truncated, unparsable) becomes a rescan: nothing is decided on half an
// event, and nothing is missed.
func (m *Monitor) start(s *nlSocket, parse func([]byte) (Event, error), keep func(subsystem string) bool) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		buf := make([]byte, maxMessage+1)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
		for {
			n, err := s.read(buf, oob)
			switch {
			case err == nil:
			case errors.Is(err, errSender):
				m.log.Warn("uevent from an untrusted sender dropped", "group", s.group)
				continue
			case errors.Is(err, errOverflow), errors.Is(err, errTruncated):
				m.log.Warn("uevents lost; rescanning", "group", s.group, "err", err)
				m.q.lose()
				continue
			default:
				if !m.closing.Load() {
					m.q.close(fmt.Errorf("uevent netlink group %d: %w", s.group, err))
				}
				return
			}
			if sub, ok := messageSubsystem(s.group, buf[:n]); ok && !keep(sub) {
				continue
			}
			e, err := parse(buf[:n])
			if err != nil {
				m.log.Warn("unreadable uevent; rescanning", "group", s.group, "err", err)
				m.q.lose()
				continue
			}
			if keep(e.Subsystem) {
				m.q.push(e)
			}
		}
	}()
}

// Receive returns the next event in order.
func (m *Monitor) Receive(ctx context.Context) (Event, error) { return m.q.receive(ctx) }

// Queued is how many events wait to be received (Backlog).
func (m *Monitor) Queued() int { return m.q.queued() }

// Close stops the monitor: the sockets are closed, which ends their readers at once.
func (m *Monitor) Close() error {
	m.closing.Store(true)
	m.q.close(nil)
	for _, s := range m.socks {
		s.close()
	}
	m.wg.Wait()
	return nil
}
