package sysfs

import (
	"errors"
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

// ReadFileCapped reads small and large files whole and refuses one over its limit.
func TestReadFileCapped(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 5, 8191, 8192, 8193, 20000} {
		p := filepath.Join(dir, "f")
		want := make([]byte, size)
		for i := range want {
			want[i] = byte('a' + i%26)
		}
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFileCapped(p, 64<<10)
		if err != nil || string(got) != string(want) {
			t.Errorf("%d bytes: read %d, %v", size, len(got), err)
		}
		if _, err := ReadFileCapped(p, int64(size)-1); size > 0 && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes with limit %d: %v", size, size-1, err)
		}
		if got, err := ReadFileCapped(p, int64(size)); err != nil || len(got) != size {
			t.Errorf("%d bytes with limit %d: %d, %v", size, size, len(got), err)
		}
	}
	if _, err := ReadFileCapped(filepath.Join(dir, "missing"), 16); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// OpenDirNoLinks opens a device directory in one step when its path has no link, with
// openat2 and without, and leaves every other path to the long way.
func TestOpenDirNoLinks(t *testing.T) {
	for _, refused := range []bool{false, true} {
		was := noOpenat2.Load()
		noOpenat2.Store(refused)
		root, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		plain := filepath.Join(root, "devices", "usb2", "2-1")
		if err := os.MkdirAll(plain, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plain, "devnum"), []byte("5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(plain, filepath.Join(root, "devices", "last")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, "devices", "usb2"), filepath.Join(root, "devices", "mid")); err != nil {
			t.Fatal(err)
		}
		d, ok := OpenDirNoLinks(root, plain)
		if !ok {
			t.Fatalf("openat2 refused %v: a plain device path was not opened", refused)
		}
		if b, err := d.ReadFile("devnum", 8); err != nil || string(b) != "5\n" || d.Path() != plain {
			t.Errorf("openat2 refused %v: read %q, %v through %s", refused, b, err, d.Path())
		}
		d.Close()
		for _, p := range []string{
			filepath.Join(root, "devices", "last"),        // the last component is a link
			filepath.Join(root, "devices", "mid", "2-1"),  // a link on the way
			filepath.Join(root, "devices", "usb2", "2-9"), // missing
			filepath.Join(plain, "devnum"),                // not a directory
			root + "/devices/usb2/../usb2/2-1",            // not clean
			filepath.Join(root, "other"),
			"devices/usb2/2-1",
		} {
			if d, ok := OpenDirNoLinks(root, p); ok {
				d.Close()
				t.Errorf("openat2 refused %v: %s was opened in one step", refused, p)
			}
		}
		noOpenat2.Store(was)
	}
}
