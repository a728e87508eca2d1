//go:build linux && cgo

package udev

import (
	"os"
	"slices"
	"testing"

	goudev "github.com/jochenvg/go-udev"
)

// The daemon's own binary enumerates the devices present without libudev; on this
// machine's sysfs both enumerations list the same devices, in the same order, with
// the same subsystem, type and node.
func TestEnumerationsAgree(t *testing.T) {
	if _, err := os.Stat("/sys/class/block"); err != nil {
		t.Skipf("no sysfs here (%v): nothing to enumerate", err)
	}
	type dev struct{ path, sub, typ, node string }
	list := func(evs []Event) []dev {
		var out []dev
		for _, e := range evs {
			out = append(out, dev{e.DevPath, e.Subsystem, e.DevType, e.DevNode})
		}
		return out
	}
	// Devices may come and go between the two reads (a hot-plug): try a few times.
	for try := 0; ; try++ {
		lib, err := enumerateLibudev(&goudev.Udev{})
		if err != nil {
			t.Fatal(err)
		}
		own, err := enumerate("/sys", "/run/udev/data")
		if err != nil {
			t.Fatal(err)
		}
		if len(lib) == 0 {
			t.Fatal("libudev lists no usb or block device on this machine")
		}
		if a, b := list(lib), list(own); slices.Equal(a, b) {
			return
		} else if try == 2 {
			t.Fatalf("libudev lists\n%v\nthe sysfs enumeration\n%v", a, b)
		}
	}
}
