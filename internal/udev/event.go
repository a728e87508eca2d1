package udev

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// Actions of an Event. Add, Remove, Change, Bind, Unbind and Move are the kernel's;
// Rescan and Settled are ours (see the package documentation).
const (
	ActionAdd    = "add"
	ActionRemove = "remove"
	ActionChange = "change"
	ActionBind   = "bind"
	ActionUnbind = "unbind"
	ActionMove   = "move"
	ActionRescan = "rescan"
	// ActionSettled follows the last device of the enumeration at start (and comes
	// first when there is none): every device present at start was handed out
	// before it. It carries no device.
	ActionSettled = "settled"
)

// ErrClosed is returned by Receive after Close.
var ErrClosed = errors.New("event source closed")

// Event is one device event. Everything in it comes from the kernel or from udev and,
// through them, from the device: treat every string as hostile.
type Event struct {
	Seq        uint64            // kernel sequence number; 0 for enumerated devices and Rescan
	Action     string            // one of the Action constants
	DevPath    string            // "/devices/…", below the sysfs root
	Subsystem  string            // "usb", "block", …
	DevType    string            // "usb_device", "usb_interface", "disk", "partition", …
	SysName    string            // kernel name: "2-1", "sdb1"
	DevNode    string            // "/dev/sdb1" or ""
	Properties map[string]string // udev (or, on the kernel source, uevent) properties
	Enumerated bool              // from the enumeration at start, not from an event
	Received   time.Time         // when the source got it
}

// IsUSBDevice reports whether the event is about a whole USB device (not an interface).
func (e Event) IsUSBDevice() bool { return e.Subsystem == "usb" && e.DevType == "usb_device" }

// IsBlock reports whether the event is about a whole disk or a partition.
func (e Event) IsBlock() bool {
	return e.Subsystem == "block" && (e.DevType == "disk" || e.DevType == "partition")
}

// Source hands out device events in order. Receive blocks until an event arrives, ctx
// ends (ctx.Err()) or the source is closed (ErrClosed).
type Source interface {
	Receive(ctx context.Context) (Event, error)
	Close() error
}

// Backlog is a Source that tells how many events wait to be received. The daemon
// commits the audit rows of a burst of events together, once the backlog is empty.
type Backlog interface {
	Queued() int
}

// Interesting reports whether a subsystem is one mediagate decides about or watches:
// usb and block devices, and the nodes a driver creates for an allowed USB device
// (IsNode).
func Interesting(subsystem string) bool {
	return subsystem == "usb" || subsystem == "block" || IsNode(subsystem)
}

// NodeSubsystems are the subsystems of device nodes a driver creates for a USB
// device that can carry data or keystrokes past the decision on the device: network
// interfaces, serial ports and raw HID channels. The daemon checks each new one
// against the decision on its USB device.
var NodeSubsystems = []string{"net", "tty", "hidraw"}

// IsNode reports whether a subsystem is one of NodeSubsystems.
func IsNode(subsystem string) bool {
	for _, s := range NodeSubsystems {
		if s == subsystem {
			return true
		}
	}
	return false
}

// queue is an ordered, bounded, blocking queue of events shared by the fake and the
// libudev adapter.
type queue struct {
	mu       sync.Mutex
	items    []Event
	head     int
	limit    int
	closed   bool
	err      error // returned once the queue is empty and closed
	overflow bool
	notify   chan struct{} // closed and replaced whenever an item is added or the queue closes
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, notify: make(chan struct{})}
}

func (q *queue) wake() {
	close(q.notify)
	q.notify = make(chan struct{})
}

// push appends events in order; on overflow it drops everything queued and marks the
// queue so that the next Receive returns one Rescan.
func (q *queue) push(evs ...Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	for _, e := range evs {
		if q.limit > 0 && len(q.items)-q.head >= q.limit {
			q.items, q.head, q.overflow = q.items[:0], 0, true
			continue
		}
		if q.overflow {
			continue // a rescan is pending: it covers this event too
		}
		q.items = append(q.items, e)
	}
	q.wake()
}

// lose records that events were lost before reaching the queue (a netlink
// overflow): everything queued is dropped and the next Receive returns one Rescan.
func (q *queue) lose() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items, q.head, q.overflow = q.items[:0], 0, true
	q.wake()
}

// pushFront puts evs before everything queued (the enumeration, ahead of the events
// that arrived while it ran).
func (q *queue) pushFront(evs []Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	rest := q.items[q.head:]
	items := make([]Event, 0, len(evs)+len(rest))
	items = append(append(items, evs...), rest...)
	q.items, q.head = items, 0
	q.wake()
}

// queued is how many events wait (a pending rescan counts as one).
func (q *queue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items) - q.head
	if q.overflow {
		n++
	}
	return n
}

func (q *queue) close(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed, q.err = true, err
	q.wake()
}

func (q *queue) receive(ctx context.Context) (Event, error) {
	for {
		q.mu.Lock()
		if q.overflow {
			q.overflow = false
			q.mu.Unlock()
			return Event{Action: ActionRescan, Received: time.Now()}, nil
		}
		if q.head < len(q.items) {
			e := q.items[q.head]
			q.items[q.head] = Event{}
			q.head++
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			q.mu.Unlock()
			return e, nil
		}
		if q.closed {
			err := q.err
			q.mu.Unlock()
			if err == nil {
				err = ErrClosed
			}
			return Event{}, err
		}
		ch := q.notify
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// cleanPath keeps a devpath a devpath: "/devices/…", no "..", no NUL.
func cleanPath(p string) string {
	if !strings.HasPrefix(p, "/devices/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") ||
		strings.ContainsRune(p, 0) {
		return ""
	}
	return p
}
