package sysfs

import (
	"os"
	"path/filepath"
	"testing"
)

// RealPath is EvalSymlinks: a path without links as it is, one with a link resolved,
// a missing one an error.
func TestRealPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "devices", "pci0000:00", "usb2", "2-1")
	if err := os.MkdirAll(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "devices", "pci0000:00"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, plain + "/", filepath.Join(dir, "devices", "pci0000:00", "x", "..", "usb2", "2-1"), filepath.Join(dir, "link", "usb2", "2-1")} {
		want, werr := filepath.EvalSymlinks(p)
		got, err := RealPath(p)
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("RealPath(%s) = %q, %v; EvalSymlinks gives %q, %v", p, got, err, want, werr)
		}
	}
	if _, err := RealPath(filepath.Join(dir, "devices", "gone")); !os.IsNotExist(err) {
		t.Errorf("a missing path: %v", err)
	}
	r, err := Root(filepath.Join(dir, "link"))
	if err != nil || r != filepath.Join(dir, "devices", "pci0000:00") {
		t.Errorf("Root = %q, %v", r, err)
	}
}
