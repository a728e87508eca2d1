//go:build linux && !cgo

package udev

// enumeratePresent lists the devices present at start from sysfs and udevd's database
// (enumerate): the daemon's own binary is built without cgo, so without libudev.
func enumeratePresent(sys, udevData string) ([]Event, error) { return enumerate(sys, udevData) }
