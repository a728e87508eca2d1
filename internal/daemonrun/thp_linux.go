package daemonrun

import "golang.org/x/sys/unix"

// disableHugePages keeps the kernel from backing the daemon's memory with transparent
// huge pages (PR_SET_THP_DISABLE: for the whole process, and kept across exec, so also
// for the full binary mediagated hands over to). Where the kernel's policy is
// "always" (Debian's), the first touch of a 2 MiB-aligned stretch of the Go heap's
// reservation makes a whole 2 MiB page resident: in the test guest 6 MiB of huge pages
// held a heap of 2.6 MiB (docs/performance.md, "Memory"). A heap of a few MiB gains
// nothing from huge pages.
func disableHugePages() error { return unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0) }

// hugePagesDisabled reports whether the process has them disabled.
func hugePagesDisabled() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_THP_DISABLE, 0, 0, 0, 0)
	return v == 1, err
}
