//go:build linux

package udev

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nlSocket is one NETLINK_KOBJECT_UEVENT socket bound to one multicast group. It is
// non-blocking and read through Go's poller, so a goroutine waiting on it costs no
// wake-ups while nothing happens.
type nlSocket struct {
	f     *os.File
	rc    syscall.RawConn
	group uint32
	// recvmsg is rawRecvmsg; tests stand in for the kernel.
	recvmsg func(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error)
}

func openNetlink(group uint32, rcvbuf int) (*nlSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("uevent netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: group}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind uevent netlink group %d (needs root): %w", group, err)
	}
	// The sender's credentials come with every message: only root's count.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("uevent netlink SO_PASSCRED: %w", err)
	}
	if rcvbuf > 0 {
		// Best effort: SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it the default
		// buffer stays and an overflow ends in a rescan.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("uevent-netlink-%d", group))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("uevent netlink: %w", err)
	}
	return &nlSocket{f: f, rc: rc, group: group, recvmsg: rawRecvmsg}, nil
}

// Errors of nlSocket.read besides the socket's own.
var (
	errOverflow  = errors.New("uevent netlink receive buffer overflowed: events were lost")
	errTruncated = errors.New("uevent netlink message truncated")
	errSender    = errors.New("uevent netlink message from an untrusted sender")
)

// read receives one message into buf and returns its length. It returns
// errOverflow when the kernel dropped messages (ENOBUFS), errTruncated for a
// message longer than buf, and errSender for a message that is not from the kernel
// (kernel group) or not from root (udev group); the caller drops those messages.
func (s *nlSocket) read(buf, oob []byte) (int, error) {
	var n, oobn, flags int
	var from unix.Sockaddr
	var rerr error
	err := s.rc.Read(func(fd uintptr) bool {
		// A signal interrupts a receive with EINTR: it is asked again, like the
		// mount watcher's audit socket, never taken as the socket's end.
		for {
			n, oobn, flags, from, rerr = s.recvmsg(int(fd), buf, oob, 0)
			if rerr != unix.EINTR {
				break
			}
		}
		return rerr != unix.EAGAIN && rerr != unix.EWOULDBLOCK
	})
	if err != nil {
		return 0, err
	}
	switch {
	case rerr == unix.ENOBUFS:
		return 0, errOverflow
	case rerr != nil:
		return 0, fmt.Errorf("uevent netlink receive: %w", rerr)
	case flags&unix.MSG_TRUNC != 0:
		return 0, errTruncated
	}
	sa, ok := from.(*unix.SockaddrNetlink)
	if !ok || sa.Groups != s.group {
		return 0, errSender
	}
	if s.group == groupKernel && sa.Pid != 0 {
		return 0, errSender // only the kernel sends on the kernel group
	}
	if !rootSent(oob[:oobn]) {
		return 0, errSender
	}
	return n, nil
}

// rootSent reports whether the message's SCM_CREDENTIALS name uid 0.
func rootSent(oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if c, err := unix.ParseUnixCredentials(&m); err == nil {
			return c.Uid == 0
		}
	}
	return false
}

func (s *nlSocket) close() error { return s.f.Close() }

// filter attaches a socket filter (subsystemFilter).
func (s *nlSocket) filter(prog []unix.SockFilter) error {
	var ferr error
	if err := s.rc.Control(func(fd uintptr) { ferr = attachFilter(int(fd), prog) }); err != nil {
		return err
	}
	return ferr
}

// rawRecvmsg is unix.Recvmsg for a netlink socket without the Go runtime's system
// call bookkeeping (unix.RawSyscall): the socket is non-blocking, so the call never
// waits, and entering it the ordinary way would wake the runtime's monitor thread on
// every event (see sysfs's raw_linux.go).
func rawRecvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error) {
	var sa unix.RawSockaddrNetlink
	var iov unix.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
	}
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&sa)), Namelen: unix.SizeofSockaddrNetlink, Iov: &iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, 0, nil, e
	}
	if sa.Family == unix.AF_NETLINK {
		from = &unix.SockaddrNetlink{Family: sa.Family, Pad: sa.Pad, Pid: sa.Pid, Groups: sa.Groups}
	}
	return int(r), int(msg.Controllen), int(msg.Flags), from, nil
}
