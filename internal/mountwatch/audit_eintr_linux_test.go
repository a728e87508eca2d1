package mountwatch

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAuditRequestRetriesInterruptedCalls: a request to the kernel's audit socket
// whose send or receive a signal interrupts (EINTR) is asked again, not given up: at
// daemon start a status request once failed so, and mount attribution was off for the
// daemon's whole life. The kernel is stood in for: the send is interrupted once, the
// receive twice, then the acknowledgement of the request comes.
func TestAuditRequestRetriesInterruptedCalls(t *testing.T) {
	var sent []byte
	sends, recvs := 0, 0
	k := &KernelAudit{ctl: -1,
		sendto: func(_ int, p []byte, _ int, _ unix.Sockaddr) error {
			sends++
			if sends == 1 {
				return unix.EINTR
			}
			sent = append([]byte(nil), p...)
			return nil
		},
		recvfrom: func(_ int, p []byte, _ int) (int, unix.Sockaddr, error) {
			recvs++
			if recvs <= 2 {
				return 0, nil, unix.EINTR
			}
			// NLMSG_ERROR with error 0: the acknowledgement of the request sent.
			ne := binary.NativeEndian
			ack := make([]byte, unix.NLMSG_HDRLEN+4+len(sent))
			ne.PutUint32(ack[0:], uint32(len(ack)))
			ne.PutUint16(ack[4:], unix.NLMSG_ERROR)
			ne.PutUint32(ack[8:], ne.Uint32(sent[8:])) // the request's sequence number
			copy(ack[unix.NLMSG_HDRLEN+4:], sent)
			return copy(p, ack), &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, nil
		}}
	if err := k.request(unix.AUDIT_SET, make([]byte, 8), nil); err != nil {
		t.Fatalf("request after interrupted calls: %v (sends %d, receives %d)", err, sends, recvs)
	}
	if sends != 2 || recvs != 3 {
		t.Errorf("sends %d, receives %d; want 2 and 3", sends, recvs)
	}

	// Other errors are the request's answer, with the errno kept.
	k.recvfrom = func(int, []byte, int) (int, unix.Sockaddr, error) { return 0, nil, unix.EBADF }
	if err := k.request(unix.AUDIT_SET, make([]byte, 8), nil); !errors.Is(err, unix.EBADF) {
		t.Errorf("request with EBADF: %v, want EBADF", err)
	}
}
