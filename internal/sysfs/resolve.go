package sysfs

import (
	"path/filepath"
	"sync"
)

// roots caches the resolution of sysfs roots: every read of a device resolved the
// root again (a system call per path component; docs/performance.md).
var roots sync.Map // string → string

// Root is filepath.EvalSymlinks(sys), resolved once per process: the sysfs root does
// not move while mediagate runs.
func Root(sys string) (string, error) {
	if v, ok := roots.Load(sys); ok {
		return v.(string), nil
	}
	r, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return "", err
	}
	roots.Store(sys, r)
	return r, nil
}

// RealPath is filepath.EvalSymlinks(p): where no component of p is a symbolic link
// (every device path below /sys/devices) it is filepath.Clean(p), which one system
// call confirms on Linux (openat2 with RESOLVE_NO_SYMLINKS) instead of one per
// component.
func RealPath(p string) (string, error) {
	if noSymlinks(p) {
		return filepath.Clean(p), nil
	}
	return filepath.EvalSymlinks(p)
}
