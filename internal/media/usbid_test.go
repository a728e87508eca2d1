package media

import (
	"errors"
	"strings"
	"testing"
)

func TestParseUSBID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for an error
	}{
		{"0781:5567", "0781:5567"},
		{"5e3:751", "05e3:0751"},
		{"0x05E3:0x0751", "05e3:0751"},
		{" 046d : c52b ", "046d:c52b"},
		{"1:2", "0001:0002"},
		{"0781", ""},
		{"0781:", ""},
		{":5567", ""},
		{"07811:5567", ""},
		{"07g1:5567", ""},
		{"0781:5567:1", ""},
		{"0x:1", ""},
	} {
		got, err := ParseUSBID(tc.in)
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrUSBID) {
				t.Errorf("ParseUSBID(%q) = %v, %v; want ErrUSBID", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseUSBID(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestUSBIDListed: the same pair matches however either side writes it; this is
// what made 5e3:751 pass as a peripheral but not as a container.
func TestUSBIDListed(t *testing.T) {
	for _, tc := range []struct {
		list     []string
		vid, pid string
		want     bool
	}{
		{[]string{"5e3:751"}, "05e3", "0751", true},
		{[]string{"05E3:0751"}, "5e3", "751", true},
		{[]string{"0x05e3:0x0751"}, "05e3", "0751", true},
		{[]string{"05e3:0752", "05e3:0751"}, "05e3", "0751", true},
		{[]string{"05e3:0751"}, "05e3", "0752", false},
		{[]string{"05e3:0751"}, "", "", false},
		{[]string{"bogus", ":"}, "0000", "0000", false},
		{nil, "05e3", "0751", false},
	} {
		if got := USBIDListed(tc.list, tc.vid, tc.pid); got != tc.want {
			t.Errorf("USBIDListed(%q, %s, %s) = %v", tc.list, tc.vid, tc.pid, got)
		}
	}
}

func FuzzParseUSBID(f *testing.F) {
	for _, s := range []string{"0781:5567", "5e3:751", "0x1:0x2", ":", "zz:zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseUSBID(s)
		if err != nil {
			return
		}
		if len(id.Vendor) != 4 || len(id.Product) != 4 || id.String() != strings.ToLower(id.String()) {
			t.Fatalf("%q parsed to %+v", s, id)
		}
		again, err := ParseUSBID(id.String())
		if err != nil || again != id {
			t.Fatalf("%q: %v does not parse back (%v, %v)", s, id, again, err)
		}
		if !id.Matches(id.Vendor, id.Product) {
			t.Fatalf("%v does not match itself", id)
		}
	})
}

func TestParseUSBInterface(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		boot     bool
	}{
		{"03/01/01", "03/01/01", true},
		{"3:1:2", "03/01/02", true},
		{" 03/00/00 ", "03/00/00", false},
		{"08/06/50", "08/06/50", false},
		{"03/01", "", false},
		{"03/01/01/01", "", false},
		{"103/01/01", "", false},
		{"zz/01/01", "", false},
		{"03/01:01:", "", false},
		{"", "", false},
	} {
		got, err := ParseUSBInterface(tc.in)
		if (err == nil) != (tc.want != "") || (err == nil && got.String() != tc.want) {
			t.Errorf("ParseUSBInterface(%q) = %v, %v; want %q", tc.in, got, err, tc.want)
		}
		if err == nil && got.IsBootHID() != tc.boot {
			t.Errorf("%q boot HID = %v", tc.in, got.IsBootHID())
		}
	}
}

func TestNormInterfacesAndPinFor(t *testing.T) {
	got, err := NormInterfaces([]string{"03/01/01", "3:0:0", "03/01/01"})
	if err != nil || len(got) != 2 || got[0] != "03/00/00" || got[1] != "03/01/01" {
		t.Errorf("NormInterfaces = %v, %v", got, err)
	}
	if _, err := NormInterfaces([]string{"x"}); err == nil {
		t.Error("bad triple accepted")
	}
	h := &Host{DevicePins: []DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/01/01"}}}}
	if p, ok := h.PinFor("46d", "C52B"); !ok || p.Device != "046d:c52b" {
		t.Errorf("PinFor = %v, %v", p, ok)
	}
	if _, ok := h.PinFor("046d", "c52c"); ok {
		t.Error("PinFor matched another device")
	}
}

// FuzzParseUSBInterface: whatever is typed or stored, a triple that parses prints
// back to a canonical form that parses to the same triple.
func FuzzParseUSBInterface(f *testing.F) {
	for _, s := range []string{"03/01/01", "3:1:2", "ff/ff/ff", "03/01", "", "0x3/1/1", "03//01/01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, err := ParseUSBInterface(s)
		if err != nil {
			return
		}
		j, err := ParseUSBInterface(i.String())
		if err != nil || j != i || len(i.String()) != 8 {
			t.Fatalf("%q → %v → %q → %v, %v", s, i, i.String(), j, err)
		}
	})
}
