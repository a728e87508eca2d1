package media

import (
	"errors"
	"fmt"
	"strings"
)

// USBID is a USB vendor and product id pair (VID:PID), each normalised to four
// lower-case hex digits: "0781:5567".
type USBID struct {
	Vendor, Product string
}

// ErrUSBID is wrapped by ParseUSBID's errors.
var ErrUSBID = errors.New("not a USB VID:PID")

// NormUSBID normalises one USB id as sysfs, udev or a person writes it ("5e3",
// "0x05E3", " 05e3 ") to four lower-case hex digits ("05e3"). ok is false unless it is
// one to four hex digits after an optional 0x.
func NormUSBID(s string) (string, bool) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x")
	if s == "" || len(s) > 4 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return strings.Repeat("0", 4-len(s)) + s, true
}

// ParseUSBID parses "VID:PID" in hex ("046d:c52b", "0x5e3:0x751").
func ParseUSBID(s string) (USBID, error) {
	v, p, ok := strings.Cut(s, ":")
	if !ok {
		return USBID{}, fmt.Errorf("%w: %q", ErrUSBID, s)
	}
	vid, vok := NormUSBID(v)
	pid, pok := NormUSBID(p)
	if !vok || !pok {
		return USBID{}, fmt.Errorf("%w: %q", ErrUSBID, s)
	}
	return USBID{Vendor: vid, Product: pid}, nil
}

// String is "vvvv:pppp".
func (u USBID) String() string { return u.Vendor + ":" + u.Product }

// Matches reports whether a device's vendor and product ids (in any form NormUSBID
// accepts) are this pair.
func (u USBID) Matches(vid, pid string) bool {
	v, vok := NormUSBID(vid)
	p, pok := NormUSBID(pid)
	return vok && pok && u.Vendor != "" && v == u.Vendor && p == u.Product
}

// USBIDListed reports whether the device vid:pid is one of list's VID:PID entries;
// entries that do not parse match nothing.
func USBIDListed(list []string, vid, pid string) bool {
	for _, e := range list {
		if id, err := ParseUSBID(e); err == nil && id.Matches(vid, pid) {
			return true
		}
	}
	return false
}
