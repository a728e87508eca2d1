// Package sysfs holds the low-level facts about Linux block and USB devices that the
// daemon, identity, enforce and mountwatch share: where the system's roots are
// (Paths), which block devices are virtual and never media, how the kernel escapes
// mount points in mountinfo, and how sysfs lists disks and USB devices. It imports
// only the standard library; every function takes its root, nothing reads /sys,
// /proc or /dev unless told to.
package sysfs
