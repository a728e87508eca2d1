package sysfs

import "strings"

// VirtualBlockPrefixes are the kernel name prefixes of block devices that are no
// media: loop, RAM disks, zram, device-mapper, md RAID, network block devices and
// ZFS volumes. rules/71-mediagate.rules lists the same names (a test keeps them in
// step).
var VirtualBlockPrefixes = []string{"loop", "ram", "zram", "dm-", "md", "nbd", "zd"}

// IsVirtualBlock reports whether a block device's kernel name is one of a virtual
// device (see VirtualBlockPrefixes).
func IsVirtualBlock(name string) bool {
	for _, p := range VirtualBlockPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// UdevKernelMatch is the udev KERNEL== pattern matching the virtual block devices,
// as the rules file writes it: "loop*|ram*|…".
func UdevKernelMatch() string {
	parts := make([]string, len(VirtualBlockPrefixes))
	for i, p := range VirtualBlockPrefixes {
		parts[i] = p + "*"
	}
	return strings.Join(parts, "|")
}
