package policy

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"mediagate/internal/media"
)

func TestClassTable(t *testing.T) {
	classes := Classes()
	if !sort.SliceIsSorted(classes, func(i, j int) bool { return classes[i].Code < classes[j].Code }) {
		t.Error("class table is not sorted by code")
	}
	keys := map[string]bool{}
	for i, c := range classes {
		if i > 0 && classes[i-1].Code == c.Code {
			t.Errorf("class 0x%02x listed twice", c.Code)
		}
		if keys[c.Key] {
			t.Errorf("class key %q listed twice", c.Key)
		}
		keys[c.Key] = true
		if c.Key == "" {
			t.Errorf("class 0x%02x lacks a key: %+v", c.Code, c)
		}
		if got, err := ParseClass(c.Key); err != nil || got != c.Code {
			t.Errorf("ParseClass(%q) = %#x, %v; want %#x", c.Key, got, err, c.Code)
		}
	}
	// The classes the peripheral rules name must all be in the table.
	for _, code := range []int{ClassAudio, ClassCDC, ClassHID, ClassStillImage, ClassPrinter, ClassMassStorage,
		ClassHub, ClassCDCData, ClassSmartCard, ClassVideo, ClassWireless, ClassMisc, ClassVendorSpecific} {
		if _, ok := LookupClass(code); !ok {
			t.Errorf("class 0x%02x missing from the table", code)
		}
	}
	Classes()[0].Key = "changed"
	if Classes()[0].Key == "changed" {
		t.Error("Classes returns the table itself, not a copy")
	}
}

func TestParseClass(t *testing.T) {
	for in, want := range map[string]int{
		"audio": ClassAudio, " Audio ": ClassAudio, "0x01": ClassAudio, "01": ClassAudio, "1": ClassAudio,
		"wireless": ClassWireless, "bluetooth": ClassWireless, "E0": ClassWireless, "0xe0": ClassWireless,
		"smart_card": ClassSmartCard, "smart card": ClassSmartCard, "mtp": ClassStillImage,
		"vendor-specific": ClassVendorSpecific, "ff": ClassVendorSpecific, "cdc-data": ClassCDCData,
	} {
		if got, err := ParseClass(in); err != nil || got != want {
			t.Errorf("ParseClass(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "0x100", "100", "zz", "speaker", "0x"} {
		if got, err := ParseClass(bad); err == nil {
			t.Errorf("ParseClass(%q) = %#x; want an error", bad, got)
		}
	}
}

func TestLookupUnknownClass(t *testing.T) {
	c, ok := LookupClass(0x42)
	if ok || c.Key != "0x42" || c.Code != 0x42 {
		t.Errorf("LookupClass(0x42) = %+v, %v", c, ok)
	}
}

func TestCheckAllowLists(t *testing.T) {
	good := &media.Host{AllowClasses: []string{"audio", "0x0e", "Bluetooth"}, AllowDevices: []string{"046d:c52b", "0X76B:3021"},
		DevicePins: []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01/01", "03/00/00"}, Hash: strings.Repeat("ab", 32)}}}
	if err := CheckAllowLists(good); err != nil {
		t.Errorf("CheckAllowLists(good) = %v", err)
	}
	for _, h := range []*media.Host{
		{AllowClasses: []string{"speakers"}},
		{AllowClasses: []string{"mass-storage"}},
		{AllowClasses: []string{"storage"}},
		{AllowDevices: []string{"046dc52b"}},
		{AllowDevices: []string{"046d:"}},
		{AllowDevices: []string{"0046d:c52b"}},
		{AllowDevices: []string{"zz:c52b"}},
		{DevicePins: []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01/01"}}}}, // pin of a device not allowed
		{AllowDevices: []string{"046d:c52b"}, DevicePins: []media.DevicePin{{Device: "046d:c52b"}}},
		{AllowDevices: []string{"046d:c52b"}, DevicePins: []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01"}}}},
		{AllowDevices: []string{"046d:c52b"}, DevicePins: []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01/01"}, Hash: "xyz"}}},
		{AllowDevices: []string{"046d:c52b"}, DevicePins: []media.DevicePin{
			{Device: "046d:c52b", Interfaces: []string{"03/01/01"}}, {Device: "046D:C52B", Interfaces: []string{"03/01/02"}}}},
	} {
		if err := CheckAllowLists(h); !errors.Is(err, ErrAllowList) {
			t.Errorf("CheckAllowLists(%v %v) = %v; want ErrAllowList", h.AllowClasses, h.AllowDevices, err)
		}
	}
}
