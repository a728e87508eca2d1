//go:build linux

package udev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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

// kernelMessage is a message of the kernel's group in its layout.
func kernelMessage(action, devpath, subsystem string) []byte {
	return []byte(action + "@" + devpath + "\x00ACTION=" + action + "\x00DEVPATH=" + devpath +
		"\x00SUBSYSTEM=" + subsystem + "\x00SEQNUM=1234\x00")
}

// filtered tells whether the kernel lets msg through prog, on a real socket.
func filtered(t *testing.T, prog []unix.SockFilter) func(msg []byte) bool {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	if err := attachFilter(fds[1], prog); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	return func(msg []byte) bool {
		if _, err := unix.Write(fds[0], msg); err != nil {
			t.Fatal(err)
		}
		_, err := readRetrying(fds[1], buf)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatal(err)
		}
		return err == nil
	}
}

// The kernel's group filter passes the subsystems asked for, at every header length
// it scans, drops the others, and lets through whatever it cannot judge.
func TestKernelSubsystemFilter(t *testing.T) {
	pass := filtered(t, kernelSubsystemFilter([]string{"usb"}, nil, kernelScan))
	for _, c := range []struct {
		name string
		msg  []byte
		want bool
	}{
		{"recorded usb add", readMsg(t, "kernel-usb-add.bin"), true},
		{"recorded block change", readMsg(t, "kernel-loop7-change.bin"), false},
		{"usb interface", kernelMessage("bind", "/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0", "usb"), true},
		{"usbmisc", kernelMessage("add", "/devices/x", "usbmisc"), false},
		{"us", kernelMessage("add", "/devices/x", "us"), false},
		{"scsi_host", kernelMessage("add", "/devices/x/host0", "scsi_host"), false},
		{"empty subsystem", kernelMessage("add", "/devices/x", ""), false},
		{"another layout", []byte("add@/devices/x\x00ACTION=add\x00SUBSYSTEM=block\x00DEVPATH=/devices/x\x00"), true},
		{"header only", []byte("add@/devices/x\x00"), true},
		{"cut in the name", []byte("add@/d\x00ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=us"), true},
		{"header past the scan", kernelMessage("add", "/devices/"+strings.Repeat("x", kernelScan), "block"), true},
	} {
		if got := pass(c.msg); got != c.want {
			t.Errorf("%s: through the filter %v, want %v", c.name, got, c.want)
		}
	}
	// every header length the scan covers, for each action
	for _, action := range []string{"add", "remove", "change", "bind", "unbind", "move", "online", "offline"} {
		for n := 1; n+len(action)+1 < kernelScan+8; n++ {
			devpath := "/" + strings.Repeat("d", n)
			long := len(action)+1+len(devpath) >= kernelScan
			for _, sub := range []string{"usb", "block"} {
				want := sub == "usb" || long
				if got := pass(kernelMessage(action, devpath, sub)); got != want {
					t.Fatalf("%s of a %d-byte devpath in %s: through the filter %v, want %v", action, len(devpath), sub, got, want)
				}
			}
		}
	}
}

// kernelMessageWith is a kernel message with variables after SUBSYSTEM=, as the
// kernel adds them (DEVTYPE= right after it for a device without a device number).
func kernelMessageWith(action, devpath, subsystem string, vars ...string) []byte {
	msg := action + "@" + devpath + "\x00ACTION=" + action + "\x00DEVPATH=" + devpath + "\x00SUBSYSTEM=" + subsystem + "\x00"
	for _, v := range vars {
		msg += v + "\x00"
	}
	return []byte(msg)
}

// A dropped device type: a USB interface's events are dropped, its device's and
// everything the filter cannot judge pass.
func TestKernelSubsystemFilterDropsAType(t *testing.T) {
	drop := map[string]string{"usb": "usb_interface"}
	pass := filtered(t, kernelSubsystemFilter([]string{"usb", "block"}, drop, kernelScan))
	const iface = "/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0"
	for _, c := range []struct {
		name string
		msg  []byte
		want bool
	}{
		{"recorded usb_device add", readMsg(t, "kernel-usb-add.bin"), true},
		{"interface add", kernelMessageWith("add", iface, "usb", "DEVTYPE=usb_interface", "PRODUCT=46f4/1/0", "SEQNUM=7"), false},
		{"interface bind", kernelMessageWith("bind", iface, "usb", "DEVTYPE=usb_interface", "DRIVER=usb-storage", "SEQNUM=8"), false},
		{"interface remove, nothing after the type", kernelMessageWith("remove", iface, "usb", "DEVTYPE=usb_interface"), false},
		{"usb_device", kernelMessageWith("add", "/devices/x/usb2/2-1", "usb", "MAJOR=189", "MINOR=1", "DEVNAME=bus/usb/002/002", "DEVTYPE=usb_device"), true},
		{"a device type first that is not the one dropped", kernelMessageWith("add", "/devices/x/usb2/2-1", "usb", "DEVTYPE=usb_device"), true},
		{"a longer type", kernelMessageWith("add", iface, "usb", "DEVTYPE=usb_interfaces"), true},
		{"a shorter type", kernelMessageWith("add", iface, "usb", "DEVTYPE=usb_interfac"), true},
		{"synthetic: the type after the caller's variables", kernelMessageWith("add", iface, "usb", "SYNTH_UUID=0", "DEVTYPE=usb_interface"), true},
		{"cut in the type", []byte("add@/d\x00ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=usb\x00DEVTYPE=usb_inter"), true},
		{"nothing after the subsystem", []byte("add@/d\x00ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=usb\x00"), true},
		{"block with that type", kernelMessageWith("add", "/devices/x/sda", "block", "DEVTYPE=usb_interface"), true},
		{"block disk", kernelMessageWith("add", "/devices/x/sda", "block", "MAJOR=8", "MINOR=0", "DEVNAME=sda", "DEVTYPE=disk"), true},
		{"another subsystem with the type", kernelMessageWith("add", iface, "usbmisc", "DEVTYPE=usb_interface"), false},
	} {
		if got := pass(c.msg); got != c.want {
			t.Errorf("%s: through the filter %v, want %v", c.name, got, c.want)
		}
	}
	// every header length the scan covers
	for n := 1; n < kernelScan; n++ {
		devpath := "/" + strings.Repeat("d", n)
		long := len("bind@")+len(devpath) >= kernelScan
		if got := pass(kernelMessageWith("bind", devpath, "usb", "DEVTYPE=usb_interface", "SEQNUM=1")); got != long {
			t.Fatalf("interface bind of a %d-byte devpath: through the filter %v, want %v", len(devpath), got, long)
		}
		if !pass(kernelMessageWith("bind", devpath, "usb", "DEVTYPE=usb_device", "SEQNUM=1")) {
			t.Fatalf("usb_device bind of a %d-byte devpath dropped", len(devpath))
		}
	}
}

// Several names, of every length the comparison handles (word, half-word, byte).
func TestKernelSubsystemFilterNames(t *testing.T) {
	names := []string{"usb", "block", "tty", "hidraw", "net", "a", "abcdefg"}
	pass := filtered(t, kernelSubsystemFilter(names, nil, kernelScan))
	for _, sub := range append(slices.Clone(names), "bloc", "blocks", "ab", "abcdef", "hid", "scsi", "usb_device") {
		want := slices.Contains(names, sub)
		if got := pass(kernelMessage("add", "/devices/virtual/x", sub)); got != want {
			t.Errorf("%s: through the filter %v, want %v", sub, got, want)
		}
	}
}

// rawRecvmsg reports what unix.Recvmsg does: the bytes, the sender's credentials and
// a truncated message.
func TestRawRecvmsg(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{64, 4} {
		if _, err := unix.Write(fds[0], []byte("ACTION=add")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, size)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
		n, oobn, flags, _, err := rawRecvmsg(fds[1], buf, oob, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(size, 10); n != want || string(buf[:n]) != "ACTION=add"[:want] {
			t.Errorf("buffer of %d: read %q", size, buf[:n])
		}
		if trunc := flags&unix.MSG_TRUNC != 0; trunc != (size < 10) {
			t.Errorf("buffer of %d: MSG_TRUNC %v", size, trunc)
		}
		if !rootSent(oob[:oobn]) == (os.Geteuid() == 0) {
			t.Errorf("buffer of %d: credentials of uid 0 %v, running as %d", size, rootSent(oob[:oobn]), os.Geteuid())
		}
	}
	if _, _, _, _, err := rawRecvmsg(fds[1], make([]byte, 8), nil, unix.MSG_DONTWAIT); err != unix.EAGAIN {
		t.Errorf("empty socket: %v, want EAGAIN", err)
	}
}

// The kernel compiles a socket filter when it is attached: the kernel group's filter
// is unrolled, so its size is what the daemon's start pays for it.
func BenchmarkAttachKernelFilter(b *testing.B) {
	prog := kernelSubsystemFilter([]string{"usb"}, nil, kernelScan)
	for b.Loop() {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
		if err != nil {
			b.Skipf("no netlink socket here: %v", err)
		}
		if err := attachFilter(fd, prog); err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
	b.ReportMetric(float64(len(prog)), "insns")
}

// Every scan the daemon may fall back to (kernelScans) is a program the kernel takes,
// and judges right every header length: within the scan by the subsystem, past it by
// passing the message to the reader.
func TestKernelSubsystemFilterScans(t *testing.T) {
	drop := map[string]string{"usb": "usb_interface"}
	for _, scan := range kernelScans {
		t.Run(fmt.Sprint(scan), func(t *testing.T) {
			pass := filtered(t, kernelSubsystemFilter([]string{"usb"}, drop, scan))
			for n := 1; n < scan+8; n++ {
				devpath := "/" + strings.Repeat("d", n)
				long := len("add@")+len(devpath) >= scan
				if got := pass(kernelMessage("add", devpath, "block")); got != long {
					t.Fatalf("block add of a %d-byte devpath: through the filter %v, want %v", len(devpath), got, long)
				}
				if !pass(kernelMessage("add", devpath, "usb")) {
					t.Fatalf("usb add of a %d-byte devpath dropped", len(devpath))
				}
				if got := pass(kernelMessageWith("add", devpath, "usb", "DEVTYPE=usb_interface")); got != long {
					t.Fatalf("interface add of a %d-byte devpath: through the filter %v, want %v", len(devpath), got, long)
				}
			}
		})
	}
}
