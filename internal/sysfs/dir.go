package sysfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Dir is one device's directory in sysfs, opened once and held: every attribute read
// or written through it belongs to the device that was there when it was opened. When
// the device goes away, its directory goes with it and reads and writes through Dir
// fail, even if another device appears at the same path. It is how mediagate writes
// authorized=1 to exactly the USB device it read (see USBStamp).
type Dir struct {
	path string // resolved path, for messages
	h    dirHandle
}

// ErrTooLarge is returned (wrapped) for a file longer than the limit it was read with.
var ErrTooLarge = errors.New("input too large")

// ErrGone is returned (wrapped) when a held directory's device is no longer there.
var ErrGone = errors.New("device directory is gone")

// OpenDir opens the directory of the device at devpath (/devices/…) below the sysfs
// root sys. Symbolic links are followed only within sysfs.
func OpenDir(sys, devpath string) (*Dir, error) {
	if !strings.HasPrefix(devpath, "/devices/") || strings.ContainsRune(devpath, 0) {
		return nil, fmt.Errorf("open %q: not a device path", devpath)
	}
	root, err := Root(sys)
	if err != nil {
		return nil, fmt.Errorf("sysfs root %s: %w", sys, err)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Clean(devpath)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w: %w", devpath, ErrGone, err)
		}
		return nil, fmt.Errorf("open %s: %w", devpath, err)
	}
	if !strings.HasPrefix(p, root+"/devices/") {
		return nil, fmt.Errorf("open %q: not a device below %s", devpath, sys)
	}
	h, err := openDirHandle(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, gone(err))
	}
	return &Dir{path: p, h: h}, nil
}

// OpenResolvedDir is OpenDir for abs, a directory already resolved (no symbolic
// links, filepath.EvalSymlinks) below root, itself resolved: the caller just did what
// OpenDir would do again, a stat of every component (identity.ReadDeviceHeld on the
// decision path of every USB device).
func OpenResolvedDir(root, abs string) (*Dir, error) {
	if !strings.HasPrefix(abs, root+"/devices/") || filepath.Clean(abs) != abs || strings.ContainsRune(abs, 0) {
		return nil, fmt.Errorf("open %q: not a device below %s", abs, root)
	}
	h, err := openDirHandle(abs)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", abs, gone(err))
	}
	return &Dir{path: abs, h: h}, nil
}

// OpenDirNoLinks opens the device directory p, an absolute clean path below root
// (resolved, as for OpenResolvedDir) with no symbolic link in it — what every device
// path below /sys/devices is — in one step where RealPath and OpenResolvedDir take
// two: the open itself confirms that no component is a link. ok is false, with
// nothing opened, when it cannot be confirmed so (a link on the way, p missing or not
// a directory, off Linux): the caller then resolves the path and opens it the long
// way, which reports why.
func OpenDirNoLinks(root, p string) (d *Dir, ok bool) {
	if !strings.HasPrefix(p, root+"/devices/") || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
		return nil, false
	}
	h, ok := openDirNoLinks(p)
	if !ok {
		return nil, false
	}
	return &Dir{path: p, h: h}, true
}

// Path is the directory's path as it was opened.
func (d *Dir) Path() string { return d.path }

// ReadFile reads the attribute name (a plain file name in the directory), refusing
// more than limit bytes.
func (d *Dir) ReadFile(name string, limit int64) ([]byte, error) {
	if !plainName(name) {
		return nil, fmt.Errorf("read %q in %s: not a file name", name, d.path)
	}
	b, err := d.h.read(name, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", d.path, name, gone(err))
	}
	return b, nil
}

// WriteFile writes value to the attribute name, which must exist.
func (d *Dir) WriteFile(name, value string) error {
	if !plainName(name) {
		return fmt.Errorf("write %q in %s: not a file name", name, d.path)
	}
	if err := d.h.write(name, value); err != nil {
		return fmt.Errorf("write %s/%s: %w", d.path, name, gone(err))
	}
	return nil
}

// Keep keeps the text attribute name (at most a page, as sysfs shows one) open from
// its next read or write until Close or the next Keep: each later read of it is then
// one system call (pread at offset 0: sysfs shows an attribute afresh at every read
// from its start) and each write one (pwrite), where each is otherwise three (openat,
// read or write, close). The decision path keeps a USB device's authorized
// attribute so, which it reads, reads again before writing and writes. It is opened
// for reading and writing where that is allowed, else for reading; the held file is
// the attribute of this directory's device, like every other access through Dir.
func (d *Dir) Keep(name string) {
	if plainName(name) {
		d.h.setKeep(name)
	}
}

// Exists reports whether the directory has an entry name.
func (d *Dir) Exists(name string) bool { return plainName(name) && d.h.exists(name) }

// Close releases the directory; a nil Dir or a second Close does nothing.
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	return d.h.close()
}

func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// USBStamp tells one USB device from another that takes its place at the same port
// and sysfs path: the bus and device numbers (the device number is new for every
// enumeration) and a SHA-256 of its raw descriptors.
type USBStamp struct {
	Busnum, Devnum string
	Descriptors    [sha256.Size]byte
}

// MaxDescriptors caps the descriptors file read for a stamp.
const MaxDescriptors = 64 << 10

// MakeUSBStamp builds the stamp of what was read: the busnum and devnum attributes
// (white space trimmed) and the raw descriptors.
func MakeUSBStamp(busnum, devnum string, descriptors []byte) USBStamp {
	return USBStamp{Busnum: strings.TrimSpace(busnum), Devnum: strings.TrimSpace(devnum), Descriptors: sha256.Sum256(descriptors)}
}

// IsZero reports whether the stamp is unset (nothing was read).
func (s USBStamp) IsZero() bool { return s == USBStamp{} }

// USBStamp reads the stamp of the USB device through the held directory.
func (d *Dir) USBStamp() (USBStamp, error) {
	var vals [2]string
	for i, name := range []string{"busnum", "devnum"} {
		b, err := d.ReadFile(name, 64)
		if err != nil {
			return USBStamp{}, err
		}
		vals[i] = string(bytes.TrimSpace(b))
	}
	desc, err := d.ReadFile("descriptors", MaxDescriptors)
	if err != nil {
		return USBStamp{}, err
	}
	if int64(len(desc)) > MaxDescriptors {
		return USBStamp{}, fmt.Errorf("read %s/descriptors: more than %d bytes", d.path, MaxDescriptors)
	}
	if vals[0] == "" || vals[1] == "" {
		return USBStamp{}, fmt.Errorf("%s: no bus or device number", d.path)
	}
	return MakeUSBStamp(vals[0], vals[1], desc), nil
}
