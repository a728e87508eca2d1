package mountwatch

import (
	"errors"
	"slices"
	"testing"
)

func TestParseUdisksMounts(t *testing.T) {
	want := []UdisksMount{{MountPoint: "/media/alice/KINGSTON", Device: Makedev(8, 1), UID: 1000},
		{MountPoint: "/mnt/fstab", Device: Makedev(259, 65537), UID: 0, Fstab: true}}
	got, err := ParseUdisksMounts(EncodeUdisksMounts(want))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got, err := ParseUdisksMounts(nil); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := ParseUdisksMounts([]byte{1, 2, 3, 0xff}); !errors.Is(err, ErrUdisksState) {
		t.Error("garbage parsed")
	}
}

func FuzzParseUdisksMounts(f *testing.F) {
	f.Add(EncodeUdisksMounts([]UdisksMount{{MountPoint: "/media/a/B", Device: 2049, UID: 1000}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { ParseUdisksMounts(b) })
}
