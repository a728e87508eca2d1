package enforce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mediagate/internal/sysfs"
)

// Config holds the roots the Enforcer works under.
type Config struct {
	Sys       string // sysfs, normally /sys
	Dev       string // device nodes, normally /dev
	Mountinfo string // normally /proc/self/mountinfo
	Swaps     string // active swap, normally /proc/swaps ("": none known)
	RunDir    string // markers for the udev rules, normally /run/mediagate/allow
}

// DefaultConfig returns the roots of a running Linux system.
func DefaultConfig() Config { return ConfigFrom(sysfs.DefaultPaths()) }

// ConfigFrom returns the roots below the given paths.
func ConfigFrom(p sysfs.Paths) Config {
	return Config{Sys: p.Sys, Dev: p.Dev, Mountinfo: p.SelfMountinfo(), Swaps: filepath.Join(p.Proc, "swaps"), RunDir: p.AllowDir()}
}

// Target is one whole block device.
type Target struct {
	SysPath string // devpath of the whole disk below the sysfs root: /devices/…/block/sdb
	DevNode string // its device node, such as /dev/sdb
}

// Ops are the operations that need a real kernel; tests replace them.
type Ops struct {
	SetReadOnly func(devnode string) error // BLKROSET 1
	// Eject unlocks an optical drive's door and ejects the disc: CDROM_LOCKDOOR 0 and
	// CDROMEJECT, and when the kernel refuses that (another opener, a locked door) the
	// SCSI commands ALLOW MEDIUM REMOVAL and START STOP UNIT straight to the drive.
	Eject func(devnode string) error
	// MediumPresent tells whether a disc is in the drive (CDROM_DRIVE_STATUS); a drive
	// that cannot tell counts as holding one.
	MediumPresent func(devnode string) (bool, error)
	Unmount       func(target string) error // lazy unmount
	// Write writes a sysfs attribute that removes a device (device/delete, driver/unbind,
	// remove); tests give a fake that also plays the kernel's part.
	Write func(path, value string) error
}

// Enforcer writes decisions to sysfs and block devices.
type Enforcer struct {
	cfg    Config
	ops    Ops
	log    *slog.Logger
	settle time.Duration // how long a removed disk may take to leave sysfs
	// ejectWait bounds how long Eject keeps trying to get a disc out.
	ejectWait time.Duration
	sleep     func(time.Duration)
}

// New returns an Enforcer; zero fields of ops get the real Linux operations.
func New(cfg Config, ops Ops, log *slog.Logger) *Enforcer {
	real := linuxOps()
	if ops.SetReadOnly == nil {
		ops.SetReadOnly = real.SetReadOnly
	}
	if ops.Eject == nil {
		ops.Eject = real.Eject
	}
	if ops.MediumPresent == nil {
		ops.MediumPresent = real.MediumPresent
	}
	if ops.Unmount == nil {
		ops.Unmount = real.Unmount
	}
	if ops.Write == nil {
		ops.Write = writeAttr
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Enforcer{cfg: cfg, ops: ops, log: log.With("component", "enforce"), settle: 2 * time.Second,
		ejectWait: 10 * time.Second, sleep: time.Sleep}
}

// ErrBadPath is returned for a devpath that does not name a device below the sysfs root.
var ErrBadPath = errors.New("not a device path below the sysfs root")

// devDir resolves a devpath to its directory below cfg.Sys/devices, following symbolic
// links only within sysfs.
func (e *Enforcer) devDir(devpath string) (string, error) {
	if !strings.HasPrefix(devpath, "/devices/") || strings.ContainsRune(devpath, 0) {
		return "", fmt.Errorf("%w: %q", ErrBadPath, devpath)
	}
	root, err := sysfs.Root(e.cfg.Sys)
	if err != nil {
		return "", fmt.Errorf("sysfs root: %w", err)
	}
	dir, err := sysfs.RealPath(filepath.Join(root, filepath.Clean(devpath)))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(dir, root+"/devices/") {
		return "", fmt.Errorf("%w: %q", ErrBadPath, devpath)
	}
	return dir, nil
}

// writeAttr writes value to a sysfs attribute that must already exist.
func writeAttr(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readAttr(path string) string {
	b, err := sysfs.ReadFileCapped(path, 256)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// LockUSBDefault writes authorized_default=0 on every USB root hub and returns the
// hubs it wrote. A host without USB has none and gets no error.
func (e *Enforcer) LockUSBDefault() ([]string, error) {
	hubs, err := filepath.Glob(filepath.Join(e.cfg.Sys, "bus", "usb", "devices", "usb*", "authorized_default"))
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for _, p := range hubs {
		if readAttr(p) == "0" {
			done = append(done, filepath.Base(filepath.Dir(p)))
			continue
		}
		if err := writeAttr(p, "0"); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, filepath.Base(filepath.Dir(p)))
	}
	if len(done) > 0 {
		e.log.Info("new USB devices stay unauthorized until decided", "root_hubs", done)
	}
	return done, errors.Join(errs...)
}

// AuthorizeUSB writes authorized=1 (on) or 0 to the USB device at devpath, unless it
// already has that value; changed tells whether it wrote. Deauthorizing unbinds every
// interface, which removes the device's block devices and network interfaces. It
// writes to whatever device is at devpath now: the daemon uses it only to deauthorize
// and authorizes with AuthorizeExact.
func (e *Enforcer) AuthorizeUSB(devpath string, on bool) (changed bool, err error) {
	dir, err := e.devDir(devpath)
	if err != nil {
		return false, err
	}
	p := filepath.Join(dir, "authorized")
	want := "0"
	if on {
		want = "1"
	}
	if readAttr(p) == want {
		return false, nil
	}
	if err := writeAttr(p, want); err != nil {
		return false, err
	}
	return true, nil
}

// USBDevice names exactly one USB device: the one whose attributes were read to decide
// it. Dir is its sysfs directory held open since then (identity.ReadDeviceHeld), or nil
// to open it now; Stamp is what was read (bus and device number, descriptors).
type USBDevice struct {
	DevPath string
	Dir     *sysfs.Dir
	Stamp   sysfs.USBStamp
}

// ErrDeviceChanged is returned by AuthorizeExact when the device that was read is no
// longer the one at its place: it went away, or another device now answers there. The
// caller decides again from a fresh read.
var ErrDeviceChanged = errors.New("the USB device is not the one that was read")

// ErrDeviceGone comes with ErrDeviceChanged when the device that was read can no longer
// be read at all (its directory or attributes are gone: it is being unplugged), as
// against another device that reads differently.
var ErrDeviceGone = errors.New("the USB device that was read is gone")

// AuthorizeExact writes authorized=1 (on) or 0 to exactly the device u names, unless it
// already has that value; changed tells whether it wrote. Through the held directory it
// first reads the device number again (through one opened now, the whole stamp), and
// writes only if it is the one that was read; the write itself goes through that
// directory too (openat), so it cannot reach a device that took the place in between.
// Anything else is ErrDeviceChanged. Without a stamp nothing is written.
func (e *Enforcer) AuthorizeExact(u USBDevice, on bool) (changed bool, err error) {
	if u.Stamp.IsZero() {
		return false, fmt.Errorf("authorize %s: no stamp of the device that was read", u.DevPath)
	}
	dir := u.Dir
	if dir == nil {
		d, err := sysfs.OpenDir(e.cfg.Sys, u.DevPath)
		if errors.Is(err, sysfs.ErrGone) {
			return false, fmt.Errorf("authorize %s: %w: %w: %w", u.DevPath, ErrDeviceChanged, ErrDeviceGone, err)
		}
		if err != nil {
			return false, fmt.Errorf("authorize %s: %w", u.DevPath, err)
		}
		defer d.Close()
		d.Keep("authorized") // read, then written: one open
		dir = d
	}
	if u.Dir != nil {
		// The directory held since the read is that device's own: when it goes, its
		// directory goes with it, and a new enumeration at the same place is a new
		// device with a new directory and a new device number. The number is checked.
		b, err := dir.ReadFile("devnum", 64)
		if err != nil {
			return false, fmt.Errorf("authorize %s: %w: %w: %w", u.DevPath, ErrDeviceChanged, ErrDeviceGone, err)
		}
		if now := strings.TrimSpace(string(b)); now != u.Stamp.Devnum {
			return false, fmt.Errorf("authorize %s: %w (device %s now, %s read)", u.DevPath, ErrDeviceChanged, now, u.Stamp.Devnum)
		}
	} else {
		now, err := dir.USBStamp()
		if err != nil {
			return false, fmt.Errorf("authorize %s: %w: %w: %w", u.DevPath, ErrDeviceChanged, ErrDeviceGone, err)
		}
		if now != u.Stamp {
			return false, fmt.Errorf("authorize %s: %w (bus %s device %s now, %s %s read)", u.DevPath, ErrDeviceChanged,
				now.Busnum, now.Devnum, u.Stamp.Busnum, u.Stamp.Devnum)
		}
	}
	want := "0"
	if on {
		want = "1"
	}
	if b, err := dir.ReadFile("authorized", 16); err == nil && strings.TrimSpace(string(b)) == want {
		return false, nil
	}
	if err := dir.WriteFile("authorized", want); err != nil {
		if errors.Is(err, sysfs.ErrGone) {
			return false, fmt.Errorf("authorize %s: %w: %w: %w", u.DevPath, ErrDeviceChanged, ErrDeviceGone, err)
		}
		return false, err
	}
	return true, nil
}

// USBAuthorized reads the authorized attribute of the USB device at devpath.
func (e *Enforcer) USBAuthorized(devpath string) (bool, error) {
	dir, err := e.devDir(devpath)
	if err != nil {
		return false, err
	}
	return readAttr(filepath.Join(dir, "authorized")) == "1", nil
}

// blockNode is a disk or partition: its sysfs directory, kernel name, node, dev number
// and the disk sequence number (DISKSEQ: new for every medium the kernel sees, also
// for a new disc or card under the same kernel name).
type blockNode struct {
	dir, name, node, majmin, diskseq string
}

// marker is the name of the allow marker the udev rule tests:
// /run/mediagate/allow/<kernel name>.<DISKSEQ>. Keyed on the disk sequence, a marker
// never lets through a different medium that later gets the same kernel name.
func (b blockNode) marker() string { return b.name + "." + b.diskseq }

// nodes returns the disk and its partitions.
func (e *Enforcer) nodes(t Target) ([]blockNode, error) {
	dir, err := e.devDir(t.SysPath)
	if err != nil {
		return nil, err
	}
	disk := e.blockNode(dir)
	if disk.node == "" {
		disk.node = t.DevNode
	}
	out := []blockNode{disk}
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		sub := filepath.Join(dir, ent.Name())
		if sysfs.Exists(filepath.Join(sub, "partition")) {
			out = append(out, e.blockNode(sub))
		}
	}
	return out, nil
}

func (e *Enforcer) blockNode(dir string) blockNode {
	b := blockNode{dir: dir, name: filepath.Base(dir), majmin: readAttr(filepath.Join(dir, "dev"))}
	f, err := os.Open(filepath.Join(dir, "uevent"))
	if err == nil {
		sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok && filepath.IsLocal(n) {
				b.node = filepath.Join(e.cfg.Dev, n)
				b.name = filepath.Base(n)
			}
			if n, ok := strings.CutPrefix(sc.Text(), "DISKSEQ="); ok && isDigits(n) {
				b.diskseq = n
			}
		}
		f.Close()
	}
	return b
}

// ReadOnly sets BLKROSET on the disk and each of its partitions, before anyone mounts
// them. Partitions that appear later need their own call (the daemon makes it on their
// add event).
func (e *Enforcer) ReadOnly(t Target) error {
	ns, err := e.nodes(t)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range ns {
		if n.node == "" {
			continue
		}
		if err := e.ops.SetReadOnly(n.node); err != nil {
			errs = append(errs, fmt.Errorf("read-only %s: %w", n.node, err))
		}
	}
	return errors.Join(errs...)
}

// ErrSystemDisk is returned by Detach for a disk that holds a mounted system file system
// or swap (also through device-mapper or md), or whose removal would take such a disk
// with it.
var ErrSystemDisk = errors.New("refusing to detach a disk that holds the system")

// mountsOf returns the mount points of every mount whose source is one of ns.
func (e *Enforcer) mountsOf(ns []blockNode) ([]string, error) {
	devs := map[string]bool{}
	for _, n := range ns {
		if n.majmin != "" {
			devs[n.majmin] = true
		}
	}
	f, err := os.Open(e.cfg.Mountinfo)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var targets []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && devs[fields[2]] {
			targets = append(targets, sysfs.UnescapeMount(fields[4]))
		}
	}
	return targets, sc.Err()
}

// unmountAll lazily unmounts every mount whose source is one of ns.
func (e *Enforcer) unmountAll(ns []blockNode) error {
	targets, err := e.mountsOf(ns)
	if err != nil {
		return err
	}
	return e.unmount(targets)
}

// unmount lazily unmounts the given mount points, innermost (last listed) first.
func (e *Enforcer) unmount(targets []string) error {
	var errs []error
	// innermost first
	for i := len(targets) - 1; i >= 0; i-- {
		if err := e.ops.Unmount(targets[i]); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", targets[i], err))
			continue
		}
		e.log.Warn("unmounted a blocked medium", "mountpoint", targets[i])
	}
	return errors.Join(errs...)
}

// Detach makes a block device unusable: read-only, everything mounted from it (and from
// device-mapper or md devices stacked on it) unmounted, then removed from the system so
// that no block device remains (see remove.go for how, per kind of disk). Every step is
// tried even when an earlier one failed. It returns nil only when the disk is gone;
// otherwise a *DetachError that says which steps did succeed (DetachActions).
//
// A disk holding a mounted system file system or swap is never touched (ErrSystemDisk):
// a baseline that missed it must not take the host down.
func (e *Enforcer) Detach(t Target) error {
	ns, err := e.nodes(t)
	if err != nil {
		return &DetachError{Disk: filepath.Base(t.SysPath), Err: err}
	}
	fail := func(done []string, err error) error { return &DetachError{Disk: ns[0].name, Done: done, Err: err} }
	what, sys, err := e.systemUse(ns)
	if sys {
		return fail(nil, fmt.Errorf("%s: %s: %w", t.SysPath, what, ErrSystemDisk))
	}
	if err != nil {
		// Without the mount table nothing tells that this is not the system disk.
		return fail(nil, fmt.Errorf("cannot tell whether %s holds the system: %w", t.SysPath, err))
	}
	all := append(slices.Clone(ns), e.stacked(ns)...)
	targets, mountsErr := e.mountsOf(all)
	var errs, roErrs []error
	var done []string
	for _, n := range all {
		if n.node != "" {
			if err := e.ops.SetReadOnly(n.node); err != nil {
				roErrs = append(roErrs, fmt.Errorf("read-only %s: %w", n.node, err))
			}
		}
	}
	if len(roErrs) == 0 {
		done = append(done, "read-only")
	}
	errs = append(errs, roErrs...)
	if mountsErr != nil {
		errs = append(errs, mountsErr)
	} else if err := e.unmount(targets); err != nil {
		errs = append(errs, err)
	} else if len(targets) > 0 {
		done = append(done, "unmounted")
	}
	e.forget(ns)
	if _, err := e.remove(ns[0]); err != nil {
		return fail(done, errors.Join(append(errs, err)...))
	}
	if len(errs) > 0 {
		// Removed, but something on the way failed (a mount that would not go): say both.
		return fail(append(done, "detached"), errors.Join(errs...))
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Release writes the allow markers of the disk and its partitions and asks udev to
// apply its rules again ("change"), so desktop automounters may now show it.
func (e *Enforcer) Release(t Target) error {
	ns, err := e.nodes(t)
	if err != nil {
		return err
	}
	if e.cfg.RunDir == "" {
		return nil
	}
	if err := os.MkdirAll(e.cfg.RunDir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, n := range ns {
		if err := os.WriteFile(filepath.Join(e.cfg.RunDir, n.marker()), []byte(n.majmin+"\n"), 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeAttr(filepath.Join(n.dir, "uevent"), "change"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Forget removes the allow markers of a kernel name, whatever their disk sequence (on
// remove, or when blocking).
func (e *Enforcer) Forget(name string) {
	if e.cfg.RunDir == "" || !filepath.IsLocal(name) || strings.ContainsAny(name, "/*?[\\") {
		return
	}
	old, _ := filepath.Glob(filepath.Join(e.cfg.RunDir, name+".*"))
	for _, m := range append(old, filepath.Join(e.cfg.RunDir, name)) {
		_ = os.Remove(m)
	}
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (e *Enforcer) forget(ns []blockNode) {
	for _, n := range ns {
		e.Forget(n.name)
	}
}

// ClearMarkers removes every allow marker (at start: nothing is allowed yet).
func (e *Enforcer) ClearMarkers() error {
	if e.cfg.RunDir == "" {
		return nil
	}
	ents, err := os.ReadDir(e.cfg.RunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, ent := range ents {
		_ = os.Remove(filepath.Join(e.cfg.RunDir, ent.Name()))
	}
	return err
}
