package daemonrun

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

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

// RestartWithoutHugePages disables transparent huge pages for the process and, if they
// were on, executes the process's binary (os.Executable) again in its place (same process, arguments
// and environment), so that the new image runs without them from its first
// allocation: disableHugePages, called by Run, comes after the runtime and the
// packages' initialisation have touched the heap, and a huge page the kernel gave the
// process by then stays resident (in the test guest, up to 2 MiB more after start in
// some starts: docs/performance.md, "Soak"). The flag is kept across exec, so the new
// image finds it set and goes on. It returns only if no exec was needed or it failed.
func RestartWithoutHugePages(args, env []string) error {
	return restartWithoutHugePages(thpOps{get: hugePagesDisabled, set: disableHugePages, self: os.Executable, exec: syscall.Exec}, args, env)
}
