package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
)

// Store is what the daemon needs from the registry.
type Store interface {
	Host(ctx context.Context) (media.Host, error)
	MediumByIdentity(ctx context.Context, key string) (media.Medium, error)
	// UpgradeIdentityKey moves a registration to a newer identity key (an optical
	// disc registered under its version 1 key), with an audit row.
	UpgradeIdentityKey(ctx context.Context, oldKey, newKey string) (media.Medium, error)
	Person(ctx context.Context, handle string) (media.Person, error)
	// RecordEvent writes one audit row; details are kind's type in package event.
	RecordEvent(ctx context.Context, kind event.Kind, medium string, details any) (*audit.Event, error)
	// OpenMounts lists the mounts the log last saw mounted (see mounts.go).
	OpenMounts(ctx context.Context) ([]registry.OpenMount, error)
}

// Enforcer carries out decisions; *enforce.Enforcer and *enforce.Recorder are two.
type Enforcer interface {
	LockUSBDefault() ([]string, error)
	// AuthorizeUSB writes to whatever device is at devpath: the daemon uses it only
	// to deauthorize. AuthorizeExact writes to exactly the device that was read, or
	// returns enforce.ErrDeviceChanged.
	AuthorizeUSB(devpath string, on bool) (changed bool, err error)
	AuthorizeExact(u enforce.USBDevice, on bool) (changed bool, err error)
	ReadOnly(t enforce.Target) error
	Detach(t enforce.Target) error
	Eject(t enforce.Target) error
	Release(t enforce.Target) error
	Forget(name string)
	ClearMarkers() error
}

// ReasonContainer is the reason for authorizing an unregistered USB card reader or
// optical drive listed by VID:PID in the host profile (policy.ReasonContainer); see
// the package documentation.
const ReasonContainer = policy.ReasonContainer

// Config wires a Daemon.
type Config struct {
	Source   udev.Source
	Store    Store
	Enforcer Enforcer
	// Read reads one device (identity.ReadDeviceHeld with the system's roots): a USB
	// device comes with its sysfs directory held open (Device.Held), which the daemon
	// authorizes through and closes.
	Read func(devpath string) (identity.Device, error)
	// ReadEvent, if set, reads the USB device of the kernel uevent being handled with
	// the event's properties standing for its uevent file (identity.ReadUSBEventHeld:
	// three system calls fewer on every plug's decision path); Read is used without it,
	// and for every read but the first decision of a device that was just added.
	ReadEvent func(devpath string, uevent map[string]string) (identity.Device, error)
	// Sys is the sysfs root, for rescans.
	Sys string
	Now func() time.Time
	Log *slog.Logger
	// Recent is how many decisions Status keeps (default 100).
	Recent int
	// NoAudit skips the audit rows (benchmarks of the loop alone).
	NoAudit bool
	// Notify, when set, is told about every block (desktop notification).
	Notify func(Record)
	// CheckIn, when set, checks in registered media plugged into a vault station
	// during an open campaign (see checkin.go).
	CheckIn VaultStation
	// Mounts wires the mount log (mounts.go); zero logs no mounts.
	Mounts MountConfig
	// Ready, when set, is called once by Run when every device present at start has
	// been decided: after the source's settled marker (udev.ActionSettled), or after
	// a rescan that replaced a start-up backlog lost to a queue overflow. The service
	// tells systemd READY=1 here.
	Ready func()
	// Watchdog, when positive, is how often Run calls Ping (systemd's WATCHDOG=1,
	// at half of WatchdogSec; see WatchdogInterval). The pings come from the event
	// loop itself, between events, so a loop stuck in one stops them and systemd
	// restarts the service; an idle loop wakes only to ping.
	Watchdog time.Duration
	Ping     func()
	// Index, when set, answers the decisions' register reads (host profile, media,
	// custodians) from memory instead of the store: it is brought up to date before
	// every event (regindex.Index.Fresh) and reloaded on every rescan. The store
	// stays the source of truth and still takes every audit row.
	Index *regindex.Index
	// IndexLoaded, when set, is told how many media the index holds after every
	// successful load (the service sizes the runtime's memory limit by it).
	IndexLoaded func(media int)
	// Office, when set (a host enrolled with an office server), tells Status about the
	// server and the policy in force.
	Office func() *OfficeStatus
	// Decided, when set, is told about every decision recorded (the office report of
	// media seen).
	Decided func(Record)
}

// Record is one decision as the daemon took and carried it out.
type Record struct {
	Time    time.Time `json:"time"`
	Stage   string    `json:"stage"` // usb-device, block-device, disc
	DevPath string    `json:"devpath"`
	Name    string    `json:"name"`
	Label   string    `json:"label,omitempty"`
	Parent  string    `json:"parent,omitempty"` // devpath of the USB device a block device sits behind
	// Behind names the disks (or logical units without a disk yet) seen behind a USB
	// device when there is more than one: the anomaly of an extra disk behind a
	// registered identity.
	Behind    []string        `json:"behind,omitempty"`
	Identity  media.Identity  `json:"identity"`
	Decision  policy.Decision `json:"decision"`
	Effective policy.Verdict  `json:"effective"`
	Actions   []string        `json:"actions,omitempty"`
	Error     string          `json:"error,omitempty"`
	// Note says what else happened, such as another device taking the port between
	// reading a device and authorizing it (then the record is about the newcomer).
	Note string `json:"note,omitempty"`
	// Message is the decision in words, English and Chinese: made for what shows or
	// sends a record (Status, the notification, the office), not for every decision.
	Message [2]string `json:"message"`

	// stamp is what was read of a USB device (bus and device number, descriptors),
	// so that re-applying an allow reaches only that device.
	stamp sysfs.USBStamp
}

// Counts are totals since start.
type Counts struct {
	Events    int64 `json:"events"`
	Decisions int64 `json:"decisions"`
	Allowed   int64 `json:"allowed"`
	Blocked   int64 `json:"blocked"`
	Errors    int64 `json:"errors"`
}

// Status is what `mediagate status` shows.
type Status struct {
	State      string    `json:"state"` // starting, running, stopped
	Started    time.Time `json:"started"`
	Source     string    `json:"source,omitempty"`
	Host       string    `json:"host,omitempty"`
	HostLevel  string    `json:"host_level,omitempty"`
	Mode       string    `json:"mode,omitempty"`
	LockedHubs []string  `json:"locked_hubs,omitempty"`
	Counts     Counts    `json:"counts"`
	Present    []Record  `json:"present"`
	Recent     []Record  `json:"recent"`
	Problems   []string  `json:"problems,omitempty"`
	// Office is set on a host enrolled with an office server.
	Office *OfficeStatus `json:"office,omitempty"`
	// Memory is the daemon's own memory when the status was taken.
	Memory *MemoryStatus `json:"memory,omitempty"`
}

// Redact removes from the status what identifies a medium beyond its number: serials,
// identity keys, descriptor hashes. Callers who are not root or officers get this.
func (st *Status) Redact() {
	for _, list := range [][]Record{st.Present, st.Recent} {
		for i := range list {
			r := &list[i]
			r.Identity = media.Identity{Kind: r.Identity.Kind, VendorID: r.Identity.VendorID, ProductID: r.Identity.ProductID}
			r.Decision.Detail = ""
		}
	}
}

// Daemon is the event loop and its state.
type Daemon struct {
	cfg Config
	log *slog.Logger

	work sync.Mutex // one event (or rescan) at a time

	mu      sync.Mutex // guards the fields below
	state   string
	started time.Time
	source  string
	present map[string]*Record // by devpath: the decision standing for each device
	recent  []Record
	counts  Counts
	hubs    []string
	vault   vaultState
	mode    media.Mode
	host    media.Host
	probs   []string

	// scan is the rescan under way, nil outside one; only touched while work is held.
	scan *rescanRun

	// reads answers the register reads of decisions: Config.Index or the store.
	reads registerReads
	// received is when the source got the event being handled (work held), and
	// enforced how long after it the decision was carried out: logged with it.
	received time.Time
	enforced time.Duration
	// freshDue asks the index reads to bring the index up to date at their first
	// read in the current event (see indexReads).
	freshDue atomic.Bool

	// rows are the audit rows queued for their commit, in order (rows.go).
	rowsMu sync.Mutex
	rows   []registry.EventRow
	// lastAlone is when a blocked decision's row was last committed while other
	// events waited (rows.go, recordLater; d.work held).
	lastAlone time.Time
	// auditDown says that the last commit of audit rows failed: media are blocked
	// until one succeeds (policy.Input.AuditUnavailable). auditTurned asks for the
	// devices present to be decided again, after the log failed or recovered (rows.go).
	auditDown, auditTurned atomic.Bool
}

// New returns a Daemon; call Run.
func New(cfg Config) *Daemon {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Recent <= 0 {
		cfg.Recent = 100
	}
	d := &Daemon{cfg: cfg, log: cfg.Log.With("component", "daemon"), state: "starting", present: map[string]*Record{},
		reads: cfg.Store}
	if cfg.Index != nil {
		d.reads = indexReads{x: cfg.Index, due: &d.freshDue, d: d}
	}
	return d
}

// SetSource sets the event source (when it is opened after Start) and its name for
// Status.
func (d *Daemon) SetSource(src udev.Source, name string) {
	d.mu.Lock()
	d.cfg.Source, d.source = src, name
	d.mu.Unlock()
}

// Start locks the root hubs (unless the host is in audit mode) and clears stale
// automounter markers. Run calls it; it is separate so the caller can report
// readiness after it.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	d.started = d.cfg.Now()
	d.mu.Unlock()
	d.refreshIndex(ctx)
	host, hostErr := d.reads.Host(ctx)
	mode := media.ModeEnforce
	if hostErr == nil && host.Mode == media.ModeAudit {
		mode = media.ModeAudit
	}
	if err := d.cfg.Enforcer.ClearMarkers(); err != nil {
		d.problem("clear automounter markers: %v", err)
	}
	var hubs []string
	if mode == media.ModeEnforce {
		var err error
		hubs, err = d.cfg.Enforcer.LockUSBDefault()
		if err != nil {
			d.problem("lock USB root hubs: %v", err)
		}
	}
	d.mu.Lock()
	d.mode, d.hubs, d.state = mode, hubs, "running"
	if hostErr == nil {
		d.host = host
	}
	d.mu.Unlock()
	d.log.Info("mediagate daemon started", "mode", mode, "host", host.Number, "level", host.Level, "locked_hubs", hubs)
	if !d.cfg.NoAudit {
		if err := d.record(ctx, event.KindDaemonStart, "", event.DaemonStart{LockedHubs: hubs, Mode: mode, PID: os.Getpid()}); err != nil {
			d.problem("audit row for the start: %v", err)
		}
	}
	return nil
}

func (d *Daemon) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.log.Error(msg)
	d.mu.Lock()
	d.probs = append(d.probs, msg)
	if len(d.probs) > 20 {
		d.probs = d.probs[len(d.probs)-20:]
	}
	d.mu.Unlock()
}

// Run processes events until ctx ends (a clean stop, nil) or the source fails.
func (d *Daemon) Run(ctx context.Context) error {
	defer func() {
		d.mu.Lock()
		d.state = "stopped"
		d.mu.Unlock()
	}()
	stopMounts := d.startMounts(ctx)
	defer stopMounts()
	ready := d.cfg.Ready == nil
	watchdog := d.cfg.Watchdog > 0 && d.cfg.Ping != nil
	var lastPing time.Time
	ping := func() {
		if watchdog {
			d.cfg.Ping()
			lastPing = time.Now()
		}
	}
	for {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if watchdog {
			if time.Since(lastPing) >= d.cfg.Watchdog {
				ping()
			}
			rctx, cancel = context.WithDeadline(ctx, lastPing.Add(d.cfg.Watchdog))
		}
		ev, err := d.cfg.Source.Receive(rctx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			continue // idle: time to ping
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, udev.ErrClosed) {
				if !d.cfg.NoAudit {
					if err := d.record(ctx, event.KindDaemonStop, "", event.DaemonStop{PID: os.Getpid()}); err != nil {
						d.problem("audit row for the stop: %v", err)
					}
				}
				return nil
			}
			return fmt.Errorf("device events: %w", err)
		}
		if ev.Action != udev.ActionSettled {
			d.handle(ctx, ev)
		}
		settled := !ready && (ev.Action == udev.ActionSettled || ev.Action == udev.ActionRescan)
		// The rows of a burst are committed together, when no event waits any more;
		// the start-up decisions' rows before READY.
		if settled || d.queuedRows() >= maxQueuedRows || !d.backlog() {
			d.flushRows(ctx)
		}
		d.auditRescan(ctx) // turned by a commit while the event was handled (flushRows runs it too)
		if settled {
			ready = true
			d.log.Info("devices present at start decided", "decisions", d.status().Counts.Decisions)
			d.cfg.Ready()
			ping()
		}
	}
}

// Handle processes one event and commits its audit rows. It is safe to call from
// several goroutines; events are handled one at a time.
func (d *Daemon) Handle(ctx context.Context, ev udev.Event) {
	d.handle(ctx, ev)
	d.flushRows(ctx)
}

// handle processes one event; its decisions' audit rows stay queued (rows.go).
func (d *Daemon) handle(ctx context.Context, ev udev.Event) {
	d.work.Lock()
	defer d.work.Unlock()
	d.mu.Lock()
	d.counts.Events++
	d.mu.Unlock()
	d.received, d.enforced = ev.Received, 0
	if ev.Action == udev.ActionRescan {
		d.refreshIndex(ctx)
	} else {
		d.freshDue.Store(true) // checked at the event's first register read, if any
	}
	switch {
	case ev.Action == udev.ActionRescan:
		d.mu.Lock()
		before := maps.Clone(d.present)
		d.mu.Unlock()
		d.rescan(ctx, "overflow", before)
	case ev.IsUSBDevice():
		d.handleUSB(ctx, ev)
	case ev.IsBlock():
		d.handleBlock(ctx, ev)
	case udev.IsNode(ev.Subsystem):
		d.handleNode(ctx, ev)
	}
	// usb_interface and everything else: the decision on the usb_device stands.
}

func isRootHub(devpath string) bool { return strings.HasPrefix(filepath.Base(devpath), "usb") }

func (d *Daemon) standing(devpath string) *Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.present[devpath]
}

func (d *Daemon) drop(devpath string) {
	d.mu.Lock()
	delete(d.present, devpath)
	d.mu.Unlock()
	d.vault.forget(devpath)
}

func (d *Daemon) handleUSB(ctx context.Context, ev udev.Event) {
	if isRootHub(ev.DevPath) {
		if ev.Action == udev.ActionAdd {
			d.lockHubs(ctx) // a root hub that appeared later (dock, controller reset)
		}
		return
	}
	if ev.Action == udev.ActionRemove {
		d.drop(ev.DevPath)
		return
	}
	if r := d.standing(ev.DevPath); r != nil {
		if ev.Action == udev.ActionBind && r.Effective != policy.Block {
			// A driver bound to an allowed device: the kernel binds drivers only to an
			// authorized device, so it is as decided (our own write causes this event).
			return
		}
		if ev.Action != udev.ActionAdd {
			d.reapplyUSB(ctx, r) // change/bind/unbind: written behind our back?
			return
		}
		// A repeated add (enumeration and queued event): the same device keeps its
		// decision; a different one at the same port is decided afresh.
		dev, err := d.cfg.Read(ev.DevPath)
		dev.Close()
		if err == nil && dev.Identity.Key == r.Identity.Key && dev.Identity.DescriptorHash == r.Identity.DescriptorHash {
			d.reapplyUSB(ctx, r)
			return
		}
	}
	var props map[string]string
	if ev.Action == udev.ActionAdd && !ev.Enumerated {
		props = ev.Properties
	}
	d.decideUSB(ctx, ev.DevPath, props)
}

// reapplyUSB writes the standing decision again if sysfs disagrees (someone wrote
// authorized behind our back); normally it writes nothing. An allow is written only to
// the device it was decided for (its stamp): if another device is at the port now,
// that one is decided afresh.
func (d *Daemon) reapplyUSB(ctx context.Context, r *Record) {
	on := r.Effective != policy.Block
	var changed bool
	var err error
	if on {
		changed, err = d.cfg.Enforcer.AuthorizeExact(enforce.USBDevice{DevPath: r.DevPath, Stamp: r.stamp}, true)
		if errors.Is(err, enforce.ErrDeviceGone) {
			// Unplugged: the kernel unbinds the driver before it removes the device, and
			// by then the device cannot be read. Nothing is written and no row: a device
			// still there is decided afresh at its next event or rescan, and another one
			// at the port is held unauthorized by the kernel until its add is decided.
			d.log.Debug("the allowed device is gone; its decision is dropped", "devpath", r.DevPath, "err", err)
			d.drop(r.DevPath)
			return
		}
		if errors.Is(err, enforce.ErrDeviceChanged) {
			d.log.Warn("another device is at the port of an allowed one; deciding it", "devpath", r.DevPath, "err", err)
			d.drop(r.DevPath)
			d.decideUSB(ctx, r.DevPath, nil)
			return
		}
	} else {
		changed, err = d.cfg.Enforcer.AuthorizeUSB(r.DevPath, false)
	}
	if err != nil && !os.IsNotExist(errors.Unwrap(err)) && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("re-apply decision", "devpath", r.DevPath, "err", err)
	}
	if changed {
		d.log.Warn("authorized state changed behind mediagate; decision re-applied", "devpath", r.DevPath, "authorized", on)
		if !d.cfg.NoAudit {
			details := r.details()
			details.Tamper = "authorized written behind mediagate; decision re-applied"
			if err := d.record(context.Background(), event.KindDeviceTamper, r.Decision.Medium, details); err != nil {
				d.problem("audit row for tampering with %s: %v", r.Name, err)
			}
		}
	}
}

// maxReads bounds how often decideUSB reads a device again when another device took
// its place before it was authorized.
const maxReads = 3

// decideUSB decides a usb_device and carries the decision out on exactly the device
// that was read: if another device took the port before the write, it is read and
// decided again.
func (d *Daemon) decideUSB(ctx context.Context, devpath string, event map[string]string) *Record {
	note := ""
	for attempt := 1; ; attempt++ {
		r, again := d.decideUSBOnce(ctx, devpath, event, note, attempt == maxReads)
		event = nil // read again: the device changed since the event
		if !again {
			return r
		}
		d.log.Warn("the USB device changed between reading and authorizing it; deciding again", "devpath", devpath, "attempt", attempt)
		note = fmt.Sprintf("another device took the port between reading and authorizing (%d time(s)); decided again", attempt)
	}
}

// decideUSBOnce reads, decides and carries out once. again reports that the device
// changed before the authorized write (enforce.ErrDeviceChanged) and nothing was
// recorded; on the last attempt the change is an error and the port is deauthorized.
func (d *Daemon) decideUSBOnce(ctx context.Context, devpath string, event map[string]string, note string, last bool) (*Record, bool) {
	var dev identity.Device
	var err error
	if event != nil && d.cfg.ReadEvent != nil {
		dev, err = d.cfg.ReadEvent(devpath, event)
	} else {
		dev, err = d.cfg.Read(devpath)
	}
	defer dev.Close()
	if errors.Is(err, identity.ErrNotFound) {
		d.drop(devpath)
		return nil, false
	}
	host, hostp := d.hostProfile(ctx)
	now := d.cfg.Now() // one clock read per decision: in some guests every read is a system call
	r := &Record{Time: now, Stage: "usb-device", DevPath: devpath, Name: filepath.Base(devpath), Note: note}
	if dev.USB != nil {
		r.stamp = dev.USB.Stamp
	}
	if err != nil {
		// Unreadable: policy blocks it, whatever the mode.
		r.Decision = policy.Decide(policy.Input{Host: hostp, Device: policy.Device{USB: true, Unreadable: true}, Now: now})
		r.Error = err.Error()
	} else {
		r.Name, r.Label, r.Identity = dev.Name, dev.Label, dev.Identity
		pd := usbPolicyDevice(dev)
		if !heldByKernel(dev) {
			r.Behind, pd.Disks = d.disksBehind(devpath, "")
		}
		d.rememberBehind(devpath, &pd, r)
		in := policy.Input{Host: hostp, Device: pd, Now: now, Twin: d.twin(devpath, dev.Identity)}
		if pd.Storage || pd.Identity.Kind == media.KindUSBDisk || pd.Identity.Kind == media.KindSD {
			d.lookup(ctx, &in, r)
			d.vaultCheckIn(ctx, host, devpath, in.Record, dev.Identity)
		}
		r.Decision = policy.Decide(in)
	}
	r.Effective = r.Decision.Effective()
	if r.Effective == policy.Block && !heldByKernel(dev) {
		// A device blocked while it has disks (decided again after its record changed):
		// unmount and detach them first, so nothing stays mounted from it.
		for _, disk := range d.disksUnder(devpath) {
			if err := d.cfg.Enforcer.Detach(enforce.Target{SysPath: disk}); err != nil {
				r.Error = joinErr(r.Error, err)
			} else {
				r.Actions = append(r.Actions, "detached "+filepath.Base(disk))
			}
		}
	}
	var changed bool
	if r.Effective == policy.Block {
		if !stillHeld(dev) {
			changed, err = d.cfg.Enforcer.AuthorizeUSB(devpath, false)
		}
	} else {
		changed, err = d.cfg.Enforcer.AuthorizeExact(enforce.USBDevice{DevPath: devpath, Dir: dev.Held, Stamp: r.stamp}, true)
		if errors.Is(err, enforce.ErrDeviceChanged) && !last {
			return nil, true
		}
		if err != nil {
			// Not authorized: make sure whatever is at the port stays off.
			if _, derr := d.cfg.Enforcer.AuthorizeUSB(devpath, false); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}
	if !d.received.IsZero() {
		d.enforced = time.Since(d.received)
	}
	switch {
	case err != nil:
		r.Error = joinErr(r.Error, err)
	case changed && r.Effective == policy.Block:
		r.Actions = append(r.Actions, "deauthorized")
	case changed:
		r.Actions = append(r.Actions, "authorized")
	}
	d.finish(ctx, r)
	return r, false
}

// heldByKernel tells whether the device was read as unauthorized: the kernel holds
// a new device so (authorized_default=0) until the daemon decides, and binds no
// driver to its interfaces meanwhile, so there is no disk or unit behind it to look
// for — the walk below it would cost a hundred system calls for nothing. A device
// whose authorized attribute could not be read counts as authorized (walked).
func heldByKernel(dev identity.Device) bool { return dev.USB != nil && !dev.USB.Authorized }

// stillHeld tells whether a device read as held by the kernel still reads
// authorized=0 through the directory held open since it was read: then a block has
// nothing to write, and its row follows at once. Anything else (the device gone,
// another value, no held directory) goes through the enforcer, which checks the
// device now at the port and deauthorizes it.
func stillHeld(dev identity.Device) bool {
	if !heldByKernel(dev) || dev.Held == nil {
		return false
	}
	b, err := dev.Held.ReadFile("authorized", 16)
	return err == nil && strings.TrimSpace(string(b)) == "0"
}

// disksUnder lists the devpaths of the whole disks below a USB device in sysfs.
func (d *Daemon) disksUnder(devpath string) []string { return sysfs.DisksUnder(d.cfg.Sys, devpath) }

// rememberBehind fills in, during a rescan, what was last seen behind a USB device that
// is still the same device: the capacity of its disk and how many disks it had. A
// device blocked for them was deauthorized, so they are gone from sysfs now; without
// them the rescan would authorize it again only to block it once more.
func (d *Daemon) rememberBehind(devpath string, pd *policy.Device, r *Record) {
	if d.scan == nil {
		return
	}
	prev := d.scan.before[devpath]
	if prev == nil || prev.Stage != "usb-device" || prev.Identity.Key != pd.Identity.Key ||
		prev.Identity.DescriptorHash != pd.Identity.DescriptorHash {
		return
	}
	if pd.Identity.Capacity == 0 && prev.Identity.Capacity > 0 {
		pd.Identity.Capacity = prev.Identity.Capacity
		r.Identity.Capacity = prev.Identity.Capacity
	}
	if len(prev.Behind) > pd.Disks {
		pd.Disks, r.Behind = len(prev.Behind), prev.Behind
	}
}

// disksBehind counts the disks behind a USB device for policy.Device.Disks: its
// logical units or its whole disks (with disk, the one being decided), whichever are
// more, so a unit whose disk is not announced yet counts too. When there is more
// than one it also returns their names, for the audit row.
func (d *Daemon) disksBehind(usb, disk string) ([]string, int) {
	disks, units := sysfs.DisksAndUnitsUnder(d.cfg.Sys, usb)
	if disk != "" && !slices.Contains(disks, disk) {
		disks = append(disks, disk)
	}
	n := max(len(disks), len(units))
	if n < 2 {
		return nil, n
	}
	var names []string
	covered := map[string]bool{}
	for _, p := range disks {
		names = append(names, filepath.Base(p))
		covered[filepath.Dir(filepath.Dir(p))] = true // the unit it sits on
	}
	for _, u := range units {
		if !covered[u] {
			names = append(names, filepath.Base(u))
		}
	}
	slices.Sort(names)
	return names, n
}

// twin returns the devpath of another present USB device with the same identity key,
// or "".
func (d *Daemon) twin(devpath string, id media.Identity) string {
	if id.Key == "" {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, r := range d.present {
		if p != devpath && r.Stage == "usb-device" && r.Identity.Key == id.Key {
			return p
		}
	}
	return ""
}

func usbPolicyDevice(dev identity.Device) policy.Device {
	pd := policy.Device{Identity: dev.Identity, USB: true, Classes: dev.Identity.InterfaceClasses}
	if dev.USB != nil {
		pd.VendorID, pd.ProductID = dev.USB.VendorID, dev.USB.ProductID
		pd.Interfaces = dev.USB.Interfaces
		pd.Storage = dev.HasFunction(identity.FuncStorage)
		pd.MTP = dev.HasFunction(identity.FuncMTP)
	}
	return pd
}

// hostProfile reads the host profile on every decision, so changes apply at once.
// Any error gives nil: policy then blocks (host-not-initialised).
func (d *Daemon) hostProfile(ctx context.Context) (media.Host, *media.Host) {
	h, err := d.reads.Host(ctx)
	if err != nil {
		if !errors.Is(err, registry.ErrNoHost) {
			d.log.Error("read host profile", "err", err)
		}
		return media.Host{}, nil
	}
	d.mu.Lock()
	d.host = h
	switched := h.Mode != media.ModeAudit && d.mode == media.ModeAudit
	d.mu.Unlock()
	if switched {
		d.lockHubs(ctx) // audit → enforce without a restart
	}
	return h, &h
}

// lockHubs sets authorized_default=0 on every root hub unless the host is in audit
// mode, and records the locked hubs. Writing 0 again is harmless, so it is called
// whenever a root hub appears or the mode becomes enforce.
func (d *Daemon) lockHubs(ctx context.Context) {
	d.mu.Lock()
	audit := d.host.Mode == media.ModeAudit
	d.mu.Unlock()
	if audit {
		return
	}
	hubs, err := d.cfg.Enforcer.LockUSBDefault()
	if err != nil {
		d.problem("lock USB root hubs: %v", err)
	}
	d.mu.Lock()
	changed := d.mode != media.ModeEnforce || !slices.Equal(hubs, d.hubs)
	d.mode, d.hubs = media.ModeEnforce, hubs
	d.mu.Unlock()
	if changed {
		d.log.Info("USB root hubs locked", "hubs", hubs)
		if !d.cfg.NoAudit {
			if err := d.record(ctx, event.KindDaemonLock, "", event.DaemonLock{LockedHubs: hubs}); err != nil {
				d.problem("audit row for locking the root hubs: %v", err)
			}
		}
	}
}

// lookup finds the registration and its custodian. Errors other than "not found"
// leave the record nil, so the device counts as unregistered: fail closed.
func (d *Daemon) lookup(ctx context.Context, in *policy.Input, r *Record) {
	in.AuditUnavailable = d.auditDown.Load()
	key := in.Device.Identity.Key
	if key == "" {
		return
	}
	m, err := d.reads.MediumByIdentity(ctx, key)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			r.Error = joinErr(r.Error, fmt.Errorf("registry lookup: %w", err))
		}
		return
	}
	in.Record = &m
	if m.Custodian != "" {
		p, err := d.reads.Person(ctx, m.Custodian)
		if err == nil {
			in.Custodian = &p
		} else if !errors.Is(err, registry.ErrNotFound) {
			r.Error = joinErr(r.Error, fmt.Errorf("custodian lookup: %w", err))
		}
	}
}

// lookupDevice is lookup for a whole block device. An optical disc not registered
// under its whole-disc key but registered under its version 1 key (a registration
// made before the whole-disc identity) is that registration: its key is upgraded to
// the whole-disc key now, with an audit row, so that from this plug on only this
// disc matches. If the upgrade fails the disc stays unregistered (blocked).
func (d *Daemon) lookupDevice(ctx context.Context, in *policy.Input, r *Record, dev identity.Device) {
	d.lookup(ctx, in, r)
	if in.Record != nil || dev.Disc == nil || in.Device.Identity.Key == "" {
		return
	}
	legacy := dev.Disc.LegacyKey()
	if legacy == "" || legacy == in.Device.Identity.Key {
		return
	}
	if _, err := d.reads.MediumByIdentity(ctx, legacy); err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			r.Error = joinErr(r.Error, fmt.Errorf("registry lookup: %w", err))
		}
		return
	}
	d.flushRows(ctx) // the upgrade's row comes after the decisions before it
	m, err := d.cfg.Store.UpgradeIdentityKey(ctx, legacy, in.Device.Identity.Key)
	if err != nil {
		r.Error = joinErr(r.Error, fmt.Errorf("upgrade disc identity %s: %w", legacy, err))
		return
	}
	d.refreshIndex(ctx)
	d.log.Info("disc registration upgraded to the whole-disc identity", "medium", m.Number, "from", legacy, "to", m.Identity.Key)
	d.lookup(ctx, in, r)
}

func joinErr(prev string, err error) string {
	if prev == "" {
		return err.Error()
	}
	return prev + "; " + err.Error()
}

// finish stores, counts, logs and audits a decision. During a rescan, a decision that
// is the same as the one standing before it is stored but neither logged, audited,
// added to the recent decisions nor notified again: the rescan's summary row counts it.
func (d *Daemon) finish(ctx context.Context, r *Record) {
	if d.scan != nil {
		if prev := d.scan.before[r.DevPath]; prev != nil && sameDecision(prev, r) {
			d.mu.Lock()
			cp := *r
			d.present[r.DevPath] = &cp
			d.mu.Unlock()
			return
		}
		d.scan.changed++
	}
	// The row first: when nothing else waits it is committed now (recordLater), and
	// for a blocked device the kernel holds, the row is all there is of the decision.
	if !d.cfg.NoAudit {
		d.recordLater(event.KindDeviceDecision, r.Decision.Medium, r.details())
	}
	d.mu.Lock()
	cp := *r
	d.present[r.DevPath] = &cp
	d.recent = append(d.recent, cp.compacted())
	if len(d.recent) > d.cfg.Recent {
		d.recent = slices.Delete(d.recent, 0, len(d.recent)-d.cfg.Recent)
	}
	d.counts.Decisions++
	if r.Effective == policy.Block {
		d.counts.Blocked++
	} else {
		d.counts.Allowed++
	}
	if r.Error != "" {
		d.counts.Errors++
	}
	d.mu.Unlock()

	lvl := slog.LevelInfo
	if r.Effective == policy.Block || r.Error != "" {
		lvl = slog.LevelWarn
	}
	args := []any{"stage", r.Stage, "name", r.Name, "key", r.Identity.Key, "verdict", r.Decision.Verdict,
		"effective", r.Effective, "reason", r.Decision.Reason, "detail", r.Decision.Detail, "medium", r.Decision.Medium,
		"actions", r.Actions, "err", r.Error}
	if d.enforced > 0 {
		// from the source's receipt of the event to the authorized write
		args = append(args, "enforced_after", d.enforced)
	}
	d.log.Log(ctx, lvl, "decision", args...)
	if r.Effective == policy.Block && d.cfg.Notify != nil || d.cfg.Decided != nil {
		cp.Message = catalog.Messages(cp.Decision)
	}
	if r.Effective == policy.Block && d.cfg.Notify != nil {
		d.cfg.Notify(cp)
	}
	if d.cfg.Decided != nil {
		d.cfg.Decided(cp)
	}
}

func (r *Record) details() event.DeviceDecision {
	m := event.DeviceDecision{
		Actions:   r.Actions,
		Classes:   r.Decision.Classes,
		Detail:    r.Decision.Detail,
		Device:    event.DecisionDevice{DevPath: r.DevPath, Label: r.Label, Name: r.Name},
		Effective: string(r.Effective),
		Enforce:   r.Decision.Enforce,
		Error:     r.Error,
		Host:      r.Decision.HostNumber,
		HostLevel: r.Decision.HostLevel.String(),
		Identity:  r.Identity,
		Behind:    r.Behind,
		Note:      r.Note,
		Reason:    string(r.Decision.Reason),
		Stage:     r.Stage,
		Verdict:   string(r.Decision.Verdict),
	}
	if r.Decision.Medium != "" {
		m.MediumLevel, m.Custodian = r.Decision.MediumLevel.String(), r.Decision.Custodian
	}
	return m
}

// Status returns a snapshot, with the daemon's memory.
func (d *Daemon) Status() Status {
	s := d.status()
	s.Memory = readMemory()
	return s
}

func (d *Daemon) status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Status{State: d.state, Started: d.started, Source: d.source, Mode: string(d.mode), Counts: d.counts,
		LockedHubs: d.hubs, Host: d.host.Number, Problems: append([]string(nil), d.probs...)}
	if d.host.Number != "" {
		s.HostLevel = d.host.Level.String()
	}
	s.Present = make([]Record, 0, len(d.present))
	for _, r := range d.present {
		s.Present = append(s.Present, *r)
	}
	slices.SortFunc(s.Present, func(a, b Record) int { return strings.Compare(a.DevPath, b.DevPath) })
	s.Recent = append([]Record{}, d.recent...)
	for _, list := range [][]Record{s.Present, s.Recent} {
		for i := range list {
			list[i].Message = catalog.Messages(list[i].Decision)
		}
	}
	if d.cfg.Office != nil {
		s.Office = d.cfg.Office()
	}
	return s
}
