package sysfs

import (
	"os"
	"path/filepath"
	"testing"
)

// Where openat2 is refused (systemd's RestrictSUIDSGID= makes it fail with ENOSYS),
// RealPath tells a path without links by the name the kernel gives what it opened, and
// still resolves every path with a link like EvalSymlinks.
func TestRealPathWithoutOpenat2(t *testing.T) {
	was := noOpenat2.Load()
	noOpenat2.Store(true)
	defer noOpenat2.Store(was)
	TestRealPath(t)

	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "devices", "usb2", "2-1")
	if err := os.MkdirAll(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plain, filepath.Join(dir, "last")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "devices"), filepath.Join(dir, "mid")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		plain:                                    true,
		filepath.Join(dir, "last"):               false, // the last component is a link
		filepath.Join(dir, "mid", "usb2", "2-1"): false, // a link on the way
		filepath.Join(dir, "devices", "gone"):    false,
	} {
		if got := noSymlinks(p); got != want {
			t.Errorf("noSymlinks(%s) = %v without openat2, want %v", p, got, want)
		}
	}
}
