package policy

import (
	"slices"
	"strings"

	"mediagate/internal/media"
)

// Identity fields named by IdentityMismatch.
const (
	FieldKind             = "kind"
	FieldKey              = "key"
	FieldSerial           = "serial"
	FieldVendorID         = "vendor-id"
	FieldProductID        = "product-id"
	FieldWWN              = "wwn"
	FieldCapacity         = "capacity"
	FieldDescriptorHash   = "descriptor-hash"
	FieldInterfaceClasses = "interface-classes"
)

// DetailExtraDisk is the detail of identity-mismatch for a registered USB medium
// that presents more than one disk (Device.Disks): a second logical unit behind a
// registered stick's identity is not the registered medium.
const DetailExtraDisk = "extra-disk"

// IdentityMismatch compares what a medium was registered as with what is seen now and
// returns the first field that differs, or "" when they match. Fields are checked in
// the order kind, key, serial, vendor-id, product-id, wwn, descriptor-hash,
// interface-classes, capacity.
//
// The registration is the reference: a field the registration leaves empty is not
// compared, with two exceptions that fail closed:
//   - interface classes: a registration without classes stands for plain mass storage,
//     so a device that now presents any class besides mass storage (0x08) differs;
//     a registration with classes must match the seen set exactly.
//   - a set descriptor hash must be seen: an unreadable hash differs.
//
// Capacity is compared only when both sides know it, because a USB device is decided
// before its block device exists; the daemon decides again when the capacity is known.
// Hex identifiers (vendor, product, WWN, descriptor hash) compare case-insensitively;
// serials and keys compare exactly.
func IdentityMismatch(registered, seen media.Identity) string {
	switch {
	case registered.Kind != "" && seen.Kind != "" && registered.Kind != seen.Kind:
		return FieldKind
	case registered.Key != "" && registered.Key != seen.Key:
		return FieldKey
	case registered.Serial != "" && registered.Serial != seen.Serial:
		return FieldSerial
	case differsFold(registered.VendorID, seen.VendorID):
		return FieldVendorID
	case differsFold(registered.ProductID, seen.ProductID):
		return FieldProductID
	case differsFold(registered.WWN, seen.WWN):
		return FieldWWN
	case differsFold(registered.DescriptorHash, seen.DescriptorHash):
		return FieldDescriptorHash
	case classesDiffer(registered.InterfaceClasses, seen.InterfaceClasses):
		return FieldInterfaceClasses
	case registered.Capacity > 0 && seen.Capacity > 0 && registered.Capacity != seen.Capacity:
		return FieldCapacity
	}
	return ""
}

// differsFold reports whether a registered hex value is set and the seen one is not the
// same (ignoring case and a leading "0x").
func differsFold(registered, seen string) bool {
	if registered == "" {
		return false
	}
	trim := func(s string) string { return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x") }
	return trim(registered) != trim(seen)
}

func classesDiffer(registered, seen []int) bool {
	s := classSet(seen)
	if len(registered) == 0 {
		for _, c := range s {
			if c != ClassMassStorage {
				return true
			}
		}
		return false
	}
	return !slices.Equal(classSet(registered), s)
}

// ConfirmIdentity is the one comparison of a seen device with its registration, used
// by the daemon's decisions and by the check-in (CLI and vault station) alike.
// mismatch is the first field that differs (IdentityMismatch). When nothing differs
// but a bound field could not be compared yet — capacity, before the block device
// exists — pending is true: the device is not confirmed, and the caller may compare
// again once the field is known (the daemon decides again at the block-device stage).
func ConfirmIdentity(registered, seen media.Identity) (mismatch string, pending bool) {
	if f := IdentityMismatch(registered, seen); f != "" {
		return f, false
	}
	return "", len(UnverifiedIdentity(registered, seen)) > 0
}

// UnverifiedIdentity lists the fields bound in the registration that the seen identity
// does not carry yet, so they were not compared. IdentityMismatch already counts an
// unreadable descriptor hash as a difference; only capacity can be unverified.
func UnverifiedIdentity(registered, seen media.Identity) []string {
	var out []string
	if registered.Capacity > 0 && seen.Capacity <= 0 {
		out = append(out, FieldCapacity)
	}
	return out
}
