package identity

import (
	"strconv"
	"strings"
)

// BaselineKey is how an internal disk is recorded in the host's baseline: its identity
// key; or, for a disk without a key it can be told apart by (a virtio disk without a
// serial), its slot with its capacity and model:
// "devpath:<sysfs devpath>#capacity=<bytes>#model=<escaped vendor and model>". The
// devpath stays the same for a disk in the same slot; capacity and model keep another
// disk put into that slot from passing as the baseline (MatchBaseline).
func BaselineKey(d Device) string {
	if d.Identity.Key != "" && d.Quality.Good {
		return d.Identity.Key
	}
	return slotPrefix + d.SysPath + capacityTag + strconv.FormatInt(d.Size, 10) + modelTag + EscapeComponent(d.Label)
}

const (
	slotPrefix  = "devpath:"
	capacityTag = "#capacity="
	modelTag    = "#model="
)

// slotEntry is a baseline entry that identifies a disk by its slot.
type slotEntry struct {
	devpath  string
	capacity string // "" for entries recorded before capacity and model were kept
	model    string
	legacy   bool
}

func parseSlot(key string) (slotEntry, bool) {
	rest, ok := strings.CutPrefix(key, slotPrefix)
	if !ok {
		return slotEntry{}, false
	}
	i := strings.LastIndex(rest, capacityTag)
	if i < 0 {
		return slotEntry{devpath: rest, legacy: true}, true
	}
	e := slotEntry{devpath: rest[:i]}
	e.capacity, e.model, _ = strings.Cut(rest[i+len(capacityTag):], modelTag)
	return e, true
}

// SlotOnly reports whether a baseline key identifies a disk only by its slot (no
// serial or WWN): any disk of the same capacity and model put into that slot passes.
func SlotOnly(key string) bool { return strings.HasPrefix(key, slotPrefix) }

// MatchBaseline says whether a non-USB disk is one of the host's baseline disks: its
// identity key is listed, or its slot is listed with the same capacity and model (an
// entry recorded before capacity and model were kept matches the slot alone). When
// its slot is listed with another capacity or model, differs names the field
// ("capacity", "model"): another disk sits in a baseline disk's bay.
func MatchBaseline(baseline []string, d Device) (in bool, differs string) {
	if key := BaselineKey(d); !SlotOnly(key) {
		for _, b := range baseline {
			if b == key {
				return true, ""
			}
		}
		return false, ""
	}
	for _, b := range baseline {
		e, ok := parseSlot(b)
		if !ok || e.devpath != d.SysPath {
			continue
		}
		switch {
		case e.legacy:
			return true, ""
		case e.capacity != strconv.FormatInt(d.Size, 10):
			differs = "capacity"
		case e.model != EscapeComponent(d.Label):
			differs = "model"
		default:
			return true, ""
		}
	}
	return false, differs
}

// BaselineSlot reports whether devpath is the slot of a baseline disk recorded by its
// slot (for a disk that cannot be read: it is never detached on a read error).
func BaselineSlot(baseline []string, devpath string) bool {
	for _, b := range baseline {
		if e, ok := parseSlot(b); ok && e.devpath == devpath {
			return true
		}
	}
	return false
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
