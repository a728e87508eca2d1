// Package mountlog is the mount log: which audit row each mount, unmount and remount
// of a block device produces, what it says (device, file system, medium, custodian,
// who mounted it as far as the kernel and udisks tell), when a mount is a violation to
// undo, and how the mounts found at start are reconciled with the rows already
// written. The daemon wires it in: it resolves the device behind a mount (its standing
// decision, the registry), carries out unmounts and writes the rows (Env).
// See docs/mountlog.md.
package mountlog

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/mountwatch"
)

// Audit kinds of the mount log (package event; every row's details are an
// event.Mount).
const (
	KindAttach      = event.KindMountAttach
	KindDetach      = event.KindMountDetach
	KindRemount     = event.KindMountRemount
	KindSeenAtStart = event.KindMountSeenAtStart
	KindViolation   = event.KindMountViolation
)

// AttributionUdisks is added to mountwatch's attribution sources: udisksd mounted on
// a user's behalf; the uid is the "mounted-by-uid" of udisks' state file.
const AttributionUdisks = "udisks"

// Source delivers mount events; *mountwatch.Watcher and *mountwatch.Fake are two.
type Source interface {
	Next(ctx context.Context) (mountwatch.Event, error)
	Close() error
}

// Config configures the mount log. A zero Config (no Source, no ProcRoot) logs no
// mounts.
type Config struct {
	// ProcRoot, when set and Source is nil, opens the system's mount watcher on
	// <ProcRoot>/self (see internal/mountwatch) when the log starts.
	ProcRoot string
	Source   Source
	// Initial is the mount table when Source began watching; its block-device mounts
	// are logged as mount.seen-at-start before the first event.
	Initial []mountwatch.Mount
	// Method names the watcher (fanotify, poll) for the log.
	Method string
	// UdevData is the udev database, where the resolver finds the file system's UUID
	// and label.
	UdevData string
	// UdisksState is udisks' mount state file; "-" disables the udisks lookup, ""
	// reads mountwatch.DefaultUdisksStates.
	UdisksState string
	// UdisksWait bounds how long a mount below /media or /run/media waits for udisks
	// to write its state file (default 2 s).
	UdisksWait time.Duration
	// Hostname is the system's host name, recorded next to the registered host
	// number (default os.Hostname).
	Hostname string
	// LookupUser turns a uid into a user name (default mountwatch.LookupUserName).
	LookupUser func(uid int) string
}

// Decision is the standing decision for the disk behind a mount, as the daemon took it.
type Decision struct {
	Reason    string // policy reason
	Effective string // what was enforced: allow, allow-read-only, block
	Blocked   bool   // the medium may not be used at all
	ReadOnly  bool   // the medium may be used read-only only
	Disc      bool   // an optical disc (undone by eject)
	Parent    string // devpath of the USB device to deauthorize with it, if any
}

// Device is what is known about the device behind a mount.
type Device struct {
	DevPath   string // of the mounted node (disk or partition), "" when not in sysfs
	Disk      string // devpath of the whole disk
	Name      string // kernel name of the mounted node
	Partition string // kernel name of the partition, "" for a whole disk
	FSUUID    string
	FSLabel   string
	Virtual   bool // loop, dm, md …: no medium of its own
	Baseline  bool // an internal disk of the host
	Decision  *Decision
	Identity  media.Identity
	Medium    string // registered number
	Custodian string
	Level     media.Level
	Holder    string
	LookupErr string
}

// OpenMount is a mount the log last saw mounted (an attach or seen-at-start row with
// no detach after it).
type OpenMount struct {
	Seq        int64
	Medium     string
	Source     string
	MountPoint string
}

// Env is what the log needs from the daemon.
type Env interface {
	// Resolve links a mount event to its device.
	Resolve(ctx context.Context, ev mountwatch.Event) Device
	// Undo carries out the standing block decision for dev again (which unmounts it)
	// and says what it did.
	Undo(ctx context.Context, dev Device) (actions []string, errText string)
	// Record writes one audit row (retrying as the daemon does).
	Record(ctx context.Context, kind event.Kind, medium string, details event.Mount) error
	// OpenMounts lists the mounts the log last saw mounted.
	OpenMounts(ctx context.Context) ([]OpenMount, error)
	// HostNumber is the registered number of this host.
	HostNumber() string
	// Problem reports a failure that the status shows.
	Problem(format string, args ...any)
	// Violation is told about a mount that was undone (desktop notification).
	Violation(dev Device, actions []string)
}

// Log is the mount log of one daemon.
type Log struct {
	cfg Config
	env Env
	now func() time.Time
	log *slog.Logger
	// NoAudit writes no rows (benchmarks of the daemon without the database).
	NoAudit bool
	opened  bool
}

// New returns the mount log; zero fields of cfg are used as they are (Start fills
// the defaults).
func New(cfg Config, env Env, now func() time.Time, log *slog.Logger) *Log {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{cfg: cfg, env: env, now: now, log: log}
}

// Config returns the configuration, with what Open filled in.
func (l *Log) Config() Config { return l.cfg }

// Open opens the system's mount watcher when there is no Source but a ProcRoot, and
// fills in the defaults. Start calls it when it was not called before.
func (l *Log) Open() {
	l.opened = true
	mc := &l.cfg
	if mc.Source == nil && mc.ProcRoot != "" {
		if err := openWatcher(mc, l.now, l.log); err != nil {
			l.env.Problem("mount log: open watcher: %v", err)
		}
	}
	if mc.Source == nil {
		return
	}
	if mc.UdisksWait == 0 {
		mc.UdisksWait = 2 * time.Second
	}
	if mc.LookupUser == nil {
		mc.LookupUser = mountwatch.LookupUserName
	}
	if mc.Hostname == "" {
		mc.Hostname, _ = os.Hostname()
	}
}

// Start runs the mount log until ctx ends; the returned function stops it and waits,
// so that no row is half-written when the daemon returns. Without a source (and no
// ProcRoot to open one) it does nothing.
func (l *Log) Start(ctx context.Context) func() {
	if !l.opened {
		l.Open()
	}
	mc := &l.cfg
	if mc.Source == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := l.watch(ctx); err != nil {
			l.env.Problem("mount log stopped: %v", err)
		}
	})
	return func() { cancel(); wg.Wait(); mc.Source.Close() }
}

// watch logs the mounts present at start, then every change. Each event's row is
// committed before the next event is read.
func (l *Log) watch(ctx context.Context) error {
	l.log.Info("mount log started", "method", l.cfg.Method)
	l.Reconcile(ctx, mountwatch.SeenAtStart(l.cfg.Initial, mountwatch.Mount.BlockDevice, l.now()))
	for {
		ev, err := l.cfg.Source.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, mountwatch.ErrClosed) {
				return nil
			}
			return err
		}
		l.Handle(ctx, ev)
	}
}

// Gone splits the mounts found at start against the mounts the log last saw mounted:
// fresh are the present mounts the log never saw (to log as seen at start), gone the
// logged ones no longer mounted (unmounted while the daemon was down). A mount in
// both was logged before and is not logged again.
func Gone(open []OpenMount, present []mountwatch.Event) (fresh []mountwatch.Event, gone []OpenMount) {
	was := map[[2]string]bool{}
	for _, m := range open {
		was[[2]string{m.Source, m.MountPoint}] = true
	}
	still := map[[2]string]bool{}
	for _, ev := range present {
		k := [2]string{ev.Source, ev.MountPoint}
		if was[k] {
			still[k] = true
			continue
		}
		fresh = append(fresh, ev)
	}
	for _, m := range open {
		if !still[[2]string{m.Source, m.MountPoint}] {
			gone = append(gone, m)
		}
	}
	return fresh, gone
}

// Reconcile compares the mount table found at start with what the log last saw
// mounted (see Gone): new mounts are logged as seen at start, vanished ones get their
// detach row now. (A medium that is blocked now is detached by its own decision at
// start, which unmounts it.)
func (l *Log) Reconcile(ctx context.Context, present []mountwatch.Event) {
	open, err := l.env.OpenMounts(ctx)
	if err != nil {
		l.env.Problem("read the mounts last logged: %v", err)
	}
	fresh, gone := Gone(open, present)
	for _, ev := range fresh {
		l.Handle(ctx, ev)
	}
	if l.NoAudit {
		return
	}
	for _, m := range gone {
		if err := l.env.Record(ctx, KindDetach, m.Medium, GoneDetails(m, l.env.HostNumber(), l.cfg.Hostname, l.now())); err != nil {
			l.env.Problem("audit row for the unmount of %s at %s: %v", m.Source, m.MountPoint, err)
		}
	}
}

// GoneDetails is the detach row of a mount that went away while the daemon was down.
func GoneDetails(m OpenMount, hostNumber, hostname string, now time.Time) event.Mount {
	return event.Mount{AttachSeq: m.Seq, Attribution: mountwatch.AttributionNone, Device: event.MountDevice{Source: m.Source},
		Event: mountwatch.KindUnmount.String(), Host: hostNumber, Hostname: hostname, MountPoint: m.MountPoint,
		SeenAtStart: "unmounted while the daemon was not running", Time: now.UTC().Format(time.RFC3339Nano)}
}

// Classify says which row an event of a device gets, and whether it is a violation
// the daemon must undo: a mount (or a remount, or one found at start) of a medium
// whose standing decision blocks it, or a read-write mount of a medium allowed only
// read-only. Unmounts are never violations.
func Classify(ev mountwatch.Event, dev Device) (kind event.Kind, violation bool) {
	if d := dev.Decision; d != nil && ev.Kind != mountwatch.KindUnmount {
		switch {
		case d.Blocked && (ev.Kind == mountwatch.KindMount || ev.Kind == mountwatch.KindSeenAtStart ||
			ev.Kind == mountwatch.KindRemountRW || ev.Kind == mountwatch.KindRemount):
			return KindViolation, true
		case d.ReadOnly && !ev.ReadOnly:
			// BLKROSET should have made this impossible.
			return KindViolation, true
		}
	}
	switch ev.Kind {
	case mountwatch.KindMount:
		return KindAttach, false
	case mountwatch.KindUnmount:
		return KindDetach, false
	case mountwatch.KindSeenAtStart:
		return KindSeenAtStart, false
	default:
		return KindRemount, false
	}
}

// Handle writes the audit row of one mount event and, for a violation, has the daemon
// undo it. It returns when the row is committed (or writing it failed and the failure
// is reported as a problem).
func (l *Log) Handle(ctx context.Context, ev mountwatch.Event) {
	if !ev.BlockDevice() {
		return
	}
	dev := l.env.Resolve(ctx, ev)
	if dev.Baseline && ev.Kind != mountwatch.KindMount {
		// The host's own disks: only new mounts of them are logged (a bind of the
		// system disk is rare and worth a row); the rest is the system at work.
		return
	}
	l.attributeUdisks(ctx, &ev)
	kind, violation := Classify(ev, dev)
	var actions []string
	var undoErr string
	if violation {
		actions, undoErr = l.env.Undo(ctx, dev)
	}
	details := Details(ev, dev, l.env.HostNumber(), l.cfg.Hostname, l.cfg.Method)
	if violation {
		details.Reason, details.Actions, details.Error = dev.Decision.Reason, actions, undoErr
	}
	if l.NoAudit {
		return
	}
	if err := l.env.Record(ctx, kind, dev.Medium, details); err != nil {
		l.env.Problem("audit row for %s of %s at %s: %v", kind, ev.Source, ev.MountPoint, err)
		return
	}
	l.log.Info("mount", "kind", kind, "medium", dev.Medium, "source", ev.Source, "mountpoint", ev.MountPoint,
		"ro", ev.ReadOnly, "user", ev.User, "uid", ev.UID, "attribution", ev.Attribution)
	if violation {
		l.env.Violation(dev, actions)
	}
}

// attributeUdisks fills the who-fields of a mount that udisksd did on a user's behalf,
// from udisks' state file. The kernel (and fanotify) see only root/udisksd there.
func (l *Log) attributeUdisks(ctx context.Context, ev *mountwatch.Event) {
	mc := l.cfg
	if mc.UdisksState == "-" || (ev.Kind != mountwatch.KindMount && ev.Kind != mountwatch.KindSeenAtStart) {
		return
	}
	if ev.Attribution == mountwatch.AttributionFanotify && !strings.HasPrefix(ev.Comm, "udisks") {
		return // the kernel named the process, and it is not udisks
	}
	// udisks writes its state after the mount call returns: wait for it only where
	// udisks mounts (it mounts nowhere else unless fstab says so).
	wait := time.Duration(0)
	if ev.Kind == mountwatch.KindMount && (strings.HasPrefix(ev.MountPoint, "/media/") || strings.HasPrefix(ev.MountPoint, "/run/media/") ||
		strings.HasPrefix(ev.Comm, "udisks")) {
		wait = mc.UdisksWait
	}
	lookup := mc.LookupUser
	if lookup == nil {
		lookup = mountwatch.LookupUserName
	}
	devt := mountwatch.Makedev(ev.Major, ev.Minor)
	deadline := time.Now().Add(wait)
	for {
		for _, e := range mountwatch.UdisksEntries(mc.UdisksState) {
			if e.MountPoint == ev.MountPoint && (e.Device == 0 || e.Device == devt) {
				ev.Attribution = AttributionUdisks
				ev.UID = int(e.UID)
				ev.User = lookup(ev.UID)
				if ev.Comm == "" {
					ev.Comm = "udisksd"
				}
				return
			}
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Details is the row of one mount event.
func Details(ev mountwatch.Event, dev Device, hostNumber, hostname, method string) event.Mount {
	m := event.Mount{
		Event: ev.Kind.String(),
		Device: event.MountDevice{DevNum: ev.Device(), DevPath: dev.DevPath, Disk: filepath.Base(dev.Disk), Name: dev.Name,
			Partition: dev.Partition, Source: ev.Source},
		FSType:      ev.FSType,
		MountPoint:  ev.MountPoint,
		RO:          ev.ReadOnly,
		Options:     ev.Options,
		Host:        hostNumber,
		Hostname:    hostname,
		Time:        ev.Time.UTC().Format(time.RFC3339Nano),
		Attribution: ev.Attribution,
		Watcher:     method,
		FSUUID:      dev.FSUUID,
		FSLabel:     dev.FSLabel,
		LookupError: dev.LookupErr,
		PID:         ev.PID,
		Command:     ev.Comm,
	}
	if ev.Root != "" && ev.Root != "/" {
		m.FSRoot = ev.Root // a bind mount of a subtree
	}
	if ev.Kind == mountwatch.KindRemountRO || ev.Kind == mountwatch.KindRemountRW || ev.Kind == mountwatch.KindRemount {
		m.PrevOptions = &ev.PrevOptions
	}
	switch {
	case dev.Medium != "":
		m.Medium, m.MediumLevel, m.Custodian, m.Holder = dev.Medium, dev.Level.String(), dev.Custodian, dev.Holder
	case dev.Virtual:
		m.Medium = "virtual"
	case dev.Baseline:
		m.Medium = "baseline"
	default:
		m.Medium = "unregistered"
	}
	if dev.Identity.Key != "" {
		id := dev.Identity
		m.Identity = &id
	}
	if d := dev.Decision; d != nil {
		m.Decision = &event.MountDecision{Effective: d.Effective, Reason: d.Reason}
	}
	if ev.UID != mountwatch.UnknownID {
		uid := ev.UID
		m.UID, m.User = &uid, ev.User
	}
	if ev.LoginUID != mountwatch.UnknownID {
		uid := ev.LoginUID
		m.LoginUID, m.LoginUser = &uid, ev.LoginUser
	}
	return m
}
