package mountwatch

import (
	"encoding/binary"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// fanEvent builds one FAN_REPORT_MNT event as the kernel lays it out.
func fanEvent(mask uint64, pid int32, unique uint64) []byte {
	ne := binary.NativeEndian
	b := make([]byte, 24+16)
	ne.PutUint32(b[0:], uint32(len(b)))
	b[4] = unix.FANOTIFY_METADATA_VERSION
	ne.PutUint16(b[6:], 24)
	ne.PutUint64(b[8:], mask)
	ne.PutUint32(b[16:], ^uint32(0)) // FAN_NOFD
	ne.PutUint32(b[20:], uint32(pid))
	b[24] = unix.FAN_EVENT_INFO_TYPE_MNT
	ne.PutUint16(b[26:], 16)
	ne.PutUint64(b[32:], unique)
	return b
}

func TestParseFanotify(t *testing.T) {
	two := append(fanEvent(unix.FAN_MNT_ATTACH, 100, 1<<31+5), fanEvent(unix.FAN_MNT_DETACH, 101, 1<<31+6)...)
	want := []fanRecord{{pid: 100, unique: 1<<31 + 5}, {detach: true, pid: 101, unique: 1<<31 + 6}}
	if got := parseFanotify(two); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	bad := fanEvent(unix.FAN_MNT_ATTACH, 1, 1)
	binary.NativeEndian.PutUint32(bad[0:], 4096) // longer than the buffer
	noInfo := fanEvent(unix.FAN_MNT_ATTACH, 1, 1)
	noInfo[24] = unix.FAN_EVENT_INFO_TYPE_FID
	for name, b := range map[string][]byte{"truncated": two[:30], "bad length": bad, "no mnt info": noInfo, "empty": nil} {
		if got := parseFanotify(b); len(got) != 0 {
			t.Errorf("%s: got %+v, want nothing", name, got)
		}
	}
}

func FuzzParseFanotify(f *testing.F) {
	f.Add(fanEvent(unix.FAN_MNT_ATTACH, 100, 7))
	f.Fuzz(func(t *testing.T, b []byte) { parseFanotify(b) })
}
