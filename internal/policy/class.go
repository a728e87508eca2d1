package policy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"mediagate/internal/media"
)

// USB interface class codes that policy treats specially.
const (
	ClassAudio          = 0x01
	ClassCDC            = 0x02
	ClassHID            = 0x03
	ClassStillImage     = 0x06
	ClassPrinter        = 0x07
	ClassMassStorage    = 0x08
	ClassHub            = 0x09
	ClassCDCData        = 0x0A
	ClassSmartCard      = 0x0B
	ClassVideo          = 0x0E
	ClassWireless       = 0xE0
	ClassMisc           = 0xEF
	ClassVendorSpecific = 0xFF
)

// Class describes one USB interface class: its code and the key an officer writes in
// a host profile's AllowClasses. Its name for people is the catalogue's
// ("class.<key>").
type Class struct {
	Code int    `json:"code"`
	Key  string `json:"key"`
}

// String returns the key and code, such as "audio (0x01)".
func (c Class) String() string { return fmt.Sprintf("%s (0x%02x)", c.Key, c.Code) }

// classTable is the one list of known USB interface classes (usb.org defined class codes).
var classTable = []Class{
	{0x01, "audio"},
	{0x02, "cdc"},
	{0x03, "hid"},
	{0x05, "physical"},
	{0x06, "still-image"},
	{0x07, "printer"},
	{0x08, "mass-storage"},
	{0x09, "hub"},
	{0x0A, "cdc-data"},
	{0x0B, "smart-card"},
	{0x0D, "content-security"},
	{0x0E, "video"},
	{0x0F, "personal-healthcare"},
	{0x10, "audio-video"},
	{0x11, "billboard"},
	{0x12, "usb-c-bridge"},
	{0xDC, "diagnostic"},
	{0xE0, "wireless"},
	{0xEF, "misc"},
	{0xFE, "application-specific"},
	{0xFF, "vendor-specific"},
}

// classAliases are other names accepted by ParseClass.
var classAliases = map[string]int{
	"storage":       ClassMassStorage,
	"usb-storage":   ClassMassStorage,
	"keyboard":      ClassHID,
	"mouse":         ClassHID,
	"image":         ClassStillImage,
	"ptp":           ClassStillImage,
	"mtp":           ClassStillImage,
	"camera":        ClassVideo,
	"webcam":        ClassVideo,
	"bluetooth":     ClassWireless,
	"smartcard":     ClassSmartCard,
	"ccid":          ClassSmartCard,
	"vendor":        ClassVendorSpecific,
	"miscellaneous": ClassMisc,
}

// Classes returns the table of known USB interface classes, ordered by code.
// The CLI shows it; officers use the keys in a host profile's AllowClasses.
func Classes() []Class { return append([]Class(nil), classTable...) }

// LookupClass returns the table entry for a class code. Unknown codes get a
// generated entry with key "0xNN" and ok false.
func LookupClass(code int) (c Class, ok bool) {
	for _, c := range classTable {
		if c.Code == code {
			return c, true
		}
	}
	k := fmt.Sprintf("0x%02x", code)
	return Class{Code: code, Key: k}, false
}

// ParseClass reads a class as written in a host profile: a key ("audio"), an alias
// ("bluetooth", "mtp"), or a code in hex ("0x01", "01", "e0"); bare digits are read
// as hex, the way lsusb prints them.
// Case, surrounding space and "_"/" " versus "-" are ignored.
func ParseClass(s string) (int, error) {
	norm := strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return '-'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
	if norm == "" {
		return 0, fmt.Errorf("empty USB class")
	}
	for _, c := range classTable {
		if norm == c.Key {
			return c.Code, nil
		}
	}
	if code, ok := classAliases[norm]; ok {
		return code, nil
	}
	hex := strings.TrimPrefix(norm, "0x")
	if len(hex) <= 2 {
		if v, err := strconv.ParseUint(hex, 16, 8); err == nil {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("unknown USB class %q (see the class table for keys such as audio, video, wireless)", s)
}

// isDefaultPeripheral reports whether every classified host accepts a class: hubs, so
// that anything can be plugged in at all, and HID, so that the officer can type.
func isDefaultPeripheral(c int) bool { return c == ClassHub || c == ClassHID }

// classSet returns the sorted, de-duplicated union of the given class lists.
func classSet(lists ...[]int) []int {
	var out []int
	for _, l := range lists {
		for _, c := range l {
			if !containsInt(out, c) {
				out = append(out, c)
			}
		}
	}
	sort.Ints(out)
	return out
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ErrAllowList is returned by CheckAllowLists for an entry Decide would not understand.
var ErrAllowList = errors.New("invalid host allow list entry")

// AllowListError is an entry of a host profile's allow lists that Decide would not
// understand. Code names its message in the catalogue; Entry is the entry as written.
type AllowListError struct {
	Code  string
	Entry string
}

func (e *AllowListError) Error() string {
	return fmt.Sprintf("%s: %s %q", ErrAllowList, e.Code, e.Entry)
}

func (e *AllowListError) Unwrap() error { return ErrAllowList }

// MessageCode returns the catalogue key and its argument, the entry.
func (e *AllowListError) MessageCode() (string, []any) { return e.Code, []any{e.Entry} }

// CheckAllowLists reports the first entry of a host profile's AllowClasses or
// AllowDevices that Decide would ignore: a class ParseClass does not know, mass storage
// (storage is allowed only by registering the medium), or a device that is not
// VID:PID in hex. The CLI should call it before saving a profile.
func CheckAllowLists(h *media.Host) error {
	for _, name := range h.AllowClasses {
		c, err := ParseClass(name)
		if err != nil {
			return &AllowListError{Code: "allow-list.class", Entry: name}
		}
		if c == ClassMassStorage {
			return &AllowListError{Code: "allow-list.mass-storage", Entry: name}
		}
	}
	for _, dev := range h.AllowDevices {
		if _, err := media.ParseUSBID(dev); err != nil {
			return &AllowListError{Code: "allow-list.device", Entry: dev}
		}
	}
	seen := map[string]bool{}
	for _, p := range h.DevicePins {
		id, err := media.ParseUSBID(p.Device)
		if err != nil {
			return fmt.Errorf("%w: pinned device %q (want VID:PID in hex)", ErrAllowList, p.Device)
		}
		if !media.USBIDListed(h.AllowDevices, id.Vendor, id.Product) {
			return fmt.Errorf("%w: pinned device %s is not an allowed device", ErrAllowList, id)
		}
		if seen[id.String()] {
			return fmt.Errorf("%w: device %s pinned twice", ErrAllowList, id)
		}
		seen[id.String()] = true
		if len(p.Interfaces) == 0 {
			return fmt.Errorf("%w: device %s pinned to no interfaces", ErrAllowList, id)
		}
		if _, err := media.NormInterfaces(p.Interfaces); err != nil {
			return fmt.Errorf("%w: device %s: %w", ErrAllowList, id, err)
		}
		if p.Hash != "" && !isHex(p.Hash, 64) {
			return fmt.Errorf("%w: device %s: descriptor hash %q is not 64 hex digits", ErrAllowList, id, p.Hash)
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
