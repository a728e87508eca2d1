//go:build linux

package sysfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnderlyingRealDeviceMapper builds dm-linear over a loop device and walks the
// real /sys from the dm device down. The bottom is the loop device (virtual, so Under
// is empty); the point is the kernel's own slaves/ links. It needs root, losetup,
// dmsetup and device-mapper in the running kernel, and skips with the reason otherwise.
func TestUnderlyingRealDeviceMapper(t *testing.T) {
	if os.Getenv("MEDIAGATE_ROOT_TESTS") != "1" || os.Geteuid() != 0 {
		t.Skip("device-mapper test skipped: set MEDIAGATE_ROOT_TESTS=1 as root")
	}
	for _, tool := range []string{"losetup", "dmsetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if out, err := exec.Command("dmsetup", "version").CombinedOutput(); err != nil {
		t.Skipf("device-mapper not available in this kernel: %s", strings.TrimSpace(string(out)))
	}
	img := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(img, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() })
	name := "mediagate-test-" + filepath.Base(t.TempDir())
	table := "0 16384 linear " + loop + " 0"
	if out, err := exec.Command("dmsetup", "create", name, "--table", table).CombinedOutput(); err != nil {
		t.Skipf("dmsetup create: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("dmsetup", "remove", "--retry", name).Run() })
	dm, err := filepath.EvalSymlinks("/sys/block/" + dmName(t, name))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Underlying("/sys", strings.TrimPrefix(dm, "/sys"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Via) != 2 || st.Via[0] != filepath.Base(dm) || st.Via[1] != filepath.Base(loop) || len(st.Under) != 0 {
		t.Errorf("stack of %s over %s: %+v", filepath.Base(dm), loop, st)
	}
}

// dmName is the kernel name (dm-N) of a device-mapper device.
func dmName(t *testing.T, name string) string {
	out, err := exec.Command("dmsetup", "info", "-c", "--noheadings", "-o", "blkdevname", name).Output()
	if err != nil {
		t.Fatalf("dmsetup info: %v", err)
	}
	return strings.TrimSpace(string(out))
}
