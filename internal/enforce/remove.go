package enforce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"mediagate/internal/sysfs"
)

// Removing a blocked disk from the system. Which way depends on what the disk sits on:
//
//   - a SCSI device (SATA, SAS, eSATA, USB mass storage, virtio-scsi): device/delete;
//   - an MMC/SD card: the card is unbound from its driver;
//   - a virtio-blk disk: its virtio device is unbound from virtio_blk, else its PCI
//     function is unbound from its driver, else the function is removed;
//   - an NVMe namespace (PCI, Thunderbolt, multipath): the controller's PCI function is
//     unbound from the nvme driver, else removed.
//
// A step counts only when the disk is then gone from sysfs. A PCI function is never
// unbound or removed while it carries any other disk than the one being removed (such
// as a second namespace, or the system disk): ErrSharedDevice, or ErrSystemDisk when
// that other disk holds a mounted system file system.

// ErrSharedDevice is returned when removing a disk would take other disks with it.
var ErrSharedDevice = errors.New("refusing to remove a device that also carries other disks")

// DetachError is Detach's error when the disk was not removed (or refused): Done lists
// the steps that did succeed, as audit actions ("read-only", "unmounted").
type DetachError struct {
	Disk string
	Done []string
	Err  error
}

func (e *DetachError) Error() string {
	done := "nothing done"
	if len(e.Done) > 0 {
		done = "done: " + strings.Join(e.Done, ", ")
	}
	return fmt.Sprintf("detach %s failed (%s): %v", e.Disk, done, e.Err)
}

func (e *DetachError) Unwrap() error { return e.Err }

// DetachActions turns the result of Detach into audit actions: "detached" when it
// succeeded, else only the steps that succeeded before or despite the failure.
func DetachActions(err error) []string {
	if err == nil {
		return []string{"detached"}
	}
	var de *DetachError
	if errors.As(err, &de) {
		return slices.Clone(de.Done)
	}
	return nil
}

// systemMounts are the mount points of the system itself: a disk that holds one of them
// (directly or through device-mapper or md) is never detached.
var systemMounts = []string{"/", "/boot", "/boot/efi", "/efi", "/etc", "/home", "/opt", "/root", "/srv",
	"/tmp", "/usr", "/usr/local", "/var", "/var/lib", "/var/log", "/var/tmp"}

// stacked returns the block devices stacked on ns (device-mapper, md, bcache: the
// holders/ directories), transitively.
func (e *Enforcer) stacked(ns []blockNode) []blockNode {
	root, err := sysfs.Root(e.cfg.Sys)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []blockNode
	queue := ns
	for depth := 0; depth < 8 && len(queue) > 0; depth++ {
		var next []blockNode
		for _, n := range queue {
			ents, _ := os.ReadDir(filepath.Join(n.dir, "holders"))
			for _, ent := range ents {
				abs, err := filepath.EvalSymlinks(filepath.Join(n.dir, "holders", ent.Name()))
				if err != nil || seen[abs] || !strings.HasPrefix(abs, root+"/devices/") {
					continue
				}
				seen[abs] = true
				h := e.blockNode(abs)
				out = append(out, h)
				next = append(next, h)
			}
		}
		queue = next
	}
	return out
}

// systemUse tells whether any of ns (with what is stacked on them) holds a mounted
// system file system or active swap, and which.
func (e *Enforcer) systemUse(ns []blockNode) (string, bool, error) {
	all := append(slices.Clone(ns), e.stacked(ns)...)
	targets, err := e.mountsOf(all)
	for _, m := range targets {
		if slices.Contains(systemMounts, m) {
			return "mounted on " + m, true, err
		}
	}
	for _, s := range e.swaps() {
		for _, n := range all {
			if s == n.name {
				return "swap on " + s, true, err
			}
		}
	}
	return "", false, err
}

// swaps returns the kernel names of the block devices used as swap.
func (e *Enforcer) swaps() []string {
	if e.cfg.Swaps == "" {
		return nil
	}
	f, err := os.Open(e.cfg.Swaps)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[1] == "partition" {
			out = append(out, filepath.Base(sysfs.UnescapeMount(fields[0])))
		}
	}
	return out
}

// write writes a sysfs attribute through the ops (the kernel, or a test's fake).
func (e *Enforcer) write(path, value string) error { return e.ops.Write(path, value) }

// gone waits (up to the settle time) for a sysfs directory to disappear.
func (e *Enforcer) gone(dir string) bool {
	deadline := time.Now().Add(e.settle)
	for {
		if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removal is one way of removing a disk.
type removal struct {
	how string
	do  func() error
}

// remove takes the disk out of the system by the first way that works and returns how.
func (e *Enforcer) remove(disk blockNode) (string, error) {
	ways, err := e.removals(disk)
	if err != nil {
		return "", err
	}
	if len(ways) == 0 {
		return "", fmt.Errorf("no way to remove %s: not a SCSI, MMC, virtio or NVMe disk", disk.name)
	}
	var errs []error
	for _, w := range ways {
		if err := w.do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.how, err))
			continue
		}
		if !e.gone(disk.dir) {
			errs = append(errs, fmt.Errorf("%s: %s is still there", w.how, disk.name))
			continue
		}
		e.log.Warn("removed a blocked disk from the system", "disk", disk.name, "how", w.how)
		return w.how, nil
	}
	return "", errors.Join(errs...)
}

// removals lists the ways to remove the disk, most precise first.
func (e *Enforcer) removals(disk blockNode) ([]removal, error) {
	root, err := sysfs.Root(e.cfg.Sys)
	if err != nil {
		return nil, fmt.Errorf("sysfs root: %w", err)
	}
	if del := filepath.Join(disk.dir, "device", "delete"); exists(del) {
		return []removal{{"SCSI delete", func() error { return e.write(del, "1") }}}, nil
	}
	for dir := filepath.Dir(disk.dir); strings.HasPrefix(dir, root+"/devices/"); dir = filepath.Dir(dir) {
		if exists(filepath.Join(dir, "cid")) && exists(filepath.Join(dir, "driver", "unbind")) {
			return []removal{unbind(e, dir)}, nil
		}
	}
	var ways []removal
	parent := filepath.Dir(filepath.Dir(disk.dir)) // …/virtio3 of …/virtio3/block/vdb
	if filepath.Base(filepath.Dir(disk.dir)) == "block" && subsystem(parent) == "virtio" &&
		exists(filepath.Join(parent, "driver", "unbind")) {
		// The virtio device carries exactly this disk: unbinding it is the precise way.
		ways = append(ways, unbind(e, parent))
	}
	fns, err := e.pciFunctions(root, disk)
	if err != nil {
		return nil, err
	}
	if len(fns) > 0 {
		if err := e.carriesOnly(fns, disk); err != nil {
			if len(ways) > 0 {
				// The precise way needs no PCI function; try it alone.
				e.log.Warn("PCI function not removable", "disk", disk.name, "err", err)
				return ways, nil
			}
			return nil, err
		}
		names := make([]string, len(fns))
		for i, fn := range fns {
			names[i] = filepath.Base(fn)
		}
		if slices.ContainsFunc(fns, func(fn string) bool { return exists(filepath.Join(fn, "driver", "unbind")) }) {
			ways = append(ways, removal{"unbind PCI function " + strings.Join(names, ", ") + " from its driver", func() error {
				var errs []error
				for _, fn := range fns {
					if exists(filepath.Join(fn, "driver", "unbind")) {
						errs = append(errs, e.write(filepath.Join(fn, "driver", "unbind"), filepath.Base(fn)))
					}
				}
				return errors.Join(errs...)
			}})
		}
		ways = append(ways, removal{"remove PCI function " + strings.Join(names, ", "), func() error {
			var errs []error
			for _, fn := range fns {
				if exists(fn) {
					errs = append(errs, e.write(filepath.Join(fn, "remove"), "1"))
				}
			}
			return errors.Join(errs...)
		}})
	}
	return ways, nil
}

// unbind is the removal that unbinds the device at dir from its driver.
func unbind(e *Enforcer, dir string) removal {
	drv := "its driver"
	if d, err := os.Readlink(filepath.Join(dir, "driver")); err == nil {
		drv = filepath.Base(d)
	}
	return removal{"unbind " + filepath.Base(dir) + " from " + drv, func() error {
		return e.write(filepath.Join(dir, "driver", "unbind"), filepath.Base(dir))
	}}
}

// subsystem returns the name of the bus or class of the device at dir ("" if none).
func subsystem(dir string) string {
	l, err := os.Readlink(filepath.Join(dir, "subsystem"))
	if err != nil {
		return ""
	}
	return filepath.Base(l)
}

var (
	nvmeCtrl = regexp.MustCompile(`^nvme[0-9]+$`)
	nvmePath = regexp.MustCompile(`^nvme([0-9]+)c[0-9]+n([0-9]+)$`)
)

// pciFunctions returns the PCI functions whose removal removes the disk, when the disk
// sits directly on them: …/<fn>/virtioN/block/vdX, …/<fn>/nvme/nvmeN/nvmeNnM, or an NVMe
// multipath namespace (/devices/virtual/nvme-subsystem/nvme-subsysN/nvmeNnM) through its
// controllers. Disks behind anything else (USB, SCSI hosts, MMC) get none: removing
// their PCI function (a USB or SATA controller) would take other devices with it.
func (e *Enforcer) pciFunctions(root string, disk blockNode) ([]string, error) {
	dir := disk.dir
	up := func(n int) string {
		d := dir
		for range n {
			d = filepath.Dir(d)
		}
		return d
	}
	// …/<fn>/virtioN/block/vdX
	if filepath.Base(up(1)) == "block" && subsystem(up(2)) == "virtio" && subsystem(up(3)) == "pci" {
		return []string{up(3)}, nil
	}
	// …/<fn>/nvme/nvmeN/nvmeNnM
	if nvmeCtrl.MatchString(filepath.Base(up(1))) && filepath.Base(up(2)) == "nvme" && subsystem(up(3)) == "pci" {
		return []string{up(3)}, nil
	}
	// /devices/virtual/nvme-subsystem/nvme-subsysN/nvmeNnM: every controller's function.
	if filepath.Base(up(2)) == "nvme-subsystem" {
		ents, err := os.ReadDir(up(1))
		if err != nil {
			return nil, err
		}
		var fns []string
		for _, ent := range ents {
			if !nvmeCtrl.MatchString(ent.Name()) {
				continue
			}
			ctrl, err := filepath.EvalSymlinks(filepath.Join(up(1), ent.Name()))
			if err != nil || !strings.HasPrefix(ctrl, root+"/devices/") {
				continue
			}
			fn := filepath.Dir(filepath.Dir(ctrl))
			if filepath.Base(filepath.Dir(ctrl)) == "nvme" && subsystem(fn) == "pci" && !slices.Contains(fns, fn) {
				fns = append(fns, fn)
			}
		}
		if len(fns) == 0 {
			return nil, fmt.Errorf("NVMe namespace %s: no controller on a PCI function found", disk.name)
		}
		return fns, nil
	}
	return nil, nil
}

// carriesOnly checks that the PCI functions carry no disk but the given one (NVMe
// multipath path devices nvmeAcBnC count as their namespace nvmeAnC; for a multipath
// namespace, the other namespaces of its subsystem count too).
func (e *Enforcer) carriesOnly(fns []string, disk blockNode) error {
	var others []string
	add := func(name string) {
		if m := nvmePath.FindStringSubmatch(name); m != nil {
			name = "nvme" + m[1] + "n" + m[2]
		}
		if name != disk.name && !slices.Contains(others, name) {
			others = append(others, name)
		}
	}
	var dirs []string
	for _, fn := range fns {
		found, err := disksBelow(fn)
		if err != nil {
			return fmt.Errorf("PCI function %s: %w", filepath.Base(fn), err)
		}
		dirs = append(dirs, found...)
	}
	if filepath.Base(filepath.Dir(filepath.Dir(disk.dir))) == "nvme-subsystem" {
		found, _ := disksBelow(filepath.Dir(disk.dir))
		dirs = append(dirs, found...)
	}
	for _, d := range dirs {
		add(filepath.Base(d))
	}
	if len(others) == 0 {
		return nil
	}
	slices.Sort(others)
	var ns []blockNode
	for _, d := range dirs {
		if slices.Contains(others, filepath.Base(d)) {
			ns = append(ns, e.blockNode(d))
		}
	}
	if what, sys, _ := e.systemUse(ns); sys {
		return fmt.Errorf("%w: the PCI function of %s also carries %s (%s)", ErrSystemDisk, disk.name, strings.Join(others, ", "), what)
	}
	return fmt.Errorf("%w: the PCI function of %s also carries %s", ErrSharedDevice, disk.name, strings.Join(others, ", "))
}

// disksBelow lists the whole disks in the sysfs subtree at dir (symbolic links are not
// followed).
func disksBelow(dir string) ([]string, error) {
	var out []string
	base := strings.Count(dir, "/")
	err := filepath.WalkDir(dir, func(p string, ent os.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if !ent.IsDir() {
			return nil
		}
		if strings.Count(p, "/")-base > 12 {
			return filepath.SkipDir
		}
		if p != dir && exists(filepath.Join(p, "dev")) && !exists(filepath.Join(p, "partition")) &&
			(filepath.Base(filepath.Dir(p)) == "block" || subsystem(p) == "block") {
			out = append(out, p)
			return filepath.SkipDir // its partitions
		}
		return nil
	})
	return out, err
}
