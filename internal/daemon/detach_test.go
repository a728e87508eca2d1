package daemon

import (
	"errors"
	"slices"
	"testing"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
)

// The decision row of a detached disk records what was done: "detached" only when the
// disk is gone, the steps that worked and the error when it is not.
func TestDetachRowRecordsOnlyWhatSucceeded(t *testing.T) {
	const pciDisk = "/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio3/block/vdb"
	for name, c := range map[string]struct {
		fail        error
		wantActions []string
		wantError   bool
	}{
		"removed":     {nil, []string{"detached"}, false},
		"not removed": {&enforce.DetachError{Disk: "vdb", Done: []string{"read-only"}, Err: errors.New("unbind virtio3 from virtio_blk: vdb is still there")}, []string{"read-only"}, true},
		"refused":     {&enforce.DetachError{Disk: "vdb", Err: enforce.ErrSharedDevice}, nil, true},
		"other error": {errors.New("sysfs gone"), nil, true},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBed(t, secretHost())
			if c.fail != nil {
				b.rec.Fail = map[string]error{"detach": c.fail}
			}
			b.devs.set(identity.Device{Name: "vdb", Subsystem: "block", SysPath: pciDisk, Bus: "virtio",
				Identity: media.Identity{Kind: media.KindDisk, Key: "disk:virtio:MGPCI", Capacity: 64 << 20}})
			b.ev("add", pciDisk, "block", "disk")
			if got := b.rec.Ops(); !slices.Equal(got, []string{"detach " + pciDisk}) {
				t.Fatalf("ops %q, want a detach", got)
			}
			ds := b.store.decisions()
			row := ds[len(ds)-1]
			if !slices.Equal(row.Actions, c.wantActions) {
				t.Errorf("actions %q, want %q", row.Actions, c.wantActions)
			}
			if hasErr := row.Error != ""; hasErr != c.wantError {
				t.Errorf("error in row = %v (%q), want %v", hasErr, row.Error, c.wantError)
			}
			if st := b.d.Status(); c.wantError && st.Counts.Errors != 1 {
				t.Errorf("errors counted: %d", st.Counts.Errors)
			}
		})
	}
}
