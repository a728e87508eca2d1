package testbed

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// CommandTimeout bounds each MustRun/Exec; WaitFor has its own timeout.
var CommandTimeout = 90 * time.Second

// Exec runs script in the guest and returns what it did; it fails the test only when the
// command could not be run or timed out, not on a non-zero exit.
func (g *Guest) Exec(t testing.TB, script string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	res, err := g.Run(ctx, script)
	if err != nil {
		t.Fatalf("guest: %v\n%s", err, res)
	}
	return res
}

// MustRun runs script in the guest, fails the test unless it exits 0, and returns its
// stdout without surrounding white space.
func (g *Guest) MustRun(t testing.TB, script string) string {
	t.Helper()
	res := g.Exec(t, script)
	if res.ExitCode != 0 {
		t.Fatalf("guest command failed:\n%s", res)
	}
	return strings.TrimSpace(res.Stdout)
}

// WaitFor re-runs cond in the guest until it exits 0 and returns its stdout (trimmed);
// the test fails if that does not happen within timeout.
func (g *Guest) WaitFor(t testing.TB, timeout time.Duration, cond string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	res, err := g.Run(ctx, WaitScript(cond, timeout))
	if err != nil {
		t.Fatalf("guest: %v", err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest: waited %s in vain for:\n%s\n[exit %d]\n--- last stdout ---\n%s--- stderr ---\n%s",
			timeout, strings.TrimSpace(cond), res.ExitCode, res.Stdout, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

// Device is something hot-plugged into the VM.
type Device struct {
	ID     string // QEMU device id, for Unplug
	Serial string // USB serial the guest sees
	Image  string // host path of the backing image, if any
}

// PlugStick makes a 64 MiB vfat USB stick holding files, hot-plugs it with the given USB
// serial and returns it. It is unplugged when the test ends, unless already unplugged.
func (v *VM) PlugStick(t testing.TB, serial string, files Files) *Device {
	t.Helper()
	img := filepath.Join(t.TempDir(), "stick.img")
	if err := MakeStickImage(img, 64, "MGSTICK", files); err != nil {
		t.Fatalf("make stick image: %v", err)
	}
	return v.PlugStickImage(t, serial, img)
}

// PlugStickImage hot-plugs a USB stick with the given serial backed by an existing raw
// image (see MakeStickImage). It is unplugged when the test ends.
func (v *VM) PlugStickImage(t testing.TB, serial, img string) *Device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddStick(ctx, StickSpec{Serial: serial, Image: img})
	if err != nil {
		t.Fatalf("plug stick %q: %v", serial, err)
	}
	d := &Device{ID: id, Serial: serial, Image: img}
	v.unplugAtEnd(t, id)
	return d
}

// PlugPCIDisk makes a 64 MiB disk image with one vfat partition holding files and
// hot-plugs it as a virtio-blk PCI disk with the given serial (see AddPCIDisk). It is
// unplugged when the test ends; PCIe hot-unplug takes the guest about 5 seconds.
func (v *VM) PlugPCIDisk(t testing.TB, serial string, files Files) *Device {
	t.Helper()
	img := filepath.Join(t.TempDir(), "pcidisk.img")
	if err := MakeStickImage(img, 64, "MGPCI", files); err != nil {
		t.Fatalf("make disk image: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddPCIDisk(ctx, PCIDiskSpec{Serial: serial, Image: img})
	if err != nil {
		t.Fatalf("plug PCI disk %q: %v", serial, err)
	}
	v.unplugAtEnd(t, id)
	return &Device{ID: id, Serial: serial, Image: img}
}

// PlugCD makes an ISO 9660 image holding files and hot-plugs a USB CD drive with that
// disc and the given serial. It is unplugged when the test ends.
func (v *VM) PlugCD(t testing.TB, serial string, files Files) *Device {
	t.Helper()
	iso := filepath.Join(t.TempDir(), "disc.iso")
	if err := MakeISO(iso, "MGDISC", files); err != nil {
		t.Fatalf("make iso: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddCD(ctx, CDSpec{Serial: serial, ISO: iso})
	if err != nil {
		t.Fatalf("plug cd %q: %v", serial, err)
	}
	v.unplugAtEnd(t, id)
	return &Device{ID: id, Serial: serial, Image: iso}
}

// PlugMultiLUN makes one 64 MiB vfat stick image per file set and hot-plugs them as the
// logical units (LUN 0, 1, …) of one USB mass-storage device with the given serial. It
// is unplugged when the test ends.
func (v *VM) PlugMultiLUN(t testing.TB, serial string, luns ...Files) *Device {
	t.Helper()
	var imgs []string
	for i, files := range luns {
		img := filepath.Join(t.TempDir(), fmt.Sprintf("lun%d.img", i))
		if err := MakeStickImage(img, 64, fmt.Sprintf("MGLUN%d", i), files); err != nil {
			t.Fatalf("make stick image: %v", err)
		}
		imgs = append(imgs, img)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddMultiLUN(ctx, MultiLUNSpec{Serial: serial, Images: imgs})
	if err != nil {
		t.Fatalf("plug multi-LUN device %q: %v", serial, err)
	}
	v.unplugAtEnd(t, id)
	return &Device{ID: id, Serial: serial, Image: imgs[0]}
}

// PlugKeyboard hot-plugs a USB keyboard (usb-kbd). It is unplugged when the test ends.
func (v *VM) PlugKeyboard(t testing.TB) *Device {
	t.Helper()
	return v.plugUSB(t, "usb-kbd", nil)
}

// PlugHID hot-plugs a QEMU HID device ("usb-kbd", "usb-mouse": boot protocol;
// "usb-tablet": not) with the given serial, so scenarios can find it (all three are
// 0627:0001). It is unplugged when the test ends.
func (v *VM) PlugHID(t testing.TB, driver, serial string) *Device {
	t.Helper()
	return v.plugUSB(t, driver, map[string]any{"serial": serial})
}

// PlugNet hot-plugs a USB network card (usb-net) with no network behind it. It is
// unplugged when the test ends.
func (v *VM) PlugNet(t testing.TB) *Device {
	t.Helper()
	return v.plugUSB(t, "usb-net", nil)
}

func (v *VM) plugUSB(t testing.TB, driver string, props map[string]any) *Device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := v.AddUSB(ctx, driver, props)
	if err != nil {
		t.Fatalf("plug %s: %v", driver, err)
	}
	v.unplugAtEnd(t, id)
	d := &Device{ID: id}
	d.Serial, _ = props["serial"].(string)
	return d
}

func (v *VM) unplugAtEnd(t testing.TB, id string) {
	t.Cleanup(func() {
		if slices.Contains(v.Plugged(), id) {
			v.Unplug(t, id)
		}
	})
}

// Unplug removes a device and waits until QEMU reports it gone (DEVICE_DELETED).
func (v *VM) Unplug(t testing.TB, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := v.Remove(ctx, id); err != nil {
		t.Fatalf("unplug %s: %v", id, err)
	}
}

// Install copies a host file into the guest at guestPath with the given mode, through
// the share.
func (v *VM) Install(ctx context.Context, hostPath, guestPath string, mode os.FileMode) error {
	src, err := os.Open(hostPath)
	if err != nil {
		return err
	}
	defer src.Close()
	name := filepath.Base(hostPath)
	dst, err := os.Create(filepath.Join(v.ShareDir(), "bin", name))
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	res, err := v.guest.Run(ctx, fmt.Sprintf("install -D -m %o /share/bin/%s %s", mode, shellQuote(name), shellQuote(guestPath)))
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("install %s in the guest: %s", guestPath, res)
	}
	return nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
