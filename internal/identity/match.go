package identity

import (
	"fmt"
	"slices"
	"strings"

	"mediagate/internal/media"
)

// Matches reports whether a seen device is the registered medium. The keys must be
// equal and not empty. Extra identity bound in the registration — capacity,
// descriptor hash, interface classes — must equal what is seen when the seen identity
// carries it; when the seen identity does not carry it yet (a USB device still
// unauthorized has no block device, so no capacity) it is not a mismatch here, and
// Unverified lists it so the caller can check it again once it is known.
// mismatch names the first differing field in words a log reader understands.
func Matches(registered, seen media.Identity) (bool, string) {
	switch {
	case registered.Key == "":
		return false, "the registration has no identity key"
	case seen.Key == "":
		return false, "the device has no identity key (no usable serial or disc signature)"
	case registered.Key != seen.Key:
		return false, fmt.Sprintf("key %s is not the registered %s", seen.Key, registered.Key)
	}
	if registered.Capacity != 0 && seen.Capacity != 0 && registered.Capacity != seen.Capacity {
		return false, fmt.Sprintf("capacity %d bytes is not the registered %d bytes", seen.Capacity, registered.Capacity)
	}
	if registered.DescriptorHash != "" && seen.DescriptorHash != "" &&
		!strings.EqualFold(registered.DescriptorHash, seen.DescriptorHash) {
		return false, "USB descriptors differ from the registered ones"
	}
	if len(registered.InterfaceClasses) > 0 && len(seen.InterfaceClasses) > 0 &&
		!slices.Equal(sortedInts(registered.InterfaceClasses), sortedInts(seen.InterfaceClasses)) {
		return false, fmt.Sprintf("USB interface classes %v are not the registered %v", seen.InterfaceClasses, registered.InterfaceClasses)
	}
	return true, ""
}

// Unverified lists the extra identity fields bound in the registration that the seen
// identity does not carry, so Matches could not check them ("capacity",
// "descriptor_hash", "interface_classes"). Empty when everything bound was checked.
func Unverified(registered, seen media.Identity) []string {
	var out []string
	if registered.Capacity != 0 && seen.Capacity == 0 {
		out = append(out, "capacity")
	}
	if registered.DescriptorHash != "" && seen.DescriptorHash == "" {
		out = append(out, "descriptor_hash")
	}
	if len(registered.InterfaceClasses) > 0 && len(seen.InterfaceClasses) == 0 {
		out = append(out, "interface_classes")
	}
	return out
}

// HasExtraIdentity reports whether an identity binds both capacity and descriptor hash
// (USB) or capacity (other kinds): what a weak serial needs before it may be registered.
func HasExtraIdentity(id media.Identity) bool {
	if id.Capacity == 0 {
		return false
	}
	if strings.HasPrefix(id.Key, "usb:") {
		return id.DescriptorHash != ""
	}
	return true
}

func sortedInts(s []int) []int {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// Confirms reports whether a seen device is certainly the registered medium: it
// Matches, and when its serial is weak, every extra identity bound in the registration
// (capacity, descriptor hash) was seen and checked. pending is true when the only thing
// missing is identity not readable yet (capacity before the block device exists), so
// the caller may confirm again later.
func Confirms(registered, seen media.Identity) (ok bool, why string, pending bool) {
	if ok, why := Matches(registered, seen); !ok {
		return false, why, false
	}
	if seen.Kind == media.KindOpticalDisc || strings.HasPrefix(seen.Key, "disc:") || CheckSerial(seen.Serial).Good {
		return true, "", false
	}
	if missing := Unverified(registered, seen); len(missing) > 0 {
		return false, "weak serial, bound " + strings.Join(missing, ", ") + " not readable yet", true
	}
	return true, "", false
}
