package identity

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The reader takes idVendor, idProduct, bcdDevice and version from the descriptors
// file (the kernel prints those attributes from the same device descriptor). In every
// device tree recorded from a real kernel, both agree.
func TestDescriptorFieldsMatchTheAttributes(t *testing.T) {
	files, err := filepath.Glob("../../testdata/devices/*/sys/devices/*/*/*/*/descriptors")
	if err != nil || len(files) < 10 {
		t.Fatalf("fixtures: %d, %v", len(files), err)
	}
	for _, f := range files {
		dir := filepath.Dir(f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _, _ := usbIdentity(Roots{}, "", dir, pathFiles(dir), nil, false)
		attr := func(name string) string {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return EscapeComponent(strings.TrimSpace(string(b)))
		}
		if _, err := ParseDescriptors(raw); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for name, v := range map[string]string{"idVendor": got.VendorID, "idProduct": got.ProductID, "bcdDevice": got.BcdDevice, "version": got.BcdUSB} {
			if want := attr(name); v != want {
				t.Errorf("%s: %s from the descriptors %q, the attribute says %q", dir, name, v, want)
			}
		}
		// The bus and device numbers from the uevent file are the attributes' too, and so
		// is the stamp made of them.
		ue, err := os.ReadFile(filepath.Join(dir, "uevent"))
		if err != nil {
			t.Fatal(err)
		}
		props, _ := ParseProperties(ue)
		if props["BUSNUM"] == "" {
			t.Errorf("%s: no BUSNUM in the uevent file", dir)
		}
		byUevent, _, _, _ := usbIdentity(Roots{}, "", dir, pathFiles(dir), props, false)
		if byUevent.Busnum != attr("busnum") || byUevent.Devnum != attr("devnum") || byUevent.Stamp != got.Stamp || got.Stamp.IsZero() {
			t.Errorf("%s: bus/device %s/%s from the uevent file, %s/%s from the attributes; stamps equal: %v",
				dir, byUevent.Busnum, byUevent.Devnum, attr("busnum"), attr("devnum"), byUevent.Stamp == got.Stamp)
		}
		// A read for a decision is the same but for the speed, which it leaves out.
		forDecision, _, _, _ := usbIdentity(Roots{}, "", dir, pathFiles(dir), props, true)
		if got.Speed == "" || forDecision.Speed != "" {
			t.Errorf("%s: speed %q read, %q read for a decision", dir, got.Speed, forDecision.Speed)
		}
		forDecision.Speed = got.Speed
		if !reflect.DeepEqual(forDecision, got) {
			t.Errorf("%s: read for a decision\n%+v\nread whole\n%+v", dir, forDecision, got)
		}
	}
}

func TestUeventNumber(t *testing.T) {
	for v, want := range map[string]string{"002": "2", "1": "1", "127": "127", "000": "0", "": "", "0x2": "", "12345": "", "-1": "", " 2": ""} {
		if got := ueventNumber(map[string]string{"DEVNUM": v}, "DEVNUM"); got != want {
			t.Errorf("ueventNumber(%q) = %q, want %q", v, got, want)
		}
	}
}
