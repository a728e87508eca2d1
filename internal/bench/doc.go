// Package bench measures mediagate against USBGuard in the QEMU test bed: the same plug
// plan against each daemon in one guest, kernel-side timestamps from ftrace kprobes
// (CLOCK_MONOTONIC), and the daemons' memory, CPU and context switches from /proc.
//
// The parsers (ftrace text, /proc/PID/stat and status), the attribution of trace events
// to plugs and the table are pure and unit-tested; the run itself (vm_test.go) boots the
// guest and needs MEDIAGATE_BENCH=1. scripts/bench-usbguard.sh is the one command;
// docs/performance.md keeps the latest table.
package bench
