//go:build !linux

package sysfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// dirHandle without openat: attributes are opened by path (no protection against a
// device replaced at the same path; mediagate enforces only on Linux).
type dirHandle struct {
	path   string
	closed bool
}

func openDirHandle(path string) (dirHandle, error) {
	st, err := os.Stat(path)
	if err != nil {
		return dirHandle{}, err
	}
	if !st.IsDir() {
		return dirHandle{}, &os.PathError{Op: "open", Path: path, Err: errors.New("not a directory")}
	}
	return dirHandle{path: path}, nil
}

func (h *dirHandle) read(name string, limit int64) ([]byte, error) {
	if h.closed {
		return nil, os.ErrClosed
	}
	f, err := os.Open(filepath.Join(h.path, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s: %w (limit %d bytes)", name, ErrTooLarge, limit)
	}
	return b, err
}

// ReadFileCapped reads a whole file, refusing more than limit bytes with ErrTooLarge.
func ReadFileCapped(path string, limit int64) ([]byte, error) {
	h := dirHandle{path: filepath.Dir(path)}
	return h.read(filepath.Base(path), limit)
}

func (h *dirHandle) write(name, value string) error {
	if h.closed {
		return os.ErrClosed
	}
	f, err := os.OpenFile(filepath.Join(h.path, name), os.O_WRONLY|os.O_TRUNC, 0)
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
	_, err := os.Lstat(filepath.Join(h.path, name))
	return !h.closed && err == nil
}

// setKeep does nothing off Linux: attributes are opened by path every time.
func (h *dirHandle) setKeep(string) {}

func (h *dirHandle) close() error {
	h.closed = true
	return nil
}

func gone(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.Join(ErrGone, err)
	}
	return err
}

// openDirNoLinks is not done off Linux: the caller resolves the path.
func openDirNoLinks(string) (dirHandle, bool) { return dirHandle{}, false }

// noSymlinks is unknown off Linux: RealPath resolves every component.
func noSymlinks(string) bool { return false }

// Exists reports whether p names a file, not following a final symbolic link.
func Exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
