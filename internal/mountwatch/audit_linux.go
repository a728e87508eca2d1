//go:build linux

package mountwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// AuditOptions configures OpenAudit.
type AuditOptions struct {
	// Enable turns the kernel's audit subsystem on (AUDIT_SET enabled=1) when it is
	// off, and off again at Close. Without it, audit that is off makes OpenAudit fail.
	Enable bool
	// LookupUser turns a uid into a user name (default LookupUserName).
	LookupUser func(uid int) string
	Logger     *slog.Logger
}

// KernelAudit reads the kernel's audit records of mount syscalls: it adds audit rules
// (key AuditKey) for mount, umount2, move_mount, fsmount and mount_setattr, and reads
// the records from the audit netlink multicast group (AUDIT_NLGRP_READLOG), which
// coexists with auditd (auditd owns the unicast stream; any number of readers may
// join the group). Needs CAP_AUDIT_CONTROL for the rules and CAP_AUDIT_READ for the
// group.
type KernelAudit struct {
	ctl   int      // unicast socket for requests to the kernel
	mc    *os.File // the multicast group
	rules [][]byte // as added, to delete at Close
	// enabledByUs is set when OpenAudit switched audit on.
	enabledByUs bool
	lookup      func(int) string
	log         *slog.Logger

	mu      sync.Mutex
	buf     AuditBuffer
	changed chan struct{} // closed and replaced on every Add
	lost    int
	tap     func(typ uint16, data []byte) // tests: every record as read
	done    chan struct{}
	closed  bool

	// sendto and recvfrom are unix.Sendto and unix.Recvfrom on ctl; tests stand in
	// for the kernel.
	sendto   func(fd int, p []byte, flags int, to unix.Sockaddr) error
	recvfrom func(fd int, p []byte, flags int) (int, unix.Sockaddr, error)
}

// ErrAuditLocked: the audit configuration is immutable (auditctl -e 2) and has no
// rule of ours.
var ErrAuditLocked = errors.New("kernel audit configuration is locked")

// OpenAudit opens the audit netlink sockets, switches audit on if asked, and adds the
// rules. It fails (and leaves nothing behind) when the kernel has no audit
// (EPROTONOSUPPORT), the process lacks the capabilities (EPERM), audit is off and
// Enable is not set, or audit is locked.
func OpenAudit(o AuditOptions) (*KernelAudit, error) {
	if o.LookupUser == nil {
		o.LookupUser = LookupUserName
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctl, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	k := &KernelAudit{ctl: ctl, sendto: unix.Sendto, recvfrom: unix.Recvfrom, lookup: o.LookupUser, log: o.Logger.With("component", "kernel-audit"),
		changed: make(chan struct{}), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			k.cleanup()
		}
	}()
	tv := unix.Timeval{Sec: 2}
	_ = unix.SetsockoptTimeval(ctl, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(ctl, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("audit netlink bind: %w", err)
	}
	st, err := k.status()
	if err != nil {
		return nil, fmt.Errorf("audit status: %w", err)
	}
	switch {
	case st.enabled == 2:
		return nil, ErrAuditLocked
	case st.enabled == 0 && !o.Enable:
		return nil, errors.New("kernel audit is off")
	case st.enabled == 0:
		if err := k.setEnabled(1); err != nil {
			return nil, fmt.Errorf("switch kernel audit on: %w", err)
		}
		k.enabledByUs = true
		k.log.Info("kernel audit switched on for the mount log (it is switched off again when the daemon stops)")
	}
	// Join the group before adding the rules, so no record is missed.
	mc, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	_ = unix.SetsockoptInt(mc, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	if err := unix.Bind(mc, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (unix.AUDIT_NLGRP_READLOG - 1)}); err != nil {
		unix.Close(mc)
		return nil, fmt.Errorf("join the audit multicast group: %w", err)
	}
	k.mc = os.NewFile(uintptr(mc), "audit-multicast")
	for _, arch := range auditArches() {
		rule := AuditRule(arch, AuditSyscallNumbers(arch), AuditKey)
		err := k.request(unix.AUDIT_ADD_RULE, rule, nil)
		if err != nil && !errors.Is(err, unix.EEXIST) { // EEXIST: left by an earlier run; ours all the same
			return nil, fmt.Errorf("add audit rule for arch %08x: %w", arch, err)
		}
		k.rules = append(k.rules, rule)
	}
	go k.read()
	ok = true
	return k, nil
}

// auditArches are the architectures whose mount syscalls get a rule: the native one
// and, on amd64, i386 (32-bit programs call mount with other numbers).
func auditArches() []uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386}
	case "arm64":
		return []uint32{unix.AUDIT_ARCH_AARCH64}
	case "386":
		return []uint32{unix.AUDIT_ARCH_I386}
	}
	return nil
}

// AuditRule is the audit_rule_data of an exit-filter rule that always records the
// successful calls of syscalls on arch, with key.
func AuditRule(arch uint32, syscalls []int, key string) []byte {
	const words = unix.AUDIT_BITMASK_SIZE
	const fields = unix.AUDIT_MAX_FIELDS
	b := make([]byte, 4*(3+words+3*fields+1)+len(key))
	ne := binary.NativeEndian
	put := func(i int, v uint32) { ne.PutUint32(b[4*i:], v) }
	put(0, unix.AUDIT_FILTER_EXIT)
	put(1, unix.AUDIT_ALWAYS)
	for _, sc := range syscalls {
		if sc >= 0 && sc < 32*words {
			w := 3 + sc/32
			put(w, ne.Uint32(b[4*w:])|1<<(sc%32))
		}
	}
	fs := []struct{ field, value uint32 }{
		{unix.AUDIT_ARCH, arch},
		{unix.AUDIT_SUCCESS, 1},
		{unix.AUDIT_FILTERKEY, uint32(len(key))},
	}
	put(2, uint32(len(fs)))
	for i, f := range fs {
		put(3+words+i, f.field)
		put(3+words+fields+i, f.value)
		put(3+words+2*fields+i, unix.AUDIT_EQUAL)
	}
	put(3+words+3*fields, uint32(len(key)))
	copy(b[4*(3+words+3*fields+1):], key)
	return b
}

type auditStatus struct{ enabled, pid uint32 }

func (k *KernelAudit) status() (auditStatus, error) {
	var reply []byte
	if err := k.request(unix.AUDIT_GET, nil, &reply); err != nil {
		return auditStatus{}, err
	}
	if len(reply) < 16 {
		return auditStatus{}, fmt.Errorf("short audit status (%d bytes)", len(reply))
	}
	ne := binary.NativeEndian
	return auditStatus{enabled: ne.Uint32(reply[4:]), pid: ne.Uint32(reply[12:])}, nil
}

func (k *KernelAudit) setEnabled(v uint32) error {
	b := make([]byte, 11*4) // struct audit_status
	binary.NativeEndian.PutUint32(b[0:], unix.AUDIT_STATUS_ENABLED)
	binary.NativeEndian.PutUint32(b[4:], v)
	return k.request(unix.AUDIT_SET, b, nil)
}

var auditSeq uint32
var auditSeqMu sync.Mutex

// request sends one message to the kernel and waits for its acknowledgement or, when
// reply is not nil, for the reply of the request's own type (stored in *reply; the
// kernel sends replies from another thread, so an acknowledgement could overtake it:
// a request with a reply asks for none).
func (k *KernelAudit) request(typ uint16, payload []byte, reply *[]byte) error {
	auditSeqMu.Lock()
	auditSeq++
	seq := auditSeq
	auditSeqMu.Unlock()
	msg := make([]byte, unix.NLMSG_HDRLEN+len(payload))
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], typ)
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK)
	if reply != nil {
		flags = unix.NLM_F_REQUEST
	}
	ne.PutUint16(msg[6:], flags)
	ne.PutUint32(msg[8:], seq)
	copy(msg[unix.NLMSG_HDRLEN:], payload)
	// A signal (the Go runtime's preemption among them) interrupts a blocking call
	// with EINTR: the request is asked again, not given up.
	err := k.sendto(k.ctl, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	for errors.Is(err, unix.EINTR) {
		err = k.sendto(k.ctl, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := k.recvfrom(k.ctl, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for _, m := range splitNetlink(buf[:n]) {
			if m.seq != seq {
				continue
			}
			switch m.typ {
			case unix.NLMSG_ERROR:
				if len(m.data) < 4 {
					return errors.New("short netlink error")
				}
				if e := int32(ne.Uint32(m.data)); e != 0 {
					return unix.Errno(-e)
				}
				if reply == nil {
					return nil
				}
			case typ:
				if reply != nil {
					*reply = append([]byte(nil), m.data...)
					return nil
				}
			}
		}
	}
}

type netlinkMsg struct {
	typ  uint16
	seq  uint32
	data []byte
}

// splitNetlink splits a datagram into its netlink messages. A length the header gets
// wrong (older kernels sent audit records with a short nlmsg_len) takes the rest of
// the datagram.
func splitNetlink(b []byte) []netlinkMsg {
	var out []netlinkMsg
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(ne.Uint32(b[0:]))
		m := netlinkMsg{typ: ne.Uint16(b[4:]), seq: ne.Uint32(b[8:])}
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			l = len(b)
		}
		m.data = b[unix.NLMSG_HDRLEN:l]
		out = append(out, m)
		next := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if next > len(b) {
			break
		}
		b = b[next:]
	}
	return out
}

// read takes records from the multicast group until Close.
func (k *KernelAudit) read() {
	defer close(k.done)
	var asm AuditAssembler
	buf := make([]byte, 1<<16)
	for {
		n, err := k.mc.Read(buf)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				k.mu.Lock()
				k.lost++
				k.mu.Unlock()
				k.log.Warn("kernel audit records lost (receive buffer full)")
				continue
			}
			if !errors.Is(err, os.ErrClosed) {
				k.log.Warn("kernel audit reader stopped", "err", err)
			}
			return
		}
		for _, m := range splitNetlink(buf[:n]) {
			k.mu.Lock()
			tap := k.tap
			k.mu.Unlock()
			if tap != nil {
				tap(m.typ, m.data)
			}
			if am, ok := asm.Add(m.typ, m.data); ok {
				k.add(am)
			}
		}
	}
}

func (k *KernelAudit) add(m AuditMount) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.buf.Add(m, time.Now())
	close(k.changed)
	k.changed = make(chan struct{})
}

// Attribute fills the who-fields of ev from the audit record of the syscall that made
// it, waiting up to wait for the record (the kernel sends it after the syscall
// returns, while the mount table changes during it). It reports whether it found one.
func (k *KernelAudit) Attribute(ctx context.Context, ev *Event, wait time.Duration) bool {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		m, ok := k.buf.Take(*ev, time.Now())
		changed := k.changed
		k.mu.Unlock()
		if ok {
			m.Apply(ev, k.lookup)
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-k.done:
			return false
		}
	}
}

// Close deletes the rules, switches audit off again if OpenAudit switched it on, and
// stops reading.
func (k *KernelAudit) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	k.mu.Unlock()
	err := k.cleanup()
	<-k.done
	return err
}

func (k *KernelAudit) cleanup() error {
	var errs []error
	for _, r := range k.rules {
		if err := k.request(unix.AUDIT_DEL_RULE, r, nil); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete audit rule: %w", err))
		}
	}
	k.rules = nil
	if k.enabledByUs {
		// Leave it on if auditd registered meanwhile: it switched it on for itself.
		if st, err := k.status(); err == nil && st.pid != 0 {
			k.enabledByUs = false
		}
	}
	if k.enabledByUs {
		if err := k.setEnabled(0); err != nil {
			errs = append(errs, fmt.Errorf("switch kernel audit off: %w", err))
		}
		k.enabledByUs = false
	}
	if k.mc != nil {
		k.mc.Close()
	} else {
		close(k.done)
	}
	unix.Close(k.ctl)
	return errors.Join(errs...)
}
