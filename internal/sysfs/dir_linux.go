//go:build linux

package sysfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirHandle is an O_PATH directory descriptor; attributes are opened relative to it
// (openat), so they are the attributes of the directory that was opened, wherever the
// path points now.
type dirHandle struct {
	fd int
	// The attribute kept open (Dir.Keep): its name, its descriptor when kopen, whether
	// it was opened for writing too, and whether its last read ended in a newline. The
	// zero value keeps nothing open.
	keep              string
	kfd               int
	kopen, kw, kendNL bool
	// later holds the descriptors of the last attributes read through the handle, to
	// be closed with it: on a device's decision path their closes then come after the
	// decision is carried out and its row written, not before (docs/performance.md).
	// The zero value holds none.
	later  [6]int
	nlater int
}

func openDirHandle(path string) (dirHandle, error) {
	fd, err := rawOpenat(unix.AT_FDCWD, path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err != nil {
		return dirHandle{fd: -1}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return dirHandle{fd: fd}, nil
}

// keepOpen opens the kept attribute once, for reading and writing where it may be
// written, else for reading.
func (h *dirHandle) keepOpen() error {
	if h.kopen {
		return nil
	}
	fd, err := rawOpenat(h.fd, h.keep, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err == unix.EACCES || err == unix.EPERM || err == unix.EROFS {
		fd, err = rawOpenat(h.fd, h.keep, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
		h.kw = false
	} else {
		h.kw = true
	}
	if err != nil {
		return &os.PathError{Op: "openat", Path: h.keep, Err: err}
	}
	h.kfd, h.kopen = fd, true
	return nil
}

// read reads an attribute with raw system calls (raw_linux.go): openat, read until a short read
// (sysfs hands out a text attribute whole in its first read, and a binary one such as
// descriptors up to its size), close. It is on the decision path of every USB device,
// where each system call counts (docs/performance.md).
func (h *dirHandle) read(name string, limit int64) ([]byte, error) {
	if h.fd < 0 {
		return nil, os.ErrClosed
	}
	if h.keep != "" && name == h.keep {
		return h.readKept(limit)
	}
	fd, err := rawOpenat(h.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	b, err := (&dirHandle{fd: fd}).readOpen(name, limit)
	h.closeLater(fd)
	return b, err
}

// closeLater closes fd with the handle, or now when the handle holds as many as it
// keeps.
func (h *dirHandle) closeLater(fd int) {
	if h.nlater == len(h.later) {
		rawClose(fd)
		return
	}
	h.later[h.nlater] = fd
	h.nlater++
}

// readOpen reads the open file h until a short read (sysfs hands out a text attribute
// whole in its first read, and a binary one such as descriptors up to its size; a
// regular file reads short only at its end), refusing more than limit bytes.
func (h *dirHandle) readOpen(name string, limit int64) ([]byte, error) {
	// Into a recycled buffer first: nearly every attribute and udev entry fits, and only
	// the bytes read are kept. A longer file goes on in a buffer of its own.
	sp := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sp)
	buf := sp[:]
	n := 0
	for {
		if n == len(buf) {
			if int64(n) > limit {
				return nil, fmt.Errorf("%s: %w (limit %d bytes)", name, ErrTooLarge, limit)
			}
			grown := make([]byte, n, min(2*int64(n), limit+1))
			copy(grown, buf)
			buf = grown[:cap(grown)]
		}
		m, err := rawRead(h.fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: name, Err: err}
		}
		n += m
		if m == 0 || n < len(buf) {
			break // end of file, or a short read: nothing more
		}
	}
	if int64(n) > limit {
		return nil, fmt.Errorf("%s: %w (limit %d bytes)", name, ErrTooLarge, limit)
	}
	if &buf[0] == &sp[0] {
		return append([]byte(nil), buf[:n]...), nil
	}
	return buf[:n], nil
}

// readKept reads the kept attribute from its start with one pread: sysfs shows an
// attribute afresh at every read from offset 0.
func (h *dirHandle) readKept(limit int64) ([]byte, error) {
	if err := h.keepOpen(); err != nil {
		return nil, err
	}
	sp := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sp)
	buf := sp[:min(limit+1, int64(len(sp)))]
	for {
		n, err := rawPread(h.kfd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "pread", Path: h.keep, Err: err}
		}
		if int64(n) > limit || n == len(buf) {
			return nil, fmt.Errorf("%s: %w (limit %d bytes)", h.keep, ErrTooLarge, limit)
		}
		h.kendNL = n > 0 && buf[n-1] == '\n'
		return append([]byte(nil), buf[:n]...), nil
	}
}

// writeKept writes value to the kept attribute, open for writing, at offset 0 with one
// pwrite, with a newline when its last read ended in one (as `echo` writes it; sysfs
// takes both), so that a regular file standing in for it (the tests' trees) reads back
// whole, as it did when written through O_TRUNC.
func (h *dirHandle) writeKept(value string) error {
	b := []byte(value)
	if h.kendNL && !strings.HasSuffix(value, "\n") {
		b = append(b, '\n')
	}
	for {
		n, err := rawPwrite(h.kfd, b, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "pwrite", Path: h.keep, Err: err}
		}
		if n != len(b) {
			return &os.PathError{Op: "pwrite", Path: h.keep, Err: io.ErrShortWrite}
		}
		return nil
	}
}

// scratch is the buffer an attribute is read into; scratchPool recycles them.
type scratch [8192]byte

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// write writes value to an attribute with raw system calls (openat, write, close): the
// authorized write of every allowed USB device.
func (h *dirHandle) write(name, value string) error {
	if h.fd < 0 {
		return os.ErrClosed
	}
	if h.keep != "" && name == h.keep {
		if err := h.keepOpen(); err != nil {
			return err
		}
		if h.kw {
			return h.writeKept(value)
		}
	}
	fd, err := rawOpenat(h.fd, name, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "openat", Path: name, Err: err}
	}
	b := []byte(value)
	for len(b) > 0 {
		n, err := rawWrite(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			rawClose(fd)
			return &os.PathError{Op: "write", Path: name, Err: err}
		}
		if n == 0 {
			rawClose(fd)
			return &os.PathError{Op: "write", Path: name, Err: io.ErrShortWrite}
		}
		b = b[n:]
	}
	if err := rawClose(fd); err != nil {
		return &os.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

func (h *dirHandle) exists(name string) bool {
	if h.fd < 0 {
		return false
	}
	var st unix.Stat_t
	return rawFstatat(h.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func (h *dirHandle) close() error {
	h.closeKept()
	for _, fd := range h.later[:h.nlater] {
		rawClose(fd)
	}
	h.nlater = 0
	if h.fd < 0 {
		return nil
	}
	err := rawClose(h.fd)
	h.fd = -1
	return err
}

// setKeep names the attribute to keep open; one at a time: naming another closes the
// one kept before.
func (h *dirHandle) setKeep(name string) {
	if name != h.keep {
		h.closeKept()
	}
	h.keep = name
}

func (h *dirHandle) closeKept() {
	if h.kopen {
		rawClose(h.kfd)
		h.kopen = false
	}
}

// gone marks the errors of a device that went away: ENOENT and ENODEV through a held
// directory, or a directory that was removed.
func gone(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
		return errors.Join(ErrGone, err)
	}
	return err
}

// noSymlinks reports whether p exists and no component of it is a symbolic link
// (openNoLinks).
func noSymlinks(p string) bool {
	fd, ok := openNoLinks(p, unix.O_PATH|unix.O_CLOEXEC)
	if ok {
		rawClose(fd)
	}
	return ok
}

// openNoLinks opens p with flags if p exists and no component of it is a symbolic
// link: one openat2 with RESOLVE_NO_SYMLINKS. Where openat2 is refused — systemd's
// RestrictSUIDSGID= (mediagate.service) makes it fail with ENOSYS, since a seccomp
// filter cannot look into its flags — p is opened and the kernel's name for what was
// opened (/proc/self/fd) compared with p: any link on the way would have changed it.
func openNoLinks(p string, flags int) (int, bool) {
	if !noOpenat2.Load() {
		fd, err := rawOpenat2(unix.AT_FDCWD, p, &unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == nil {
			return fd, true
		}
		if err != unix.ENOSYS && err != unix.EPERM {
			return -1, false // a link on the way, or p missing
		}
		noOpenat2.Store(true)
	}
	return openedAs(p, flags)
}

// noOpenat2 is set once openat2 was refused (seccomp, or a kernel before 5.6).
var noOpenat2 atomic.Bool

// openedAs opens p with flags and keeps it open if the kernel names what it reached p
// (its /proc/self/fd link). A missing /proc, a deleted file or a link on the way all
// say no.
func openedAs(p string, flags int) (int, bool) {
	fd, err := rawOpenat(unix.AT_FDCWD, p, flags)
	if err != nil {
		return -1, false
	}
	var buf [unix.PathMax]byte
	n, err := rawReadlink("/proc/self/fd/"+strconv.Itoa(fd), buf[:])
	if err != nil || n >= len(buf) || string(buf[:n]) != filepath.Clean(p) {
		rawClose(fd)
		return -1, false
	}
	return fd, true
}

// openDirNoLinks opens the directory p as a held directory if no component of p is
// a symbolic link (openNoLinks).
func openDirNoLinks(p string) (dirHandle, bool) {
	fd, ok := openNoLinks(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if !ok {
		return dirHandle{fd: -1}, false
	}
	return dirHandle{fd: fd}, true
}

// ReadFileCapped reads a whole file with raw system calls (open, read, close: no
// poller registration, no growing buffer), refusing more than limit bytes with
// ErrTooLarge. It reads sysfs attributes and udev database entries on the decision
// path of every device (docs/performance.md).
func ReadFileCapped(path string, limit int64) ([]byte, error) {
	fd, err := rawOpenat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer rawClose(fd)
	h := dirHandle{fd: fd}
	return h.readOpen(path, limit)
}

// Exists reports whether p names a file, not following a final symbolic link (lstat,
// made raw: it tests attributes on the decision path).
func Exists(p string) bool {
	var st unix.Stat_t
	return rawFstatat(unix.AT_FDCWD, p, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}
