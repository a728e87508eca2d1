//go:build linux && cgo

package udev

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goudev "github.com/jochenvg/go-udev"
)

// enumeratePresent lists the devices present at start. A build with cgo (the full
// mediagate binary) asks libudev, for the machine's own sysfs; the daemon's own binary
// (mediagated) is built without cgo and reads sysfs and udevd's database itself
// (enumerate), as does any build for another sysfs root. TestEnumerationsAgree holds
// the two to the same devices.
func enumeratePresent(sys, udevData string) ([]Event, error) {
	if sys != "/sys" || udevData != "/run/udev/data" {
		return enumerate(sys, udevData)
	}
	return enumerateLibudev(&goudev.Udev{})
}

// enumerateLibudev lists the usb and block devices present through libudev: USB
// devices first (hubs before what hangs off them), then block devices (disks before
// their partitions).
func enumerateLibudev(u *goudev.Udev) ([]Event, error) {
	var out []Event
	for _, sub := range enumerateSubsystems {
		en := u.NewEnumerate()
		if en == nil {
			return nil, errors.New("udev enumerate: out of memory")
		}
		if err := en.AddMatchSubsystem(sub.name); err != nil {
			return nil, fmt.Errorf("udev enumerate %s: %w", sub.name, err)
		}
		devs, err := en.Devices()
		if err != nil {
			return nil, fmt.Errorf("udev enumerate %s: %w", sub.name, err)
		}
		var group []Event
		for _, d := range devs {
			e := Event{
				Action:     ActionAdd,
				DevPath:    cleanPath(d.Devpath()),
				Subsystem:  d.Subsystem(),
				DevType:    d.Devtype(),
				SysName:    d.Sysname(),
				DevNode:    d.Devnode(),
				Enumerated: true,
				Received:   time.Now(),
			}
			if e.DevPath == "" || !Interesting(e.Subsystem) {
				continue
			}
			if props := d.Properties(); len(props) <= maxProperties {
				e.Properties = props
			}
			group = append(group, e)
		}
		slices.SortStableFunc(group, func(a, b Event) int { return strings.Compare(a.DevPath, b.DevPath) })
		out = append(out, group...)
	}
	return out, nil
}
