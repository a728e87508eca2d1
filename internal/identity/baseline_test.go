package identity

import (
	"strings"
	"testing"
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
