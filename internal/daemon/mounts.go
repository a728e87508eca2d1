package daemon

import (
	"context"
	"errors"
	"mediagate/internal/catalog"
	"os"
	"path/filepath"
	"slices"

	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/mountlog"
	"mediagate/internal/mountwatch"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
	"mediagate/internal/sysfs"
)

// Audit kinds of the mount log (internal/mountlog; see docs/mountlog.md).
const (
	KindMountAttach      = mountlog.KindAttach
	KindMountDetach      = mountlog.KindDetach
	KindMountRemount     = mountlog.KindRemount
	KindMountSeenAtStart = mountlog.KindSeenAtStart
	KindMountViolation   = mountlog.KindViolation
)

// AttributionUdisks: udisksd mounted on a user's behalf (see internal/mountlog).
const AttributionUdisks = mountlog.AttributionUdisks

// MountSource delivers mount events; *mountwatch.Watcher and *mountwatch.Fake are two.
type MountSource = mountlog.Source

// MountConfig wires the mount log (internal/mountlog). A zero MountConfig logs no
// mounts.
type MountConfig = mountlog.Config

// mountLog is the mount log over the daemon's current configuration.
func (d *Daemon) mountLog() *mountlog.Log {
	l := mountlog.New(d.cfg.Mounts, mountEnv{d}, d.cfg.Now, d.log)
	l.NoAudit = d.cfg.NoAudit
	return l
}

// startMounts runs the mount log until ctx ends; the returned function stops it and
// waits, so that no row is half-written when Run returns.
func (d *Daemon) startMounts(ctx context.Context) func() {
	l := d.mountLog()
	l.Open()
	d.cfg.Mounts = l.Config() // the watcher opened and the defaults filled in
	return l.Start(ctx)
}

// HandleMount writes the audit row of one mount event and, for a mount of a medium
// whose standing decision blocks it, unmounts it (a violation); see mountlog.Log.Handle.
func (d *Daemon) HandleMount(ctx context.Context, ev mountwatch.Event) { d.mountLog().Handle(ctx, ev) }

// reconcileMounts compares the mount table found at start with what the log last saw
// mounted; see mountlog.Log.Reconcile.
func (d *Daemon) reconcileMounts(ctx context.Context, present []mountwatch.Event) {
	d.mountLog().Reconcile(ctx, present)
}

func (d *Daemon) hostNumber() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.host.Number
}

// mountEnv is the daemon as the mount log sees it.
type mountEnv struct{ d *Daemon }

func (e mountEnv) Record(ctx context.Context, kind event.Kind, medium string, details event.Mount) error {
	return e.d.recordRow(ctx, kind, medium, details)
}

func (e mountEnv) OpenMounts(ctx context.Context) ([]mountlog.OpenMount, error) {
	open, err := e.d.cfg.Store.OpenMounts(ctx)
	out := make([]mountlog.OpenMount, len(open))
	for i, m := range open {
		out[i] = mountlog.OpenMount{Seq: m.Seq, Medium: m.Medium, Source: m.Source, MountPoint: m.MountPoint}
	}
	return out, err
}

func (e mountEnv) HostNumber() string                 { return e.d.hostNumber() }
func (e mountEnv) Problem(format string, args ...any) { e.d.problem(format, args...) }

func (e mountEnv) Violation(dev mountlog.Device, actions []string) {
	if e.d.cfg.Notify == nil {
		return
	}
	r := e.d.standing(dev.Disk)
	if r == nil {
		return
	}
	cp := *r
	cp.Time = e.d.cfg.Now()
	cp.Actions = actions
	cp.Message = catalog.Messages(cp.Decision)
	e.d.cfg.Notify(cp)
}

// Undo carries out the standing block decision again, through the enforcer: Detach
// (or Eject for a disc) lazily unmounts every mount of the device first.
func (e mountEnv) Undo(_ context.Context, dev mountlog.Device) (actions []string, errText string) {
	d := e.d
	d.work.Lock()
	defer d.work.Unlock()
	t := enforce.Target{SysPath: dev.Disk}
	var err error
	if dev.Decision.Disc {
		err = d.cfg.Enforcer.Eject(t)
		actions = append(actions, "unmounted", "ejected")
	} else {
		err = d.cfg.Enforcer.Detach(t)
		if err == nil {
			actions = append(actions, "unmounted", "detached")
		} else {
			actions = append(actions, enforce.DetachActions(err)...)
		}
	}
	if dev.Decision.Parent != "" {
		if _, aerr := d.cfg.Enforcer.AuthorizeUSB(dev.Decision.Parent, false); aerr != nil {
			err = errors.Join(err, aerr)
		} else {
			actions = append(actions, "deauthorized")
		}
	}
	if err != nil {
		d.log.Warn("unmount a blocked medium", "disk", dev.Disk, "err", err)
		return actions, err.Error()
	}
	return actions, ""
}

// mountDecision is a standing decision as the mount log sees it.
func mountDecision(r *Record) *mountlog.Decision {
	return &mountlog.Decision{Reason: string(r.Decision.Reason), Effective: string(r.Effective),
		Blocked: r.Effective == policy.Block, ReadOnly: r.Effective == policy.AllowReadOnly,
		Disc: r.Stage == "disc", Parent: r.Parent}
}

// Resolve links a mount to its device by device number: the daemon's standing
// decision for the disk when there is one, else the registry by the disk's identity.
// A virtual device (dm-crypt/LUKS, LVM, md …) is followed down its slaves to the
// media it is built on (see resolveStack).
func (e mountEnv) Resolve(ctx context.Context, ev mountwatch.Event) mountlog.Device {
	d := e.d
	var md mountlog.Device
	md.Name = filepath.Base(ev.Source)
	node, ok := sysfs.BlockByDevnum(d.cfg.Sys, ev.Device())
	if !ok {
		return md
	}
	md.DevPath, md.Name, md.Disk, md.Partition = node.DevPath, node.Name, node.Disk, node.Partition
	if udev := d.cfg.Mounts.UdevData; udev != "" {
		if b, err := os.ReadFile(filepath.Join(udev, "b"+ev.Device())); err == nil {
			if rec, err := identity.ParseUdevDB(b); err == nil {
				md.FSUUID, md.FSLabel = rec.Properties["ID_FS_UUID"], rec.Properties["ID_FS_LABEL"]
			}
		}
	}
	if sysfs.IsVirtualBlock(filepath.Base(md.Disk)) {
		e.resolveStack(ctx, &md)
		return md
	}
	e.resolveMedium(ctx, &md)
	return md
}

// resolveStack follows a virtual device down to the block devices it stands on and
// fills md with the primary one's medium, keeping the mounted node's name and devpath.
// The primary is, failing closed, the first one whose standing decision blocks, else
// the first allowed read-only, else the first registered, else the first that is not
// a baseline disk, else the first. A stack only over the host's own disks (root on
// LVM) counts as baseline. A loop device, RAM disk … (no slaves) stays "virtual"; an
// unreadable, looping or too deep stack too, with lookup_error.
func (e mountEnv) resolveStack(ctx context.Context, md *mountlog.Device) {
	md.Virtual = true
	st, err := sysfs.Underlying(e.d.cfg.Sys, md.Disk)
	if err != nil {
		md.LookupErr = "stack: " + err.Error()
		return
	}
	if len(st.Under) == 0 {
		return
	}
	under := make([]mountlog.Device, len(st.Under))
	for i, n := range st.Under {
		u := mountlog.Device{DevPath: n.DevPath, Name: n.Name, Disk: n.Disk, Partition: n.Partition}
		e.resolveMedium(ctx, &u)
		under[i] = u
	}
	p := primary(under)
	devPath, name := md.DevPath, md.Name
	fsUUID, fsLabel := md.FSUUID, md.FSLabel
	*md = under[p]
	md.DevPath, md.Name, md.FSUUID, md.FSLabel = devPath, name, fsUUID, fsLabel
	md.Baseline = true
	for _, u := range under {
		md.Baseline = md.Baseline && u.Baseline
	}
	md.Stack = &mountlog.Stack{Via: st.Via, Under: under}
}

// primary picks the device of a stack the mount is filed under (see resolveStack).
func primary(under []mountlog.Device) int {
	for _, f := range []func(mountlog.Device) bool{
		func(u mountlog.Device) bool { return u.Decision != nil && u.Decision.Blocked },
		func(u mountlog.Device) bool { return u.Decision != nil && u.Decision.ReadOnly },
		func(u mountlog.Device) bool { return u.Medium != "" },
		func(u mountlog.Device) bool { return !u.Baseline },
	} {
		if i := slices.IndexFunc(under, f); i >= 0 {
			return i
		}
	}
	return 0
}

// resolveMedium fills in the medium of md.Disk (a non-virtual disk): the standing
// decision, else the registry.
func (e mountEnv) resolveMedium(ctx context.Context, md *mountlog.Device) {
	d := e.d
	if r := d.standing(md.Disk); r != nil {
		md.Decision = mountDecision(r)
		md.Identity = r.Identity
		md.Medium, md.Custodian, md.Level = r.Decision.Medium, r.Decision.Custodian, r.Decision.MediumLevel
		md.Baseline = r.Decision.Reason == policy.ReasonBaseline
		if md.Medium != "" {
			if m, err := d.reads.MediumByIdentity(ctx, r.Identity.Key); err == nil && m.Number == md.Medium {
				md.Holder = m.Holder
			}
		}
		return
	}
	// Not decided (yet): a mount seen before the device events of the start, or a
	// device the daemon does not decide. Look the identity up directly.
	if d.cfg.Read == nil {
		return
	}
	dev, err := d.cfg.Read(md.Disk)
	if err != nil {
		md.LookupErr = err.Error()
		return
	}
	md.Identity = dev.Identity
	if host, hostp := d.hostProfile(ctx); hostp != nil && dev.USB == nil && baselineDisk(host.Baseline, dev) {
		md.Baseline = true
		return
	}
	if dev.Identity.Key == "" {
		return
	}
	m, err := d.reads.MediumByIdentity(ctx, dev.Identity.Key)
	switch {
	case err == nil:
		md.Medium, md.Custodian, md.Level, md.Holder = m.Number, m.Custodian, m.Level, m.Holder
	case !errors.Is(err, registry.ErrNotFound):
		md.LookupErr = err.Error()
	}
}

func baselineDisk(baseline []string, dev identity.Device) bool {
	in, _ := identity.MatchBaseline(baseline, dev)
	return in
}
