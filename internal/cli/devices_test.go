package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/testbed"
)

func fixtureFlags(name string) []string {
	dir := filepath.Join("..", "..", "testdata", "devices", name)
	return []string{"--sysfs-root", filepath.Join(dir, "sys"), "--udev-root", filepath.Join(dir, "run", "udev", "data"), "--dev-root", filepath.Join(dir, "dev")}
}

func TestDevicesAndRegisterFromDevice(t *testing.T) {
	e := newEnv(t)
	e.setup()
	roots := fixtureFlags("qemu-usb-storage")
	var devs []AttachedDevice
	if err := json.Unmarshal([]byte(e.ok(append(roots, "devices", "--json")...)), &devs); err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].Ref != "/dev/sda" || devs[0].Identity.Key != "usb:46f4:0001:MEDIA0001" || devs[0].Registered != nil {
		t.Fatalf("devices = %+v", devs)
	}
	num := strings.TrimSpace(e.ok(append(roots, "media", "register", "--from-device", "/dev/sda", "--level", "secret", "--custodian", "lisi")...))
	if !strings.HasPrefix(num, "S-") {
		t.Fatalf("register --from-device printed %q", num)
	}
	var m struct {
		Identity struct {
			Key            string `json:"key"`
			Capacity       int64  `json:"capacity"`
			DescriptorHash string `json:"descriptor_hash"`
		} `json:"identity"`
	}
	json.Unmarshal([]byte(e.ok("--json", "media", "show", num)), &m)
	if m.Identity.Key != "usb:46f4:0001:MEDIA0001" || m.Identity.Capacity != 67108864 || len(m.Identity.DescriptorHash) != 64 {
		t.Errorf("registered identity = %+v", m.Identity)
	}
	devs = nil
	json.Unmarshal([]byte(e.ok(append(roots, "devices", "--json")...)), &devs)
	if len(devs) != 1 || devs[0].Registered == nil || devs[0].Registered.Number != num || devs[0].Mismatch != "" {
		t.Fatalf("devices after register = %+v", devs)
	}
	if out := e.ok(append(roots, "devices")...); !strings.Contains(out, num+" secret lisi active") {
		t.Errorf("devices table:\n%s", out)
	}
	// The same device cannot be registered twice.
	if _, errs, code := e.run(append(roots, "media", "register", "--from-device", "usb:2-1", "--level", "secret", "--custodian", "lisi")...); code != 1 || !strings.Contains(errs, "already registered") {
		t.Errorf("second registration: %d %q", code, errs)
	}
}

func TestRegisterFromDeviceRefusals(t *testing.T) {
	e := newEnv(t)
	e.setup()
	tests := []struct {
		fixture string
		args    []string
		code    int
		want    string
	}{
		{"usb-keyboard", []string{"--from-device", "usb:1-3"}, 1, "not a storage device"},
		{"qemu-usb-storage", []string{"--from-device", "/dev/sdz"}, 1, "no device /dev/sdz"},
		{"qemu-usb-storage", []string{"--from-device", "/dev/sda", "--serial", "X"}, 2, "leave out --serial"},
		{"qemu-usb-storage", []string{"--from-device", "/dev/sda", "--kind", "optical-disc"}, 1, "is a usb-disk medium"},
		{"usb-dvd-blank", []string{"--from-device", "/dev/sr0"}, 1, "blank disc"},
	}
	for _, tt := range tests {
		args := append(fixtureFlags(tt.fixture), "media", "register")
		args = append(args, tt.args...)
		args = append(args, "--level", "secret", "--custodian", "lisi")
		before := e.rows()
		_, errs, code := e.run(args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%s %v: exit %d, %q; want %d, %q", tt.fixture, tt.args, code, errs, tt.code, tt.want)
		}
		if e.rows() != before {
			t.Errorf("%s %v wrote audit rows", tt.fixture, tt.args)
		}
	}
}

func TestDevicesEmptyMachine(t *testing.T) {
	e := newEnv(t)
	e.create()
	out := e.ok(append(emptyRoots(t), "devices", "--json")...)
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("devices on an empty machine = %q", out)
	}
}

func TestHostInitRecordsBaseline(t *testing.T) {
	e := newEnv(t)
	out := e.ok(append(fixtureFlags("internal-sata"), "host", "init", "--number", "H1", "--level", "secret")...)
	if !strings.Contains(out, "internal disk /dev/sda") || !strings.Contains(out, "wwn:0x5002538e40a1b2c3") {
		t.Errorf("host init output:\n%s", out)
	}
	var h struct{ Baseline []string }
	json.Unmarshal([]byte(e.ok("--json", "host", "show")), &h)
	if len(h.Baseline) != 1 || h.Baseline[0] != "wwn:0x5002538e40a1b2c3" {
		t.Errorf("baseline = %q", h.Baseline)
	}
}

// TestHostInitPinsAllowedDevice: an allowed VID:PID is pinned to the interfaces and
// descriptors of the device plugged in; host show says so; without the device and
// without an earlier pin the entry is refused.
func TestHostInitPinsAllowedDevice(t *testing.T) {
	e := newEnv(t)
	if _, errs, code := e.run("host", "init", "--number", "H1", "--level", "secret", "--allow-device", "413c:2113"); code == 0 || !strings.Contains(errs, "413c:2113") {
		t.Fatalf("allowing an absent device without interfaces: exit %d, %s", code, errs)
	}
	out := e.ok(append(fixtureFlags("usb-keyboard"), "host", "init", "--number", "H1", "--level", "secret", "--allow-device", "413C:2113")...)
	if !strings.Contains(out, "allowed device 413c:2113: only with interfaces 03/00/00 03/01/01") {
		t.Errorf("host init output:\n%s", out)
	}
	var h struct {
		DevicePins []struct {
			Device     string
			Interfaces []string
			Hash       string
		} `json:"device_pins"`
	}
	json.Unmarshal([]byte(e.ok("--json", "host", "show")), &h)
	if len(h.DevicePins) != 1 || h.DevicePins[0].Device != "413c:2113" || len(h.DevicePins[0].Hash) != 64 ||
		len(h.DevicePins[0].Interfaces) == 0 || strings.Join(h.DevicePins[0].Interfaces, " ") != "03/00/00 03/01/01" {
		t.Errorf("pins = %+v", h.DevicePins)
	}
	// Run again without the device: the pin recorded before stays.
	e.ok("host", "init", "--number", "H1", "--level", "secret", "--allow-device", "413c:2113")
	if show := e.ok("host", "show"); !strings.Contains(show, "413c:2113 (03/00/00 03/01/01, descriptors") {
		t.Errorf("host show:\n%s", show)
	}
}

// TestHostInitSaysWhichBaselineDisksAreWeak: a virtio disk without a serial is
// recorded by its slot with capacity and model, and host init says so plainly.
func TestHostInitSaysWhichBaselineDisksAreWeak(t *testing.T) {
	root := t.TempDir()
	sys := filepath.Join(root, "sys")
	disk := filepath.Join(sys, "devices/pci0000:00/0000:00:04.0/virtio1/block/vda")
	if err := os.MkdirAll(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"uevent": "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n", "size": "20971520\n", "removable": "0\n"} {
		if err := os.WriteFile(filepath.Join(disk, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(sys, "class/block"), 0o755)
	if err := os.Symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda", filepath.Join(sys, "class/block/vda")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run/udev/data", "dev"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	e := newEnv(t)
	out := e.ok("--sysfs-root", sys, "--udev-root", filepath.Join(root, "run/udev/data"), "--dev-root", filepath.Join(root, "dev"),
		"host", "init", "--number", "H1", "--level", "secret")
	if !strings.Contains(out, "internal disk /dev/vda: WEAKLY IDENTIFIED") || !strings.Contains(out, "capacity 10737418240 bytes") {
		t.Errorf("host init output:\n%s", out)
	}
	var h struct{ Baseline []string }
	json.Unmarshal([]byte(e.ok("--json", "host", "show")), &h)
	if len(h.Baseline) != 1 || !strings.HasPrefix(h.Baseline[0], "devpath:/devices/pci0000:00/0000:00:04.0/virtio1/block/vda#capacity=10737418240#model=") {
		t.Errorf("baseline = %q", h.Baseline)
	}
}

// TestDiscRegisteredUnderV1Key: a disc registered before the whole-disc identity is
// shown as registered by devices, cannot be registered a second time under its new
// key, and no new registration may use a v1 key.
func TestDiscRegisteredUnderV1Key(t *testing.T) {
	e := newEnv(t)
	e.setup()
	dev := t.TempDir()
	iso := filepath.Join(dev, "sr0")
	if err := testbed.MakeLargeISO(iso, "OLDDISC", 2, 3, 5000); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	disc, err := identity.DiscSignature(f, st.Size(), nil)
	f.Close()
	if !errors.Is(err, identity.ErrNoDiscKey) || disc.LegacyKey() == "" {
		t.Fatalf("v1 signature: %+v, %v", disc, err)
	}
	s, err := registry.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.Register(context.Background(), registry.Registration{Identity: media.Identity{Kind: media.KindOpticalDisc, Key: disc.LegacyKey()},
		Level: media.Secret, Custodian: "lisi"})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	roots := fixtureFlags("usb-dvd-iso")
	roots[len(roots)-1] = dev
	var devs []AttachedDevice
	if err := json.Unmarshal([]byte(e.ok(append(roots, "devices", "--json")...)), &devs); err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || !strings.HasPrefix(devs[0].Identity.Key, "disc:v2-iso9660:") || devs[0].Registered == nil ||
		devs[0].Registered.Number != old.Number || !strings.Contains(devs[0].Mismatch, "version 1") {
		t.Fatalf("devices = %+v", devs)
	}
	if st, err := os.Stat(identity.DiscKeyPath(e.db)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("disc sample key: %v, %v", st, err)
	}
	before := e.rows()
	_, errs, code := e.run(append(roots, "media", "register", "--from-device", "/dev/sr0", "--level", "secret", "--custodian", "lisi")...)
	if code != 1 || !strings.Contains(errs, old.Number) || !strings.Contains(errs, "version 1 key") {
		t.Errorf("second registration of a v1-registered disc: exit %d, %q", code, errs)
	}
	_, errs, code = e.run("media", "register", "--kind", "optical-disc", "--key", disc.LegacyKey(), "--level", "secret", "--custodian", "lisi")
	if code != 2 || !strings.Contains(errs, "version 1 disc key") {
		t.Errorf("registration by a v1 key: exit %d, %q", code, errs)
	}
	if e.rows() != before {
		t.Error("a refused registration wrote audit rows")
	}
}
