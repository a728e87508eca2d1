//go:build linux && cgo

package udev

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestOpenEnumerates runs the real libudev source; it needs root (netlink) and a sysfs.
func TestOpenEnumerates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the netlink monitor")
	}
	m, err := Open(Options{Source: "kernel"})
	if err != nil {
		t.Skipf("no udev monitor here: %v", err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	for {
		e, err := m.Receive(ctx)
		if err != nil {
			break
		}
		if !e.Enumerated {
			if e.Action != ActionSettled {
				t.Errorf("the enumeration ended with %+v, not with a settled event", e)
			}
			break
		}
		if !Interesting(e.Subsystem) || e.Action != ActionAdd || e.DevPath == "" {
			t.Fatalf("enumerated %+v", e)
		}
		n++
	}
	t.Logf("enumerated %d usb/block devices through the %s source", n, m.Name())
}
