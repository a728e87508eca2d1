package identity

import (
	"os"
	"path/filepath"
	"testing"
)

// Only a drive that answers "no disc" is empty: an image file (the fixtures, a loop
// of a disc image) or a path that cannot be opened must still be read as a disc, or
// a disc could pass as no medium.
func TestDriveEmptyOnlyForADriveThatSaysSo(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disc.iso")
	if err := os.WriteFile(img, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{img, filepath.Join(t.TempDir(), "missing")} {
		if driveEmpty(p) {
			t.Errorf("driveEmpty(%s) = true", p)
		}
	}
}

// After an eject udev's database may still say a disc is in (ID_CDROM_MEDIA=1 from the
// last run of cdrom_id) while the kernel keeps the last size and reads fail: the drive's
// own answer decides. A disc that cannot be read in a drive that says it is empty is no
// medium, not an unidentified disc to eject again.
func TestDiscGoneWhileUdevStillSaysMedia(t *testing.T) {
	empty := false
	saved := driveIsEmpty
	driveIsEmpty = func(string) bool { return empty }
	t.Cleanup(func() { driveIsEmpty = saved })

	r := fixtureRoots(t, "usb-dvd-iso")
	// The drive answers "no disc" while udev still reports a readable disc.
	empty = true
	d, err := Resolve(r, "/dev/sr0")
	if err != nil || !d.NoMedium || d.Identity.Key != "" {
		t.Errorf("empty drive with stale udev data: no medium %v, key %q, problem %q, %v", d.NoMedium, d.Identity.Key, d.Problem, err)
	}
	// A drive that holds a disc is read as before.
	empty = false
	d, err = Resolve(r, "/dev/sr0")
	if err != nil || d.NoMedium || d.Identity.Key == "" {
		t.Errorf("drive with a disc: no medium %v, key %q, problem %q, %v", d.NoMedium, d.Identity.Key, d.Problem, err)
	}
	// A disc that cannot be read, in a drive that says it holds one: an unreadable disc,
	// with its problem (blocked by the daemon), never no medium.
	// (A directory in place of the node: it opens, and every read fails.)
	node := filepath.Join(r.Dev, "sr0")
	if err := os.Remove(node); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(node, 0o755); err != nil {
		t.Fatal(err)
	}
	d, _ = Resolve(r, "/dev/sr0")
	if d.NoMedium || d.Identity.Key != "" || d.Problem == "" {
		t.Errorf("unreadable disc: no medium %v, key %q, problem %q", d.NoMedium, d.Identity.Key, d.Problem)
	}
}
