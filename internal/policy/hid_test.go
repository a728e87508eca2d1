package policy

import (
	"testing"

	"mediagate/internal/media"
)

// usbDev is a USB peripheral presenting the given interface triples.
func usbDev(vid, pid string, ifs ...string) Device {
	d := Device{USB: true, VendorID: vid, ProductID: pid, Interfaces: ifs,
		Identity: media.Identity{VendorID: vid, ProductID: pid, DescriptorHash: "aa11"}}
	for _, s := range ifs {
		i, _ := media.ParseUSBInterface(s)
		if !containsInt(d.Classes, int(i.Class)) {
			d.Classes = append(d.Classes, int(i.Class))
		}
	}
	if containsInt(d.Classes, ClassMassStorage) {
		d.Storage = true
	}
	return d
}

func pin(device, hash string, ifs ...string) func(*Input) {
	return func(in *Input) {
		in.Host.AllowDevices = append(in.Host.AllowDevices, device)
		in.Host.DevicePins = append(in.Host.DevicePins, media.DevicePin{Device: device, Interfaces: ifs, Hash: hash})
	}
}

func peripheralInput(d Device, edits ...func(*Input)) Input {
	in := Input{Host: newHost(media.Secret), Device: d, Now: now}
	for _, e := range edits {
		e(&in)
	}
	return in
}

func hidCases() []decideCase {
	kbd := usbDev("0627", "0001", "03/01/01")
	mouse := usbDev("0627", "0001", "03/01/02")
	tablet := usbDev("0627", "0001", "03/00/00")
	kbdMedia := usbDev("046d", "c31c", "03/01/01", "03/00/00")
	token := usbDev("1050", "0407", "03/00/00", "0b/00/00")
	spoof := usbDev("046d", "c31c", "08/06/50") // a stick posing as an allowed keyboard
	spoofMixed := usbDev("046d", "c31c", "03/01/01", "08/06/50")
	reader := usbDev("05e3", "0751", "08/06/50")
	ftdi := usbDev("0403", "6001", "ff/ff/ff")
	nic := usbDev("0bda", "8153", "02/06/00", "0a/00/00")
	allowClass := func(c ...string) func(*Input) { return func(in *Input) { in.Host.AllowClasses = c } }
	node := func(n string) func(*Input) { return func(in *Input) { in.Device.Node = n } }
	unclassified := func(in *Input) { in.Host.Level = media.Unclassified }
	return []decideCase{
		// Only boot-protocol keyboards and mice by default.
		{name: "boot keyboard", in: peripheralInput(kbd), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "boot mouse", in: peripheralInput(mouse), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "usb-tablet (non-boot HID) blocked", in: peripheralInput(tablet), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot, classes: []int{ClassHID}},
		{name: "keyboard with an extra non-boot HID interface blocked", in: peripheralInput(kbdMedia), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot, classes: []int{ClassHID}},
		{name: "security key posing as HID blocked", in: peripheralInput(token), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot, classes: []int{ClassHID, ClassSmartCard}},
		{name: "HID without readable interfaces blocked", in: peripheralInput(Device{USB: true, VendorID: "046d", ProductID: "c31c", Classes: []int{ClassHID}}), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot, classes: []int{ClassHID}},
		{name: "non-boot HID allowed by class", in: peripheralInput(tablet, allowClass("hid")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "non-boot HID on unclassified host", in: peripheralInput(tablet, unclassified), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "non-boot HID with no host profile keeps working", in: peripheralInput(tablet, func(in *Input) { in.Host = nil }), verdict: Allow, reason: ReasonPeripheralAllowed, detail: "no-profile"},

		// Allow entries pinned to the interfaces (and descriptors) seen when allowed.
		{name: "pinned tablet", in: peripheralInput(tablet, pin("0627:0001", "aa11", "03/00/00")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "pinned keyboard with media keys", in: peripheralInput(kbdMedia, pin("046d:c31c", "", "03/00/00", "03/01/01")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "pinned device presents other interfaces", in: peripheralInput(tablet, pin("0627:0001", "", "03/01/01", "03/01/02")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinInterfaces, classes: []int{ClassHID}},
		{name: "pinned device with other descriptors", in: peripheralInput(tablet, pin("0627:0001", "bb22", "03/00/00")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinDescriptors},
		{name: "pinned device without readable interfaces", in: peripheralInput(Device{USB: true, VendorID: "0627", ProductID: "0001", Classes: []int{ClassHID}}, pin("0627:0001", "", "03/00/00")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinInterfaces},
		{name: "pinned serial adapter", in: peripheralInput(ftdi, pin("0403:6001", "", "ff/ff/ff")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "unpinned (old) entry still allows a peripheral", in: peripheralInput(ftdi, allowDevice("0403:6001")), verdict: Allow, reason: ReasonPeripheralAllowed},

		// Containers that spoof an allowed VID:PID.
		{name: "stick with an allowed keyboard's VID:PID blocked", in: peripheralInput(spoof, pin("046d:c31c", "", "03/01/01")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinInterfaces, classes: []int{ClassMassStorage}},
		{name: "keyboard that also presents mass storage blocked", in: peripheralInput(spoofMixed, pin("046d:c31c", "", "03/01/01")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinInterfaces, classes: []int{ClassMassStorage}},
		{name: "stick with the VID:PID of an unpinned entry blocked", in: peripheralInput(spoof, allowDevice("046d:c31c")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailNotPinned},
		{name: "pinned card reader is a container", in: peripheralInput(reader, pin("05e3:0751", "aa11", "08/06/50")), verdict: Allow, reason: ReasonContainer},
		{name: "card reader pinned with other descriptors", in: peripheralInput(reader, pin("05e3:0751", "cc33", "08/06/50")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinDescriptors},
		{name: "spoofed container on unclassified host", in: peripheralInput(spoof, pin("046d:c31c", "", "03/01/01"), unclassified), verdict: Allow, reason: ReasonUnregisteredUnclassifiedHost},

		// Nodes a driver created after the device was allowed.
		{name: "hidraw of a boot keyboard", in: peripheralInput(kbd, node("hidraw")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "net of a boot keyboard", in: peripheralInput(kbd, node("net")), verdict: Block, reason: ReasonUnexpectedNode, detail: "net"},
		{name: "tty of a boot mouse", in: peripheralInput(mouse, node("tty")), verdict: Block, reason: ReasonUnexpectedNode, detail: "tty"},
		{name: "hidraw of a registered stick", in: with(node("hidraw")), verdict: Block, reason: ReasonUnexpectedNode, detail: "hidraw"},
		{name: "net of a card reader container", in: peripheralInput(reader, pin("05e3:0751", "", "08/06/50"), node("net")), verdict: Block, reason: ReasonUnexpectedNode, detail: "net"},
		{name: "net of a network adapter allowed by class", in: peripheralInput(nic, allowClass("cdc", "cdc-data"), node("net")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "tty of a vendor-specific device allowed by class", in: peripheralInput(ftdi, allowClass("vendor-specific"), node("tty")), verdict: Block, reason: ReasonUnexpectedNode, detail: "tty"},
		{name: "tty of a pinned serial adapter", in: peripheralInput(ftdi, pin("0403:6001", "", "ff/ff/ff"), node("tty")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "net on an unclassified host", in: peripheralInput(kbd, unclassified, node("net")), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "node of a blocked device keeps its reason", in: peripheralInput(tablet, node("hidraw")), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot},
		{name: "unknown node subsystem blocks", in: peripheralInput(kbd, node("sound")), verdict: Block, reason: ReasonUnexpectedNode, detail: "sound"},
	}
}

func TestDecideHIDAndPins(t *testing.T) {
	for _, tc := range hidCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.in)
			if got.Verdict != tc.verdict || got.Reason != tc.reason || got.Detail != tc.detail {
				t.Errorf("got %s/%s/%q; want %s/%s/%q", got.Verdict, got.Reason, got.Detail, tc.verdict, tc.reason, tc.detail)
			}
			if tc.classes != nil && !equalInts(got.Classes, tc.classes) {
				t.Errorf("classes %v; want %v", got.Classes, tc.classes)
			}
		})
	}
}
