// Package udev is mediagate's source of device events: a small interface owned by its
// consumer (Source: Receive and Close), a fake for tests, and on Linux a netlink
// source with its own parsers of the kernel's and udevd's uevent messages, and the
// enumeration of the devices present: through libudev (github.com/jochenvg/go-udev,
// imported only here) in a build with cgo, and read from sysfs and udevd's database as
// libudev reads them (enumerate.go) in the daemon's own binary, which is built without
// cgo (one static binary: no libc, ld.so or libudev pages, no cgo threads). A test
// holds the two to the same devices. It is the one package that speaks to udev.
//
// The source takes USB devices from the kernel's uevent group (their descriptors are
// in sysfs before udevd has run its rules) and, when udevd runs, everything else from
// udevd's group (events that arrive after udev has applied its rules and filled its
// database); without udevd everything comes from the kernel's group. Both sockets are
// read through Go's poller: no timer wakes the process. At start it opens the sockets
// first, then enumerates the devices already
// present and hands them out as Enumerated "add" events, then the events that arrived
// meanwhile, each group's in the order it sent them (a USB device's kernel event comes
// before udevd's events of the disks behind it): no event is lost and none is applied
// out of order. One Settled event (no device) stands between the enumeration and the
// events that arrived meanwhile, so the consumer knows when it has seen every device
// present at start (the daemon reports readiness to systemd only then). A device seen both by the enumeration and by a queued event is handed
// out twice; consumers must be idempotent.
//
// One goroutine per socket reads messages into a bounded queue of our own. When the
// queue overflows (an event storm the consumer cannot keep up with), when the kernel
// drops messages (ENOBUFS) or when a message cannot be parsed, the queued events are
// dropped and one Rescan event is handed out instead: the consumer must then look at
// every present device again, which fails closed.
package udev
