package media

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// USBInterface is the (class, subclass, protocol) triple of one USB interface.
type USBInterface struct{ Class, SubClass, Protocol uint8 }

// String formats the triple as "03/01/01", the form the identity package reads from
// the descriptors.
func (i USBInterface) String() string {
	return fmt.Sprintf("%02x/%02x/%02x", i.Class, i.SubClass, i.Protocol)
}

// ParseUSBInterface reads a triple written "03/01/01" or "03:01:01" (hex).
func ParseUSBInterface(s string) (USBInterface, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ':' })
	if len(parts) != 3 || strings.Count(s, "/")+strings.Count(s, ":") != 2 {
		return USBInterface{}, fmt.Errorf("USB interface %q: want class/subclass/protocol in hex, such as 03/01/01", s)
	}
	var v [3]uint8
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) > 2 {
			return USBInterface{}, fmt.Errorf("USB interface %q: want class/subclass/protocol in hex, such as 03/01/01", s)
		}
		v[i] = uint8(n)
	}
	return USBInterface{v[0], v[1], v[2]}, nil
}

// IsBootHID reports whether the interface is a HID boot-protocol keyboard (03/01/01)
// or mouse (03/01/02).
func (i USBInterface) IsBootHID() bool {
	return i.Class == 0x03 && i.SubClass == 0x01 && (i.Protocol == 0x01 || i.Protocol == 0x02)
}

// DevicePin pins a host profile's allowed VID:PID to what the device presented when it
// was allowed, in the manner of USBGuard's with-interface and hash: a device with that
// VID:PID is allowed only if it presents exactly these interfaces and, when Hash is
// set, these descriptors.
type DevicePin struct {
	Device     string   `json:"device"`         // VID:PID, four lower-case hex digits each
	Interfaces []string `json:"interfaces"`     // sorted, distinct "cc/ss/pp" triples
	Hash       string   `json:"hash,omitempty"` // speed-independent descriptor hash (hex SHA-256)
}

// NormInterfaces parses, de-duplicates and sorts interface triples.
func NormInterfaces(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		i, err := ParseUSBInterface(s)
		if err != nil {
			return nil, err
		}
		if t := i.String(); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// PinFor returns the pin of the allowed device vid:pid, if the host has one.
func (h *Host) PinFor(vid, pid string) (DevicePin, bool) {
	for _, p := range h.DevicePins {
		if id, err := ParseUSBID(p.Device); err == nil && id.Matches(vid, pid) {
			return p, true
		}
	}
	return DevicePin{}, false
}
