//go:build linux

package udev

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadRetriesInterruptedReceive: a receive interrupted by a signal (EINTR) is
// asked again; it must not end the event source as a socket error would. The
// netlink socket is stood in for by a readable socketpair and the receive call by
// a function that is interrupted twice before it delivers the kernel's message.
func TestReadRetriesInterruptedReceive(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[1], []byte("x")); err != nil { // readable for the poller
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "socketpair")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := os.ReadFile("testdata/kernel-usb-add.bin")
	if err != nil {
		t.Fatal(err)
	}
	creds := unix.UnixCredentials(&unix.Ucred{Pid: 0, Uid: 0, Gid: 0})
	calls := 0
	s := &nlSocket{f: f, rc: rc, group: groupKernel,
		recvmsg: func(fd int, p, oob []byte, flags int) (int, int, int, unix.Sockaddr, error) {
			calls++
			if calls <= 2 {
				return 0, 0, 0, nil, unix.EINTR
			}
			return copy(p, msg), copy(oob, creds), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groupKernel}, nil
		}}
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, err := s.read(buf, oob)
	if err != nil {
		t.Fatalf("read after two interrupted receives: %v (after %d calls)", err, calls)
	}
	if n != len(msg) || calls != 3 {
		t.Errorf("read %d bytes after %d calls, want %d after 3", n, calls, len(msg))
	}
	if _, err := parseKernelMessage(buf[:n]); err != nil {
		t.Errorf("message read is not the one sent: %v", err)
	}

	// Other errors still end the read, with the errno kept.
	s.recvmsg = func(int, []byte, []byte, int) (int, int, int, unix.Sockaddr, error) {
		return 0, 0, 0, nil, unix.EBADF
	}
	if _, err := s.read(buf, oob); !errors.Is(err, unix.EBADF) {
		t.Errorf("read with EBADF: %v, want EBADF", err)
	}
}
