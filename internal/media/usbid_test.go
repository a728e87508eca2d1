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
