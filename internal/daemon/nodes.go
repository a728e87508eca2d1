package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/udev"
)

// handleNode checks a net, tty or hidraw node that appeared below a USB device the
// daemon allowed: policy decides the device again with the node as an input
// (policy.Device.Node), and a device that was not allowed for such a node (a keyboard
// that grows a network interface, a stick with a raw HID channel) is deauthorized.
// Nodes of devices not under a decided USB device (virtual consoles, PCI network
// cards) are not mediagate's business.
func (d *Daemon) handleNode(ctx context.Context, ev udev.Event) {
	if ev.Action != udev.ActionAdd {
		return
	}
	parent := d.usbParent(ev.DevPath)
	if parent == nil {
		return
	}
	if parent.Effective == policy.Block {
		// The device should have no driver at all: make sure it is off.
		if _, err := d.cfg.Enforcer.AuthorizeUSB(parent.DevPath, false); err != nil {
			d.problem("deauthorize %s: %v", parent.DevPath, err)
		}
		return
	}
	_, hostp := d.hostProfile(ctx)
	r := &Record{Time: d.cfg.Now(), Stage: "usb-device", DevPath: parent.DevPath, Name: parent.Name, Label: parent.Label,
		Identity: parent.Identity}
	dev, err := d.cfg.Read(parent.DevPath)
	in := policy.Input{Host: hostp, Now: d.cfg.Now()}
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return // gone already
	case err != nil:
		in.Device = policy.Device{USB: true, Unreadable: true, Node: ev.Subsystem}
		r.Error = err.Error()
	default:
		pd := usbPolicyDevice(dev)
		pd.Node = ev.Subsystem
		in.Device, in.Twin = pd, d.twin(parent.DevPath, dev.Identity)
		r.Identity = dev.Identity
		if pd.Storage || pd.Identity.Kind == media.KindUSBDisk || pd.Identity.Kind == media.KindSD {
			d.lookup(ctx, &in, r)
		}
	}
	r.Decision = policy.Decide(in)
	r.Effective = r.Decision.Effective()
	if r.Decision.Reason != policy.ReasonUnexpectedNode && r.Effective != policy.Block {
		return // the node is one the device was allowed for; the standing decision stays
	}
	r.Actions = append(r.Actions, "node "+ev.Subsystem+" "+filepath.Base(ev.DevPath))
	if r.Effective == policy.Block {
		for _, disk := range d.disksUnder(parent.DevPath) {
			if err := d.cfg.Enforcer.Detach(enforce.Target{SysPath: disk}); err != nil {
				r.Error = joinErr(r.Error, err)
			} else {
				r.Actions = append(r.Actions, "detached "+filepath.Base(disk))
			}
		}
		changed, err := d.cfg.Enforcer.AuthorizeUSB(parent.DevPath, false)
		switch {
		case err != nil:
			r.Error = joinErr(r.Error, err)
		case changed:
			r.Actions = append(r.Actions, "deauthorized")
		}
	}
	d.finish(ctx, r)
}

// usbParent returns the standing decision of the USB device a devpath sits below, or
// nil when it is below none the daemon decided.
func (d *Daemon) usbParent(devpath string) *Record {
	for p := filepath.Dir(devpath); strings.HasPrefix(p, "/devices/"); p = filepath.Dir(p) {
		if r := d.standing(p); r != nil && r.Stage == "usb-device" {
			return r
		}
	}
	return nil
}
