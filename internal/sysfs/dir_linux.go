//go:build linux

package sysfs

import (
	"errors"
	"io"
	"os"

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

func (h *dirHandle) read(name string, limit int64) ([]byte, error) {
	f, err := h.openat(name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("attribute too large")
	}
	return b, nil
}

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
