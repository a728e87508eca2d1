//go:build linux

package udev

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The hash is MurmurHash2: SMHasher's verification of it (hashes of the keys 0, 0 1,
// 0 1 2, … with seeds 256, 255, …, then the hash of those hashes) is 0x27864C1E.
func TestMurmurHash2Verification(t *testing.T) {
	key := make([]byte, 256)
	hashes := make([]byte, 0, 256*4)
	for i := range 256 {
		key[i] = byte(i)
		hashes = binary.LittleEndian.AppendUint32(hashes, murmurHash2(key[:i], uint32(256-i)))
	}
	if got := murmurHash2(hashes, 0); got != 0x27864C1E {
		t.Errorf("verification value %#08x, want 0x27864c1e", got)
	}
}

// udevMessage is a libudev monitor message of one subsystem, with its header's hash.
func udevMessage(subsystem string) []byte {
	props := []byte("ACTION=add\x00DEVPATH=/devices/x\x00SUBSYSTEM=" + subsystem + "\x00")
	b := make([]byte, udevHeaderSize, udevHeaderSize+len(props))
	copy(b, udevPrefix)
	binary.BigEndian.PutUint32(b[8:], udevMagic)
	binary.NativeEndian.PutUint32(b[12:], udevHeaderSize)
	binary.NativeEndian.PutUint32(b[16:], udevHeaderSize)
	binary.NativeEndian.PutUint32(b[20:], uint32(len(props)))
	binary.BigEndian.PutUint32(b[24:], subsystemHash(subsystem))
	return append(b, props...)
}

// The filter, run by the kernel on a real socket, lets through the messages of the
// subsystems asked for and anything without libudev's magic, and drops the rest.
func TestSubsystemFilter(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := attachFilter(fds[1], subsystemFilter([]string{"block", "net", "tty", "hidraw"})); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptTimeval(fds[1], unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: int64(50 * time.Millisecond / time.Microsecond)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		msg  []byte
		pass bool
	}{
		{udevMessage("block"), true},
		{udevMessage("hidraw"), true},
		{udevMessage("net"), true},
		{udevMessage("tty"), true},
		{udevMessage("scsi"), false},
		{udevMessage("usb"), false},
		{udevMessage("scsi_host"), false},
		{[]byte("add@/devices/x\x00ACTION=add\x00SUBSYSTEM=scsi\x00"), true}, // not libudev's: the parser refuses it
	} {
		if _, err := unix.Write(fds[0], c.msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := readRetrying(fds[1], buf)
		got := err == nil
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatal(err)
		}
		if got != c.pass {
			t.Errorf("%q: through the filter %v, want %v", c.msg[min(len(c.msg), 40):], got, c.pass)
		}
		if got {
			if sub, ok := messageSubsystem(groupUdev, buf[:n]); c.msg[0] == 'l' && (!ok || sub == "") {
				t.Errorf("%q: passed message unreadable", buf[:n])
			}
		}
	}
}

// readRetrying reads once, asking again when a signal (the Go runtime's preemption
// signal, say) interrupts the wait, as the daemon's receive loop does.
func readRetrying(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Read(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}
