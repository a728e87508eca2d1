//go:build linux

package registry

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readHead reads the first len(b) bytes of a file, or fewer when it is shorter, not
// following a final symbolic link. The daemon reads the WAL index header so before
// each event's first register read, so the calls are raw (unix.RawSyscall): made the
// ordinary way, the first of them would wake the Go runtime's monitor thread on every
// event (internal/sysfs/raw_linux.go says why that costs). The -shm file is one that
// SQLite keeps mapped, so the calls wait for nothing.
func readHead(path string, b []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	cwd := unix.AT_FDCWD
	fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(p)),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	defer unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}
