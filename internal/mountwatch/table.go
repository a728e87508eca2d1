package mountwatch

import (
	"fmt"
	"os"
	"path/filepath"
)

// CurrentMounts reads and parses <procRoot>/self/mountinfo.
func CurrentMounts(procRoot string) ([]Mount, error) {
	p := filepath.Join(procRoot, "self", "mountinfo")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	ms, err := ParseMountinfo(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}
	return ms, nil
}

// BlockMounts returns the block-device mounts of <procRoot>/self/mountinfo:
// what a daemon logs as "seen at start".
func BlockMounts(procRoot string) ([]Mount, error) {
	ms, err := CurrentMounts(procRoot)
	if err != nil {
		return nil, err
	}
	var out []Mount
	for _, m := range ms {
		if m.BlockDevice() {
			out = append(out, m)
		}
	}
	return out, nil
}
