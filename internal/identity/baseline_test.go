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

func TestConfirms(t *testing.T) {
	strong := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530001", Serial: "4C530001"}
	weakReg := media.Identity{Kind: media.KindUSBDisk, Key: "usb:090c:1000:0123456789ABCDEF", Serial: "0123456789ABCDEF",
		Capacity: 16 << 30, DescriptorHash: strings.Repeat("a", 64)}
	tests := []struct {
		name          string
		reg, seen     media.Identity
		ok, isPending bool
	}{
		{"strong serial", strong, strong, true, false},
		{"other key", strong, media.Identity{Key: "usb:0781:5567:X"}, false, false},
		{"weak, all seen", weakReg, weakReg, true, false},
		{"weak, no capacity yet", weakReg, func() media.Identity { s := weakReg; s.Capacity = 0; return s }(), false, true},
		{"weak, other capacity", weakReg, func() media.Identity { s := weakReg; s.Capacity = 8 << 30; return s }(), false, false},
		{"disc", media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:ab"}, media.Identity{Kind: media.KindOpticalDisc, Key: "disc:iso9660:ab"}, true, false},
	}
	for _, tt := range tests {
		ok, why, pending := Confirms(tt.reg, tt.seen)
		if ok != tt.ok || pending != tt.isPending || (!ok && why == "") {
			t.Errorf("%s: Confirms = %v, %q, %v; want %v, pending %v", tt.name, ok, why, pending, tt.ok, tt.isPending)
		}
	}
}
