package daemon

import (
	"slices"
	"testing"

	"mediagate/internal/identity"
	"mediagate/internal/policy"
)

const tabletP = "/devices/pci0000:00/0000:00:04.0/usb2/2-5"

func TestNonBootHIDBlockedBootKeyboardAllowed(t *testing.T) {
	b := newBed(t, secretHost())
	b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
	b.devs.set(peripheral(tabletP, "2-5", []int{3}, identity.FuncHID))
	b.ev("add", kbdP, "usb", "usb_device")
	b.ev("add", tabletP, "usb", "usb_device")
	if got, want := b.rec.Ops(), []string{"authorize " + kbdP, "deauthorize " + tabletP}; !slices.Equal(got, want) {
		t.Errorf("ops %q, want %q", got, want)
	}
	if r := b.lastReason(); r != policy.ReasonPeripheralNotAllowed {
		t.Errorf("tablet reason %s", r)
	}
}

// TestNodesAfterBind: a net or tty node below an allowed keyboard deauthorizes it;
// its hidraw node is expected and changes nothing; nodes of devices mediagate did not
// decide are ignored.
func TestNodesAfterBind(t *testing.T) {
	for _, tc := range []struct {
		subsystem, node string
		blocked         bool
	}{
		{"hidraw", kbdP + "/2-2:1.0/0003:0627:0001.0001/hidraw/hidraw0", false},
		{"net", kbdP + "/2-2:1.0/net/usb0", true},
		{"tty", kbdP + "/2-2:1.0/tty/ttyACM0", true},
		{"net", "/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0", false},
		{"tty", "/devices/virtual/tty/tty1", false},
	} {
		t.Run(tc.node, func(t *testing.T) {
			b := newBed(t, secretHost())
			b.devs.set(peripheral(kbdP, "2-2", []int{3}, identity.FuncKeyboard))
			b.ev("add", kbdP, "usb", "usb_device")
			b.rec.Reset()
			before := len(b.store.decisions())
			b.ev("add", tc.node, tc.subsystem, "")
			on, _ := b.rec.USBAuthorized(kbdP)
			if on == tc.blocked {
				t.Errorf("keyboard authorized = %v after a %s node", on, tc.subsystem)
			}
			rows := b.store.decisions()
			if !tc.blocked {
				if len(rows) != before || len(b.rec.Ops()) != 0 {
					t.Errorf("an expected node made %d rows and ops %q", len(rows)-before, b.rec.Ops())
				}
				return
			}
			if len(rows) != before+1 || rows[len(rows)-1].Reason != string(policy.ReasonUnexpectedNode) {
				t.Fatalf("rows %v", rows[before:])
			}
			if st := b.d.standing(kbdP); st == nil || st.Effective != policy.Block {
				t.Error("the standing decision still allows the keyboard")
			}
			// Our own write's change event keeps it blocked.
			b.ev("change", kbdP, "usb", "usb_device")
			if on, _ := b.rec.USBAuthorized(kbdP); on {
				t.Error("re-authorized by a change event")
			}
		})
	}
}

// TestAllowedNetworkAdapterKeepsItsInterface: a network adapter the host allows by
// class may have its net node.
func TestAllowedNetworkAdapterKeepsItsInterface(t *testing.T) {
	h := secretHost()
	h.AllowClasses = []string{"cdc", "cdc-data"}
	b := newBed(t, h)
	b.devs.set(peripheral(netP, "2-3", []int{2, 10}, identity.FuncNetwork))
	b.ev("add", netP, "usb", "usb_device")
	b.ev("add", netP+"/2-3:1.0/net/usb0", "net", "")
	if on, _ := b.rec.USBAuthorized(netP); !on {
		t.Errorf("allowed network adapter lost its authorization: %v", b.store.decisions())
	}
}

// TestBaselineSlotOtherDisk: a key-less internal disk is recorded by its slot with its
// capacity and model; the same disk passes, another disk put into that bay is detached.
func TestBaselineSlotOtherDisk(t *testing.T) {
	recorded := identity.Device{Name: "vda", Subsystem: "block", SysPath: vdaP, Bus: "virtio", Internal: true, Size: 10 << 30,
		Label: "QEMU disk"}
	for _, tc := range []struct {
		name    string
		seen    func(d *identity.Device)
		blocked bool
	}{
		{"the recorded disk", func(*identity.Device) {}, false},
		{"bigger disk in the bay", func(d *identity.Device) { d.Size = 20 << 30 }, true},
		{"other model in the bay", func(d *identity.Device) { d.Label = "Other disk" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := secretHost()
			host.Baseline = []string{identity.BaselineKey(recorded)}
			b := newBed(t, host)
			seen := recorded
			tc.seen(&seen)
			b.devs.set(seen)
			b.ev("add", vdaP, "block", "disk")
			detached := slices.Contains(b.rec.Ops(), "detach "+vdaP)
			if detached != tc.blocked {
				t.Errorf("ops %q; detached %v, want %v", b.rec.Ops(), detached, tc.blocked)
			}
			want := policy.ReasonBaseline
			if tc.blocked {
				want = policy.ReasonIdentityMismatch
			}
			if r := b.lastReason(); r != want {
				t.Errorf("reason %s, want %s", r, want)
			}
		})
	}
}
