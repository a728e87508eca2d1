package sysfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Entry is one device listed from sysfs: its kernel name and its devpath (the path
// below the sysfs root, starting with /devices/).
type Entry struct {
	Name    string
	DevPath string
}

// Disks lists the whole block devices (no partitions) that are not virtual, sorted by
// name, from <sys>/class/block. A missing class directory gives no disks and no error;
// entries that vanish or point outside <sys>/devices are skipped.
func Disks(sys string) ([]Entry, error) {
	root, names, err := list(sys, filepath.Join("class", "block"))
	if err != nil || names == nil {
		return nil, err
	}
	var out []Entry
	for _, n := range names {
		if IsVirtualBlock(n) {
			continue
		}
		p, ok := resolve(root, filepath.Join(root, "class", "block", n))
		if !ok {
			continue
		}
		if Exists(filepath.Join(root, p, "partition")) {
			continue
		}
		out = append(out, Entry{Name: n, DevPath: p})
	}
	return out, nil
}

// USBDevices lists the USB devices (no interfaces, no root hubs), sorted by name, from
// <sys>/bus/usb/devices.
func USBDevices(sys string) ([]Entry, error) {
	root, names, err := list(sys, filepath.Join("bus", "usb", "devices"))
	if err != nil || names == nil {
		return nil, err
	}
	var out []Entry
	for _, n := range names {
		if strings.Contains(n, ":") || strings.HasPrefix(n, "usb") {
			continue
		}
		if p, ok := resolve(root, filepath.Join(root, "bus", "usb", "devices", n)); ok {
			out = append(out, Entry{Name: n, DevPath: p})
		}
	}
	return out, nil
}

// DisksUnder lists the devpaths of the whole disks below a device (a USB device:
// …/host0/target0:0:0/0:0:0:0/block/sda), not following symbolic links.
func DisksUnder(sys, devpath string) []string {
	return findUnder(sys, devpath, 8, func(p string) bool {
		return filepath.Base(filepath.Dir(p)) == "block" // its partitions belong to it
	})
}

// UnitsUnder lists the devpaths of the SCSI devices (logical units, named
// host:channel:target:lun, such as 0:0:0:1) below a device, sorted. A USB mass-storage
// device has one per LUN, whether or not a disk driver has announced a block device
// for it yet.
func UnitsUnder(sys, devpath string) []string {
	return findUnder(sys, devpath, 6, func(p string) bool {
		// its block devices and attributes belong to it
		return isSCSIAddress(filepath.Base(p)) && strings.HasPrefix(filepath.Base(filepath.Dir(p)), "target")
	})
}

// DisksAndUnitsUnder is DisksUnder and UnitsUnder in one walk of the tree below a
// device: what the daemon looks at behind every USB device it decides.
func DisksAndUnitsUnder(sys, devpath string) (disks, units []string) {
	unitDepth, diskDepth := 6, 8
	root, err := Root(sys)
	if err != nil {
		return nil, nil
	}
	base := filepath.Join(root, devpath)
	walkDirs(base, diskDepth, func(p string, depth int) bool {
		parent := filepath.Base(filepath.Dir(p))
		if parent == "block" {
			disks = append(disks, strings.TrimPrefix(p, root))
			return false // its partitions belong to it
		}
		if depth <= unitDepth && isSCSIAddress(filepath.Base(p)) && strings.HasPrefix(parent, "target") {
			units = append(units, strings.TrimPrefix(p, root)) // its disk is below it
		}
		return true
	})
	return disks, units
}

// findUnder walks the directories below sys/devpath, at most depth levels down and
// without following symbolic links, and lists the devpaths of those match accepts,
// in walk (sorted) order, not looking inside them.
func findUnder(sys, devpath string, depth int, match func(p string) bool) []string {
	root, err := Root(sys)
	if err != nil {
		return nil
	}
	var out []string
	base := filepath.Join(root, devpath)
	walkDirs(base, depth, func(p string, _ int) bool {
		if match(p) {
			out = append(out, strings.TrimPrefix(p, root))
			return false
		}
		return true
	})
	return out
}

// noDevicesIn tells the directories of a device that hold attributes, never another
// device: its power management and, for a USB device or interface, its endpoints. The
// walks below a USB device skip them (most of its directories are these).
func noDevicesIn(name string) bool {
	return name == "power" || strings.HasPrefix(name, "ep_")
}

// isSCSIAddress reports whether name is four colon-separated decimal numbers.
func isSCSIAddress(name string) bool {
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 20 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// BlockNode is the block device behind a device number.
type BlockNode struct {
	DevPath   string // of the node itself (disk or partition)
	Name      string // its kernel name
	Disk      string // devpath of the whole disk
	Partition string // kernel name of the partition, "" for a whole disk
}

// BlockByDevnum finds the block device with the device number "major:minor" through
// <sys>/dev/block. ok is false when sysfs has no such device.
func BlockByDevnum(sys, majmin string) (BlockNode, bool) {
	root, err := Root(sys)
	if err != nil {
		return BlockNode{}, false
	}
	p, ok := resolve(root, filepath.Join(root, "dev", "block", majmin))
	if !ok {
		return BlockNode{}, false
	}
	n := BlockNode{DevPath: p, Name: filepath.Base(p), Disk: p}
	if Exists(filepath.Join(root, p, "partition")) {
		n.Disk, n.Partition = filepath.Dir(p), n.Name
	}
	return n, true
}

// list returns the resolved sysfs root and the sorted names in one of its directories
// (nil when the directory does not exist).
func list(sys, dir string) (string, []string, error) {
	root, err := Root(sys)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("sysfs root %s: %w", sys, err)
	}
	ents, err := os.ReadDir(filepath.Join(root, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return root, nil, nil
	}
	if err != nil {
		return root, nil, fmt.Errorf("list %s: %w", filepath.Join(sys, dir), err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return root, names, nil
}

// resolve follows a sysfs link and returns the devpath it names, if it is below
// <root>/devices.
func resolve(root, link string) (string, bool) {
	abs, err := filepath.EvalSymlinks(link)
	if err != nil || !strings.HasPrefix(abs, root+"/devices/") {
		return "", false
	}
	return strings.TrimPrefix(abs, root), true
}
