package mountwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Method names a watcher implementation.
type Method string

const (
	MethodAuto     Method = "auto"     // fanotify if the kernel has mount events, else poll
	MethodFanotify Method = "fanotify" // fanotify mount events + mountinfo diff; knows the pid
	MethodPoll     Method = "poll"     // poll(2) on mountinfo + diff; no pid
)

// Options configure Open. Zero values pick the defaults.
type Options struct {
	ProcRoot   string           // default "/proc"
	Method     Method           // default MethodAuto
	Now        func() time.Time // default time.Now
	Keep       func(Mount) bool // events for other mounts are dropped; nil keeps all
	LookupUser func(uid int) string
	Logger     *slog.Logger
	// AttributionWait bounds how long a mount seen in mountinfo waits for
	// its fanotify event before it is reported without one. Default 50 ms.
	AttributionWait time.Duration
}

// Watcher is the Linux mount watcher. It is a Source. Next must be called
// from one goroutine at a time; Close may be called from any.
type Watcher struct {
	opts   Options
	method Method
	log    *slog.Logger

	nextMu  sync.Mutex // held by Next while it polls; Close takes it to free fds
	closed  atomic.Bool
	closeMu sync.Mutex
	freed   bool

	miFd   int // <procRoot>/self/mountinfo, opened with unix.Open (see docs/mountlog.md)
	wakeFd int // eventfd: Close and context cancellation wake poll
	fanFd  int // fanotify group, or -1

	initial []Mount
	prev    []Mount
	queue   []Event
	buf     []byte

	uniqueToOld map[uint64]int // fanotify unique mount id → mountinfo id
	pending     []fanRecord
}

type fanRecord struct {
	detach bool
	pid    int
	unique uint64
	oldID  int      // 0 when unknown
	proc   *Process // read from /proc when the event arrived; nil if gone
	at     time.Time
}

// Open starts watching the mount namespace of <procRoot>/self. The mount
// table at that moment is Initial(); changes after it come from Next.
func Open(opts Options) (*Watcher, error) {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.Method == "" {
		opts.Method = MethodAuto
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LookupUser == nil {
		opts.LookupUser = LookupUserName
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AttributionWait == 0 {
		opts.AttributionWait = 50 * time.Millisecond
	}
	w := &Watcher{opts: opts, log: opts.Logger.With("component", "mountwatch"),
		miFd: -1, wakeFd: -1, fanFd: -1}
	var err error
	switch opts.Method {
	case MethodPoll:
	case MethodFanotify, MethodAuto:
		// Mark before the first read so nothing falls between them.
		if err = w.openFanotify(); err != nil {
			if opts.Method == MethodFanotify {
				return nil, err
			}
			w.log.Info("fanotify mount events unavailable, watching mountinfo only", "err", err)
		}
	default:
		return nil, fmt.Errorf("mount watcher method %q unknown", opts.Method)
	}
	w.method = MethodPoll
	if w.fanFd >= 0 {
		w.method = MethodFanotify
	}
	if err := w.openPoll(); err != nil {
		w.free()
		return nil, err
	}
	return w, nil
}

func (w *Watcher) openPoll() error {
	p := filepath.Join(w.opts.ProcRoot, "self", "mountinfo")
	// Not os.Open: Go's poller would swallow the POLLPRI notification.
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	w.miFd = fd
	if w.wakeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	table, err := w.readTable()
	if err != nil {
		return err
	}
	w.initial, w.prev = table, table
	return nil
}

func (w *Watcher) openFanotify() error {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_REPORT_MNT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY)
	if err != nil {
		return fmt.Errorf("fanotify_init(FAN_REPORT_MNT): %w", err)
	}
	ns := filepath.Join(w.opts.ProcRoot, "self", "ns", "mnt")
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MNTNS,
		unix.FAN_MNT_ATTACH|unix.FAN_MNT_DETACH, unix.AT_FDCWD, ns); err != nil {
		unix.Close(fd)
		return fmt.Errorf("fanotify_mark(FAN_MARK_MNTNS) %s: %w", ns, err)
	}
	ids, err := uniqueMountIDs()
	if err != nil {
		unix.Close(fd)
		return err
	}
	w.fanFd = fd
	w.uniqueToOld = ids
	return nil
}

// Method reports which implementation runs.
func (w *Watcher) Method() Method { return w.method }

// Initial returns the mount table read at Open.
func (w *Watcher) Initial() []Mount { return w.initial }

// Next implements Source.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	w.nextMu.Lock()
	defer w.nextMu.Unlock()
	stop := context.AfterFunc(ctx, w.wake)
	defer stop()
	for {
		if w.closed.Load() {
			return Event{}, ErrClosed
		}
		if len(w.queue) > 0 {
			e := w.queue[0]
			w.queue = w.queue[1:]
			return e, nil
		}
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		if err := w.wait(); err != nil {
			return Event{}, err
		}
	}
}

// wait blocks in poll(2) until something happens, then queues events.
func (w *Watcher) wait() error {
	fds := []unix.PollFd{
		{Fd: int32(w.miFd), Events: unix.POLLPRI},
		{Fd: int32(w.wakeFd), Events: unix.POLLIN},
	}
	if w.fanFd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(w.fanFd), Events: unix.POLLIN})
	}
	if _, err := unix.Poll(fds, -1); err != nil {
		if errors.Is(err, unix.EINTR) {
			return nil
		}
		return fmt.Errorf("poll mountinfo: %w", err)
	}
	if fds[1].Revents != 0 {
		var b [8]byte
		_, _ = unix.Read(w.wakeFd, b[:])
	}
	changed := fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
	if w.fanFd >= 0 && fds[2].Revents&unix.POLLIN != 0 {
		w.readFanotify()
		changed = true
	}
	if !changed {
		return nil
	}
	return w.rescan()
}

func (w *Watcher) rescan() error {
	table, err := w.readTable()
	if err != nil {
		return err
	}
	now := w.opts.Now()
	var events []Event
	for _, e := range Diff(w.prev, table, now) {
		if w.opts.Keep == nil || w.opts.Keep(e.mount()) {
			events = append(events, e)
		}
	}
	w.prev = table
	if w.fanFd >= 0 {
		if w.attributeAll(events) && w.opts.AttributionWait > 0 {
			// A mount can show in mountinfo before its fanotify event is
			// readable; give it a moment.
			fds := []unix.PollFd{{Fd: int32(w.fanFd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(fds, int(w.opts.AttributionWait/time.Millisecond)); n > 0 {
				w.readFanotify()
				w.attributeAll(events)
			}
		}
		w.expirePending(now)
	}
	w.queue = append(w.queue, events...)
	return nil
}

// attributeAll matches fanotify records to mount and unmount events and
// reports whether any mount or unmount is still without one.
func (w *Watcher) attributeAll(events []Event) (missing bool) {
	for i := range events {
		e := &events[i]
		if e.Kind != KindMount && e.Kind != KindUnmount || e.Attribution != AttributionNone {
			continue
		}
		j := w.matchPending(e)
		if j < 0 {
			missing = true
			continue
		}
		attribute(e, w.pending[j].pid, w.pending[j].proc, w.opts.LookupUser)
		w.pending = append(w.pending[:j], w.pending[j+1:]...)
	}
	return missing
}

func (w *Watcher) matchPending(e *Event) int {
	detach := e.Kind == KindUnmount
	for j, r := range w.pending {
		if r.detach == detach && r.oldID == e.MountID {
			return j
		}
	}
	return -1
}

func (w *Watcher) expirePending(now time.Time) {
	kept := w.pending[:0]
	for _, r := range w.pending {
		if now.Sub(r.at) < 2*time.Second {
			kept = append(kept, r)
		} else {
			w.log.Debug("fanotify mount event matched no mountinfo change",
				"pid", r.pid, "unique_id", r.unique, "detach", r.detach)
		}
	}
	w.pending = kept
}

func (w *Watcher) readTable() ([]Mount, error) {
	if _, err := unix.Seek(w.miFd, 0, 0); err != nil {
		return nil, fmt.Errorf("seek mountinfo: %w", err)
	}
	if w.buf == nil {
		w.buf = make([]byte, 64<<10)
	}
	n := 0
	for {
		if n == len(w.buf) {
			w.buf = append(w.buf, make([]byte, len(w.buf))...)
		}
		r, err := unix.Read(w.miFd, w.buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read mountinfo: %w", err)
		}
		if r == 0 {
			break
		}
		n += r
	}
	table, err := ParseMountinfo(w.buf[:n])
	if err != nil {
		return nil, fmt.Errorf("parse mountinfo: %w", err)
	}
	return table, nil
}

func (w *Watcher) wake() {
	if w.wakeFd >= 0 {
		var one = [8]byte{1}
		_, _ = unix.Write(w.wakeFd, one[:])
	}
}

// Close stops the watcher; a Next in progress returns ErrClosed.
func (w *Watcher) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	w.wake()
	w.nextMu.Lock()
	defer w.nextMu.Unlock()
	w.free()
	return nil
}

func (w *Watcher) free() {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	if w.freed {
		return
	}
	w.freed = true
	for _, fd := range []*int{&w.miFd, &w.wakeFd, &w.fanFd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}
