package e2e

import (
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// TestDaemonNoWriteDown: a confidential stick registered read-write is read-only on the
// secret guest host: the block device is read-only before anyone mounts it, a
// read-write mount comes out read-only or fails, and neither the file system nor the
// raw device can be written.
func TestDaemonNoWriteDown(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGWDOWN01", "confidential")
	v.PlugStick(t, "MGWDOWN01", testbed.Files{"low.txt": []byte("confidential\n")})
	if got := decided(t, g, "MGWDOWN01"); got != "read-only-below-host" {
		t.Errorf("reason = %q, want read-only-below-host", got)
	}
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGWDOWN01", "vfat"))
	g.WaitFor(t, 15*time.Second, "test \"$(blockdev --getro "+part+")\" = 1")
	res := g.Exec(t, "mkdir -p /mnt/wd && mount -o rw "+part+" /mnt/wd; findmnt -n -o OPTIONS /mnt/wd")
	t.Cleanup(func() { g.Exec(t, "umount /mnt/wd") })
	if opts := strings.TrimSpace(res.Stdout); opts != "" && !strings.HasPrefix(opts, "ro") {
		t.Fatalf("mount options %q, want ro or no mount:\n%s", opts, res)
	}
	if strings.TrimSpace(res.Stdout) != "" {
		if got := g.MustRun(t, "cat /mnt/wd/low.txt"); got != "confidential" {
			t.Errorf("content %q", got)
		}
		if res := g.Exec(t, "echo secret > /mnt/wd/leak.txt"); res.ExitCode == 0 {
			t.Error("wrote secret data down to a confidential stick")
		}
		if res := g.Exec(t, "mount -o remount,rw /mnt/wd && findmnt -n -o OPTIONS /mnt/wd | grep -q '^rw'"); res.ExitCode == 0 {
			t.Error("read-write remount of a lower-level stick succeeded")
		}
	}
	if res := g.Exec(t, "dd if=/dev/zero of="+part+" bs=512 count=1 oflag=direct"); res.ExitCode == 0 {
		t.Error("raw write to the lower-level stick succeeded")
	}
}

// TestDaemonNonBootHIDBlocked: on a classified host only boot-protocol keyboards and
// mice work; QEMU's usb-tablet (a HID without the boot protocol) stays unauthorized
// and gets no input device, a usb-kbd is authorized and becomes a keyboard.
func TestDaemonNonBootHIDBlocked(t *testing.T) {
	v, g := needDaemon(t)
	v.PlugHID(t, "usb-tablet", "MGTABLET1")
	v.PlugHID(t, "usb-kbd", "MGKBDBOOT1")
	if got := decided(t, g, "MGTABLET1"); got != "peripheral-not-allowed" {
		t.Errorf("usb-tablet reason = %q, want peripheral-not-allowed", got)
	}
	if got := authorized(t, g, "MGTABLET1"); got != "0" {
		t.Errorf("usb-tablet authorized = %q, want 0", got)
	}
	if got := decided(t, g, "MGKBDBOOT1"); got != "peripheral-allowed" {
		t.Errorf("usb-kbd reason = %q, want peripheral-allowed", got)
	}
	if got := authorized(t, g, "MGKBDBOOT1"); got != "1" {
		t.Errorf("usb-kbd authorized = %q, want 1", got)
	}
	g.WaitFor(t, 30*time.Second, `for d in /sys/class/input/input*; do
	grep -q 'QEMU USB Keyboard' "$d/name" 2>/dev/null && exit 0
done; exit 1`)
	time.Sleep(2 * time.Second)
	if res := g.Exec(t, `grep -l 'QEMU USB Tablet' /sys/class/input/input*/name 2>/dev/null`); strings.TrimSpace(res.Stdout) != "" {
		t.Errorf("the blocked tablet is an input device: %s", res.Stdout)
	}
}
