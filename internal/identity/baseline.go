package identity

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
	disks, err := wholeDisks(r)
	out := []Device{}
	for _, d := range disks {
		if d.Internal && d.USB == nil && d.Disc == nil {
			out = append(out, d)
		}
	}
	return out, err
}
