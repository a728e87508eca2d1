// Package udev is mediagate's source of device events: a small interface owned by its
// consumer (Source: Receive and Close), a fake for tests, and on Linux an adapter over
// libudev (github.com/jochenvg/go-udev), the only code in mediagate that imports it.
//
// The adapter listens on the "udev" netlink source when udevd runs (events arrive
// after udev has applied its rules and filled its database) and on the "kernel" source
// otherwise. At start it opens the monitor first, then enumerates the devices already
// present and hands them out as Enumerated "add" events, then the events that arrived
// meanwhile, in the order the kernel sent them: no event is lost and none is applied
// out of order. One Settled event (no device) stands between the enumeration and the
// events that arrived meanwhile, so the consumer knows when it has seen every device
// present at start (the daemon reports readiness to systemd only then). A device seen both by the enumeration and by a queued event is handed
// out twice; consumers must be idempotent.
//
// libudev's DeviceChan sends on an unbuffered channel and notices cancellation about
// once a second, so one goroutine drains it into a bounded queue of our own. When the
// queue overflows (an event storm the consumer cannot keep up with) the queued events
// are dropped and one Rescan event is handed out instead: the consumer must then look
// at every present device again, which fails closed.
package udev
