//go:build linux

package udev

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestOpenEnumerates runs the real source; it needs root (netlink) and a sysfs.
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

// Open enumerates the sysfs root and udev database it is given, not the system's.
func TestOpenEnumeratesItsRoots(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the netlink monitor")
	}
	sys, data := fakeTree(t)
	m, err := Open(Options{Source: "kernel", Sys: sys, UdevData: data})
	if err != nil {
		t.Skipf("no netlink monitor here: %v", err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var got []string
	for {
		e, err := m.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Enumerated {
			break
		}
		got = append(got, e.SysName)
	}
	if strings.Join(got, " ") != "usb2 2-1 2-1:1.0 sda sda1" {
		t.Errorf("enumerated %q, want the fake tree's five devices", got)
	}
}
