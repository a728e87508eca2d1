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
