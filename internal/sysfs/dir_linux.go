//go:build linux

package sysfs

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// dirHandle is an O_PATH directory descriptor; attributes are opened relative to it
// (openat), so they are the attributes of the directory that was opened, wherever the
// path points now.
type dirHandle struct{ fd int }

func openDirHandle(path string) (dirHandle, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return dirHandle{fd: -1}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return dirHandle{fd: fd}, nil
}

func (h *dirHandle) openat(name string, flags int) (*os.File, error) {
	if h.fd < 0 {
		return nil, os.ErrClosed
	}
	fd, err := unix.Openat(h.fd, name, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// read reads an attribute with raw system calls: openat, read until a short read
// (sysfs hands out a text attribute whole in its first read, and a binary one such as
// descriptors up to its size), close. It is on the decision path of every USB device,
// where each system call counts (docs/performance.md).
func (h *dirHandle) read(name string, limit int64) ([]byte, error) {
	if h.fd < 0 {
		return nil, os.ErrClosed
	}
	fd, err := unix.Openat(h.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	defer unix.Close(fd)
	if limit < int64(len(scratch{})) {
		// Most attributes: read into a recycled buffer, keep only the bytes read.
		sp := scratchPool.Get().(*scratch)
		defer scratchPool.Put(sp)
		n := 0
		for {
			m, err := unix.Read(fd, sp[n:])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, &os.PathError{Op: "read", Path: name, Err: err}
			}
			n += m
			if m == 0 || n < len(sp) {
				break // end of file, or a short read: sysfs has nothing more
			}
		}
		if int64(n) > limit {
			return nil, errors.New("attribute too large")
		}
		return append([]byte(nil), sp[:n]...), nil
	}
	buf := make([]byte, min(limit+1, 4096))
	n := 0
	for {
		if n == len(buf) {
			if int64(n) > limit {
				return nil, errors.New("attribute too large")
			}
			buf = append(buf, make([]byte, min(int64(len(buf)), limit+1-int64(len(buf))))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: name, Err: err}
		}
		n += m
		if m == 0 || n < len(buf) {
			break // end of file, or a short read: sysfs has nothing more
		}
	}
	if int64(n) > limit {
		return nil, errors.New("attribute too large")
	}
	return buf[:n], nil
}

// scratch is the buffer an attribute is read into; scratchPool recycles them.
type scratch [8192]byte

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (h *dirHandle) write(name, value string) error {
	f, err := h.openat(name, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (h *dirHandle) exists(name string) bool {
	if h.fd < 0 {
		return false
	}
	var st unix.Stat_t
	return unix.Fstatat(h.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func (h *dirHandle) close() error {
	if h.fd < 0 {
		return nil
	}
	err := unix.Close(h.fd)
	h.fd = -1
	return err
}

// gone marks the errors of a device that went away: ENOENT and ENODEV through a held
// directory, or a directory that was removed.
func gone(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
		return errors.Join(ErrGone, err)
	}
	return err
}

// noSymlinks reports whether p exists and no component of it is a symbolic link.
func noSymlinks(p string) bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false // a link on the way, p missing, or no openat2 (before Linux 5.6)
	}
	unix.Close(fd)
	return true
}
