package identity

import (
	"strings"
	"testing"

	"mediagate/internal/media"
)

func TestInternalDisks(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		want    int
	}{
		{"internal-sata", 1}, {"nvme", 1}, {"qemu-usb-storage", 0}, {"usb-dvd-iso", 0}, {"card-reader-sd", 0},
	} {
		disks, err := InternalDisks(fixtureRoots(t, tt.fixture))
		if err != nil {
			t.Errorf("%s: %v", tt.fixture, err)
		}
		if len(disks) != tt.want {
			t.Errorf("%s: %d internal disks; want %d", tt.fixture, len(disks), tt.want)
		}
		for _, d := range disks {
			if k := BaselineKey(d); k == "" || k != d.Identity.Key {
				t.Errorf("%s: baseline key %q for identity %q", tt.fixture, k, d.Identity.Key)
			}
		}
	}
	if k := BaselineKey(Device{SysPath: "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"}); !strings.HasPrefix(k, "devpath:/devices/") {
		t.Errorf("key-less disk baseline key = %q", k)
	}
}

func TestBaselineSlots(t *testing.T) {
	const slot = "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"
	disk := Device{SysPath: slot, Size: 10 << 30, Label: "QEMU HARDDISK #1", Identity: media.Identity{Kind: media.KindDisk, Key: "disk:QEMU_HARDDISK:"}}
	key := BaselineKey(disk)
	if !strings.HasPrefix(key, "devpath:"+slot) || !strings.Contains(key, "capacity=10737418240") || !strings.Contains(key, "model=QEMU%20HARDDISK%20%231") {
		t.Fatalf("slot key %q: want devpath, capacity and model", key)
	}
	if !SlotOnly(key) || SlotOnly("wwn:0x5002538e40a1b2c3") {
		t.Error("SlotOnly")
	}
	other := func(edit func(*Device)) Device { d := disk; edit(&d); return d }
	for _, tc := range []struct {
		name     string
		baseline []string
		dev      Device
		in       bool
		differs  string
	}{
		{"the recorded disk", []string{key}, disk, true, ""},
		{"bigger disk in the slot", []string{key}, other(func(d *Device) { d.Size = 20 << 30 }), false, "capacity"},
		{"other model in the slot", []string{key}, other(func(d *Device) { d.Label = "Other disk" }), false, "model"},
		{"same disk in another slot", []string{key}, other(func(d *Device) { d.SysPath = slot[:len(slot)-3] + "vdb" }), false, ""},
		{"slot recorded before capacity and model were kept", []string{"devpath:" + slot}, other(func(d *Device) { d.Size = 1 }), true, ""},
		{"disk with a good key", []string{"wwn:0x1"}, Device{SysPath: slot, Identity: media.Identity{Kind: media.KindDisk, Key: "wwn:0x1"}, Quality: Quality{Good: true}}, true, ""},
		{"not in the baseline", []string{"wwn:0x1"}, disk, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, differs := MatchBaseline(tc.baseline, tc.dev)
			if in != tc.in || differs != tc.differs {
				t.Errorf("MatchBaseline = %v, %q; want %v, %q", in, differs, tc.in, tc.differs)
			}
		})
	}
	if !BaselineSlot([]string{key}, slot) || !BaselineSlot([]string{"devpath:" + slot}, slot) || BaselineSlot([]string{key}, slot+"x") {
		t.Error("BaselineSlot")
	}
}

// FuzzMatchBaseline: baseline entries come from the register (and, later, from the
// office's signed policy): no entry may panic the matcher, and a disk always matches
// its own baseline key.
func FuzzMatchBaseline(f *testing.F) {
	f.Add("devpath:/devices/x/block/vda#capacity=10#model=M", "/devices/x/block/vda", int64(10), "M")
	f.Add("devpath:#capacity=#model=", "", int64(0), "")
	f.Add("wwn:0x1", "/devices/y", int64(-1), "#capacity=")
	f.Fuzz(func(t *testing.T, entry, devpath string, size int64, label string) {
		d := Device{SysPath: devpath, Size: size, Label: label}
		MatchBaseline([]string{entry}, d)
		BaselineSlot([]string{entry}, devpath)
		if in, differs := MatchBaseline([]string{BaselineKey(d)}, d); !in || differs != "" {
			t.Fatalf("disk does not match its own key %q: %v %q", BaselineKey(d), in, differs)
		}
	})
}
