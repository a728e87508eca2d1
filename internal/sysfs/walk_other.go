//go:build !linux

package sysfs

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// walkDirs calls visit for base and for every directory below it down to maxDepth
// levels (base is depth 0), in lexical order, parents first, never following a
// symbolic link and never entering a directory that holds no devices (noDevicesIn) or
// one visit declined.
func walkDirs(base string, maxDepth int, visit func(p string, depth int) bool) {
	_ = filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		depth := strings.Count(strings.TrimPrefix(p, base), "/")
		if p != base && noDevicesIn(e.Name()) {
			return fs.SkipDir
		}
		if !visit(p, depth) || depth >= maxDepth {
			return fs.SkipDir
		}
		return nil
	})
}
