//go:build linux

package registry

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// headFile reads the first bytes of one file (the register's -shm file), not following
// a final symbolic link, through a descriptor kept open between reads: a pread and an
// fstat each time, where opening, reading and closing it took three calls, the open's
// path walk most of it. The fstat sees a file no longer linked (removed, and perhaps
// created anew: SQLite removes the -shm file when the last connection to the register
// closes): it is then opened again by its path, so a read never comes from a file that
// is not the register's now. The daemon reads the WAL index header so before each
// event's first register read, so the calls are raw (unix.RawSyscall): made the
// ordinary way, the first of them would wake the Go runtime's monitor thread on every
// event (internal/sysfs/raw_linux.go says why that costs). The -shm file is one that
// SQLite keeps mapped, so the calls wait for nothing.
type headFile struct {
	mu   sync.Mutex
	path string
	fd   int
	open bool // fd is the file's descriptor
}

func newHeadFile(path string) *headFile { return &headFile{path: path, fd: -1} }

// read reads the first len(b) bytes, or fewer when the file is shorter.
func (h *headFile) read(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !h.open {
			p, err := unix.BytePtrFromString(h.path)
			if err != nil {
				return 0, err
			}
			cwd := unix.AT_FDCWD
			fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(p)),
				uintptr(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW), 0, 0, 0)
			if e != 0 {
				return 0, e
			}
			h.fd, h.open = int(fd), true
		}
		n, err := h.pread(b)
		if err != nil {
			h.closeLocked()
			return 0, err
		}
		var st unix.Stat_t
		if _, _, e := unix.RawSyscall(unix.SYS_FSTAT, uintptr(h.fd), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
			h.closeLocked()
			return 0, e
		}
		if st.Nlink > 0 {
			return n, nil
		}
		h.closeLocked() // removed since it was opened: open the one at the path now
		if attempt > 0 {
			return 0, unix.ENOENT
		}
	}
}

func (h *headFile) pread(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(h.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// close lets the descriptor go; a later read opens the file again.
func (h *headFile) close() {
	h.mu.Lock()
	h.closeLocked()
	h.mu.Unlock()
}

func (h *headFile) closeLocked() {
	if h.open {
		unix.RawSyscall(unix.SYS_CLOSE, uintptr(h.fd), 0, 0)
		h.fd, h.open = -1, false
	}
}
