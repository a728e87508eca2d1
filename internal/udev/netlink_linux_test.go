//go:build linux

package udev

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestKernelGroupDeliversSyntheticUevent opens the real kernel source and asks the
// kernel for a synthetic "change" uevent of a loop device (writing to its uevent
// file): it must arrive, parsed, with the devpath and the synthetic UUID. Needs root
// and a writable sysfs with loop devices.
func TestKernelGroupDeliversSyntheticUevent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the netlink socket and the uevent file")
	}
	const dev = "/sys/block/loop7"
	target, err := os.Readlink(dev)
	if err != nil {
		t.Skipf("no %s here: %v", dev, err)
	}
	m, err := Open(Options{Source: "kernel", NoEnumerate: true})
	if err != nil {
		t.Skipf("no netlink uevent socket here: %v", err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e, err := m.Receive(ctx); err != nil || e.Action != ActionSettled {
		t.Fatalf("first event %+v, %v; want settled", e, err)
	}
	const uuid = "6f1c9a52-2f7e-4d4c-9a51-3c1b2f0e7d11"
	if err := os.WriteFile(dev+"/uevent", []byte("change "+uuid+" MEDIAGATE=1"), 0); err != nil {
		t.Skipf("cannot trigger a uevent here: %v", err)
	}
	for {
		e, err := m.Receive(ctx)
		if err != nil {
			t.Fatalf("no synthetic uevent: %v", err)
		}
		if e.Properties["SYNTH_UUID"] != uuid {
			continue // someone else's event
		}
		if e.Action != ActionChange || e.Subsystem != "block" || e.SysName != "loop7" || e.Seq == 0 ||
			e.DevNode != "/dev/loop7" || e.Properties["SYNTH_ARG_MEDIAGATE"] != "1" {
			t.Errorf("event %+v", e)
		}
		if want := target[len("../devices"):]; e.DevPath != "/devices"+want {
			t.Errorf("devpath %q, want /devices%s", e.DevPath, want)
		}
		return
	}
}

// TestCloseEndsReceive: Close wakes a Receive that waits, at once.
func TestCloseEndsReceive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the netlink socket")
	}
	m, err := Open(Options{Source: "kernel", NoEnumerate: true})
	if err != nil {
		t.Skipf("no netlink uevent socket here: %v", err)
	}
	m.Receive(context.Background()) // settled
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := m.Receive(context.Background()); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	m.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Errorf("Receive after Close: %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Receive still waiting after Close")
	}
}
