package identity

import (
	"os"
	"path/filepath"
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
		got, _, _, _ := usbIdentity(Roots{}, "", dir, pathFiles(dir))
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
	}
}
