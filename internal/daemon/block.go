package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"slices"

	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
)

func (d *Daemon) handleBlock(ctx context.Context, ev udev.Event) {
	name := filepath.Base(ev.DevPath)
	if sysfs.IsVirtualBlock(name) {
		return
	}
	if ev.Action == udev.ActionRemove {
		d.cfg.Enforcer.Forget(name)
		d.drop(ev.DevPath)
		return
	}
	disk := ev.DevPath
	if ev.DevType == "partition" {
		disk = filepath.Dir(ev.DevPath)
	}
	r := d.standing(disk)
	switch {
	case r == nil:
		d.decideBlock(ctx, disk)
	case ev.DevType == "partition" && ev.Action == udev.ActionAdd:
		// A partition that appeared after its disk was decided gets the disk's decision.
		d.applyBlock(ctx, r, true)
	case ev.Action == udev.ActionAdd:
		d.decideBlock(ctx, disk)
	default:
		// A change event: optical drives report a new disc this way, card readers and
		// removable-cartridge drives a new medium, and a resize a new capacity. Decide
		// again if what is there now is not what was decided (our own Release, Eject
		// and BLKROSET cause change events too: those find the same medium). A blocked
		// disc the kernel reports as newly inserted (the same disc pushed back in before
		// the drive was seen empty) is ejected again.
		dev, err := d.cfg.Read(disk)
		reinserted := r.Stage == "disc" && r.Effective == policy.Block && ev.Properties["DISK_MEDIA_CHANGE"] == "1"
		if err != nil || dev.NoMedium || dev.Identity.Key != r.Identity.Key || dev.Identity.Capacity != r.Identity.Capacity || reinserted {
			d.decideBlock(ctx, disk)
			return
		}
		if r.Stage != "disc" {
			d.applyBlock(ctx, r, false)
		}
	}
}

func target(dev identity.Device) enforce.Target {
	return enforce.Target{SysPath: dev.SysPath, DevNode: dev.DevNode}
}

// decideBlock decides a whole block device and carries the decision out.
func (d *Daemon) decideBlock(ctx context.Context, disk string) {
	dev, err := d.cfg.Read(disk)
	if errors.Is(err, identity.ErrNotFound) {
		d.drop(disk)
		return
	}
	if err != nil {
		// Unreadable: policy blocks it whatever the mode, unless it is an internal disk
		// recorded by its place.
		d.problem("read block device %s: %v", disk, err)
		host, hostp := d.hostProfile(ctx)
		pd := policy.Device{Block: true, Storage: true, Unreadable: true, InBaseline: identity.BaselineSlot(host.Baseline, disk)}
		r := &Record{Time: d.cfg.Now(), Stage: "block-device", DevPath: disk, Name: filepath.Base(disk), Error: err.Error(),
			Decision: policy.Decide(policy.Input{Host: hostp, Device: pd, Now: d.cfg.Now()})}
		r.Effective = r.Decision.Effective()
		if r.Effective != policy.Block {
			d.finish(ctx, r) // never detached on a read error
			return
		}
		if derr := d.cfg.Enforcer.Detach(enforce.Target{SysPath: disk}); derr != nil {
			r.Error = joinErr(r.Error, derr)
		} else {
			r.Actions = append(r.Actions, "detached")
		}
		d.finish(ctx, r)
		return
	}
	if dev.NoMedium {
		d.drop(disk)
		d.cfg.Enforcer.Forget(filepath.Base(disk))
		return
	}
	optical := dev.Disc != nil || dev.Identity.Kind == media.KindOpticalDisc
	host, hostp := d.hostProfile(ctx)
	r := &Record{Time: d.cfg.Now(), Stage: "block-device", DevPath: disk, Name: dev.Name, Label: dev.Label, Identity: dev.Identity}
	if optical {
		r.Stage = "disc"
		if dev.Identity.Key == "" && dev.Problem != "" {
			r.Error = dev.Problem // a disc that could not be read is blocked, and the row says why
		}
	}
	pd := policy.Device{Identity: dev.Identity, Storage: true, Optical: optical, Block: !optical}
	in := policy.Input{Host: hostp, Now: d.cfg.Now()}

	if dev.USB != nil {
		parent := d.standing(dev.USB.SysPath)
		if parent == nil {
			parent = d.decideUSB(ctx, dev.USB.SysPath, nil)
		}
		if parent == nil {
			return
		}
		if parent.Effective == policy.Block {
			// The block device should not exist: make sure the USB device is off.
			if _, err := d.cfg.Enforcer.AuthorizeUSB(parent.DevPath, false); err != nil {
				d.problem("deauthorize %s: %v", parent.DevPath, err)
			}
			return
		}
		r.Parent = parent.DevPath
		if parent.Decision.Reason == ReasonContainer {
			r.Parent = "" // the container stays; only the medium in it is blocked
		}
		pd.USB, pd.Block, pd.Behind = true, false, true
		pd.VendorID, pd.ProductID = dev.USB.VendorID, dev.USB.ProductID
		pd.Classes, pd.Interfaces = dev.Identity.InterfaceClasses, dev.USB.Interfaces
		r.Behind, pd.Disks = d.disksBehind(parent.DevPath, disk)
		in.Device = pd
		if parent.Decision.Reason != ReasonContainer || optical {
			// A registered USB medium is checked again now that capacity and kind are
			// known; a disc in a container drive is decided by its content. A card in a
			// reader (or a stick posing as one) has only the container's identity and
			// stays unregistered.
			d.lookupDevice(ctx, &in, r, dev)
			plugged := parent.DevPath
			if optical {
				plugged = disk
			}
			d.vaultCheckIn(ctx, host, plugged, in.Record, dev.Identity)
		}
		r.Decision = policy.Decide(in) // a disk without its registered capacity is not known to be the medium
		r.Effective = r.Decision.Effective()
		if r.Effective == policy.Block && parent.Decision.Reason != ReasonContainer {
			// The medium is not what was registered (or its record changed): unmount
			// anything mounted from it or from another disk behind the same USB device
			// (a mount in the window before this decision), then take the whole USB
			// device away and let that decision stand.
			if err := d.cfg.Enforcer.Detach(target(dev)); err != nil {
				r.Error = joinErr(r.Error, err)
			}
			for _, other := range d.disksUnder(parent.DevPath) {
				if other == disk {
					continue
				}
				if err := d.cfg.Enforcer.Detach(enforce.Target{SysPath: other}); err != nil {
					r.Error = joinErr(r.Error, err)
				} else {
					r.Actions = append(r.Actions, "detached "+filepath.Base(other))
				}
			}
			changed, err := d.cfg.Enforcer.AuthorizeUSB(parent.DevPath, false)
			if err != nil {
				r.Error = joinErr(r.Error, err)
			} else if changed {
				r.Actions = append(r.Actions, "deauthorized "+parent.Name)
			}
			blocked := *r
			blocked.Stage, blocked.DevPath, blocked.Name, blocked.Parent = "usb-device", parent.DevPath, parent.Name, ""
			d.mu.Lock()
			d.present[parent.DevPath] = &blocked
			d.mu.Unlock()
			d.finish(ctx, r)
			return
		}
	} else {
		if !optical {
			// An internal disk recorded at host init; or another disk in its slot.
			pd.InBaseline, pd.BaselineSlotDiffers = identity.MatchBaseline(host.Baseline, dev)
		}
		in.Device = pd
		if !pd.InBaseline {
			d.lookupDevice(ctx, &in, r, dev)
			d.vaultCheckIn(ctx, host, disk, in.Record, dev.Identity)
		}
		r.Decision = policy.Decide(in)
		r.Effective = r.Decision.Effective()
	}
	d.carryOut(ctx, r, dev)
	d.finish(ctx, r)
}

// carryOut enforces a block-device decision: detach or eject what is blocked; make
// read-only what is allowed read-only, then let the automounter see it.
func (d *Daemon) carryOut(ctx context.Context, r *Record, dev identity.Device) {
	t := target(dev)
	block := func() {
		if r.Stage == "disc" {
			// Only what was done is recorded: "ejected" when the drive reports no disc.
			err := d.cfg.Enforcer.Eject(t)
			if err != nil {
				r.Error = joinErr(r.Error, err)
				d.problem("blocked disc %s is still in the drive: %v", r.Name, err)
			}
			r.Actions = append(r.Actions, enforce.EjectActions(err)...)
			return
		}
		// Only what was done is recorded: "detached" when the disk is gone.
		err := d.cfg.Enforcer.Detach(t)
		if err != nil {
			r.Error = joinErr(r.Error, err)
		}
		r.Actions = append(r.Actions, enforce.DetachActions(err)...)
	}
	switch r.Effective {
	case policy.Block:
		block()
	case policy.AllowReadOnly:
		if err := d.cfg.Enforcer.ReadOnly(t); err != nil {
			// Read-only could not be guaranteed: fail closed.
			r.Error = joinErr(r.Error, err)
			r.Effective = policy.Block
			block()
			return
		}
		r.Actions = append(r.Actions, "read-only")
		if err := d.cfg.Enforcer.Release(t); err != nil {
			r.Error = joinErr(r.Error, err)
		}
	default:
		if r.Decision.Reason == policy.ReasonBaseline || r.Decision.Reason == policy.ReasonNotMedia {
			return
		}
		if err := d.cfg.Enforcer.Release(t); err != nil {
			r.Error = joinErr(r.Error, err)
		}
	}
}

// applyBlock re-applies a standing block-device decision (new partition, change event).
func (d *Daemon) applyBlock(ctx context.Context, r *Record, newPartition bool) {
	t := enforce.Target{SysPath: r.DevPath}
	var err error
	switch r.Effective {
	case policy.AllowReadOnly:
		err = d.cfg.Enforcer.ReadOnly(t)
		if err == nil && newPartition {
			err = d.cfg.Enforcer.Release(t)
		}
	case policy.Block:
		if r.Parent != "" {
			_, err = d.cfg.Enforcer.AuthorizeUSB(r.Parent, false)
		} else if newPartition {
			if r.Stage == "disc" {
				err = d.cfg.Enforcer.Eject(t)
			} else {
				err = d.cfg.Enforcer.Detach(t)
			}
		}
	default:
		if newPartition && r.Decision.Reason != policy.ReasonBaseline && r.Decision.Reason != policy.ReasonNotMedia {
			err = d.cfg.Enforcer.Release(t)
		}
	}
	if err != nil {
		d.log.Warn("re-apply block decision", "name", r.Name, "err", err)
	}
}

// rescanRun is the state of one rescan: the decisions that stood before it, and how
// many decisions it changed.
type rescanRun struct {
	before  map[string]*Record
	changed int
}

// sameDecision reports whether a decision taken again in a rescan is the one that
// stood: same device, verdict, reason, medium and context, no error, and nothing done
// but re-applying read-only (BLKROSET is idempotent). Anything else gets its row.
func sameDecision(prev, r *Record) bool {
	a, b := prev.Decision, r.Decision
	if prev.Stage != r.Stage || prev.Effective != r.Effective || prev.Parent != r.Parent || r.Error != "" ||
		prev.Identity.Key != r.Identity.Key || prev.Identity.Capacity != r.Identity.Capacity ||
		prev.Identity.DescriptorHash != r.Identity.DescriptorHash || !slices.Equal(prev.Behind, r.Behind) ||
		a.Verdict != b.Verdict || a.Reason != b.Reason || a.Detail != b.Detail || a.Enforce != b.Enforce ||
		a.Medium != b.Medium || a.MediumLevel != b.MediumLevel || a.Custodian != b.Custodian ||
		a.HostNumber != b.HostNumber || a.HostLevel != b.HostLevel || !slices.Equal(a.Classes, b.Classes) ||
		!a.DueAt.Equal(b.DueAt) {
		return false
	}
	for _, act := range r.Actions {
		if act != "read-only" {
			return false
		}
	}
	return true
}

// rescan looks at every present device again (after an event queue overflow, or on
// request): USB devices first, then block devices; decisions of devices that are gone
// are dropped. before holds the decisions that stood: a device decided the same way
// again gets no decision row. One daemon.rescan row sums the rescan up.
func (d *Daemon) rescan(ctx context.Context, trigger string, before map[string]*Record) {
	if _, err := filepath.EvalSymlinks(d.cfg.Sys); err != nil {
		d.problem("rescan: %v", err)
		return
	}
	d.scan = &rescanRun{before: before}
	defer func() { d.scan = nil }()
	seen := map[string]bool{}
	usbs, err := sysfs.USBDevices(d.cfg.Sys)
	if err != nil {
		d.problem("rescan: %v", err)
	}
	for _, u := range usbs {
		seen[u.DevPath] = true
		d.handleUSB(ctx, udev.Event{Action: udev.ActionAdd, DevPath: u.DevPath, Subsystem: "usb", DevType: "usb_device", Enumerated: true})
	}
	disks, err := sysfs.Disks(d.cfg.Sys)
	if err != nil {
		d.problem("rescan: %v", err)
	}
	for _, disk := range disks {
		seen[disk.DevPath] = true
		d.handleBlock(ctx, udev.Event{Action: udev.ActionAdd, DevPath: disk.DevPath, Subsystem: "block", DevType: "disk", Enumerated: true})
	}
	var gone []string
	d.mu.Lock()
	for p, r := range d.present {
		if !seen[p] {
			delete(d.present, p)
			if r.Stage != "usb-device" {
				gone = append(gone, r.Name)
			}
		}
	}
	allowed, blocked := 0, 0
	for _, r := range d.present {
		if r.Effective == policy.Block {
			blocked++
		} else {
			allowed++
		}
	}
	d.mu.Unlock()
	for _, name := range gone {
		d.cfg.Enforcer.Forget(name) // its remove event was lost: drop its markers too
	}
	vanished := 0
	for p := range before {
		if !seen[p] {
			vanished++
		}
	}
	devices := len(seen)
	sum := event.DaemonRescan{Trigger: trigger, Devices: devices, Changed: d.scan.changed,
		Unchanged: max(devices-d.scan.changed, 0), Gone: vanished, Allowed: allowed, Blocked: blocked}
	d.log.Info("rescan", "trigger", trigger, "devices", devices, "changed", d.scan.changed, "gone", vanished)
	if !d.cfg.NoAudit {
		if err := d.record(ctx, event.KindDaemonRescan, "", sum); err != nil {
			d.problem("audit row for the rescan: %v", err)
		}
	}
}

// Rescan decides every present device afresh (control socket): after a registration
// or host profile change, a medium already plugged in is judged by the new record.
func (d *Daemon) Rescan(ctx context.Context) {
	d.work.Lock()
	d.rescanLocked(ctx, "request")
	d.work.Unlock()
	d.auditRescan(ctx)
}

// rescanLocked decides every device present afresh, as if each had just been plugged
// (d.work held).
func (d *Daemon) rescanLocked(ctx context.Context, trigger string) {
	d.refreshIndex(ctx)
	d.mu.Lock()
	old := d.present
	d.present = map[string]*Record{}
	d.mu.Unlock()
	d.rescan(ctx, trigger, old)
	var gone []string
	d.mu.Lock()
	for p, r := range old {
		if _, ok := d.present[p]; !ok && r.Stage != "usb-device" {
			gone = append(gone, r.Name)
		}
	}
	d.mu.Unlock()
	for _, name := range gone {
		d.cfg.Enforcer.Forget(name)
	}
	d.flushRows(ctx)
}
