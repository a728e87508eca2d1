package sysfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// walkReference is walkDirs by filepath.WalkDir, as the walks below a device were made
// before walkDirs.
func walkReference(base string, maxDepth int, visit func(p string, depth int) bool) {
	_ = filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		depth := strings.Count(strings.TrimPrefix(p, base), "/")
		if depth > maxDepth || (p != base && noDevicesIn(e.Name())) {
			return fs.SkipDir
		}
		if !visit(p, depth) {
			return fs.SkipDir
		}
		return nil
	})
}

func TestWalkDirsIsTheWalkOfWalkDir(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "2-1")
	for _, d := range []string{
		"2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda/sda1",
		"2-1:1.0/host0/target0:0:0/0:0:0:1/scsi_disk/0:0:0:1",
		"2-1:1.0/ep_81", "2-1:1.0/power", "power", "b/c/d/e/f/g/h/i/j/k",
		"Z", "a", "a b", "zz/power/inside",
	} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range []string{"authorized", "2-1:1.0/bInterfaceClass", "b/c/file", "2-1:1.0/host0/uevent"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte{byte('0' + i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Links to directories, inside and outside the tree, are not followed.
	for link, to := range map[string]string{"port": filepath.Join(base, "b"), "subsystem": root, "2-1:1.0/driver": "/"} {
		if err := os.Symlink(to, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, depth := range []int{0, 1, 3, 8, 20} {
		for _, decline := range []string{"", "b", "2-1:1.0", "target0:0:0"} {
			var got, want []string
			record := func(list *[]string) func(string, int) bool {
				return func(p string, d int) bool {
					*list = append(*list, strings.TrimPrefix(p, base)+"@"+string(rune('0'+d)))
					return filepath.Base(p) != decline
				}
			}
			walkDirs(base, depth, record(&got))
			walkReference(base, depth, record(&want))
			if !slices.Equal(got, want) {
				t.Errorf("depth %d, declining %q:\n got %q\nwant %q", depth, decline, got, want)
			}
		}
	}
	var all []string
	walkDirs(base, 20, func(p string, _ int) bool { all = append(all, p); return true })
	for _, p := range all {
		if strings.Contains(p, "power") || strings.Contains(p, "ep_") || strings.HasSuffix(p, "/port") || strings.HasSuffix(p, "/driver") {
			t.Errorf("walked into %s", p)
		}
	}
	if len(all) < 20 {
		t.Errorf("walked %d directories: %q", len(all), all)
	}
	// A base that is a link, or missing, gives nothing.
	for _, b := range []string{filepath.Join(base, "port"), filepath.Join(root, "missing")} {
		walkDirs(b, 8, func(p string, _ int) bool { t.Errorf("visited %s", p); return true })
	}
}
