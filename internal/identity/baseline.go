package identity

import (
	"errors"
	"path/filepath"
)

// BaselineKey is how an internal disk is recorded in the host's baseline: its identity
// key, or, for a disk without a key it can be told apart by (a virtio disk without a
// serial), "devpath:" and its sysfs devpath, which stays the same for a disk in the
// same slot.
func BaselineKey(d Device) string {
	if d.Identity.Key != "" && d.Quality.Good {
		return d.Identity.Key
	}
	return "devpath:" + d.SysPath
}

// InternalDisks lists the fixed disks that are part of the host (what Scan leaves out):
// the baseline recorded at `host init`. Optical drives and USB devices are never
// internal disks.
func InternalDisks(r Roots) ([]Device, error) {
	out := []Device{}
	names, err := listDir(filepath.Join(r.Sys, "class", "block"))
	if err != nil {
		return out, err
	}
	var errs []error
	for _, name := range names {
		if virtualBlock(name) {
			continue
		}
		d, err := ReadDevice(r, filepath.Join(r.Sys, "class", "block", name))
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		if d.Name != name || !d.Internal || d.USB != nil || d.Disc != nil {
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}
