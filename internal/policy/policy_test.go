package policy

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"mediagate/internal/media"
)

var cst = time.FixedZone("CST", 8*3600)

// now is a fixed decision time in the hosts' local zone.
var now = time.Date(2025, 6, 15, 10, 0, 0, 0, cst)

func newHost(l media.Level) *media.Host {
	return &media.Host{ID: "h-1", Number: "JM-H-001", Level: l, Mode: media.ModeEnforce}
}

func stickIdentity() media.Identity {
	return media.Identity{
		Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530001", Serial: "4C530001",
		VendorID: "0781", ProductID: "5567", Capacity: 16_000_000_000,
		DescriptorHash: "9f2c0b7e", InterfaceClasses: []int{ClassMassStorage},
	}
}

func stick() Device {
	return Device{Identity: stickIdentity(), USB: true, Storage: true, Classes: []int{ClassMassStorage}}
}

func newMedium(l media.Level) *media.Medium {
	return &media.Medium{
		ID: "m-1", Number: "JM-U-0001", Kind: media.KindUSBDisk, Identity: stickIdentity(),
		Level: l, Custodian: "alice", Status: media.StatusActive, Access: media.AccessReadWrite,
	}
}

func alice() *media.Person {
	return &media.Person{ID: "p-1", Handle: "alice", Name: "Alice", Active: true}
}

// registered is a registered secret stick, active, on a secret host.
func registered() Input {
	return Input{Host: newHost(media.Secret), Device: stick(), Record: newMedium(media.Secret), Custodian: alice(), Now: now}
}

// peripheral is a USB device presenting one interface of each class; its HID
// interface is a boot keyboard (03/01/01).
func peripheral(vid, pid string, classes ...int) Device {
	d := Device{USB: true, VendorID: vid, ProductID: pid, Classes: classes}
	for _, c := range classes {
		i := media.USBInterface{Class: uint8(c)}
		if c == ClassHID {
			i.SubClass, i.Protocol = 1, 1
		}
		d.Interfaces = append(d.Interfaces, i.String())
	}
	return d
}

func internalDisk() Device {
	return Device{Identity: media.Identity{Kind: media.KindDisk, Key: "disk:wwn-0x5000c500a1b2c3d4", WWN: "0x5000c500a1b2c3d4"}, Block: true, Storage: true}
}

func opticalDisc() Device {
	return Device{Identity: media.Identity{Kind: media.KindOpticalDisc, Key: "optical:sha256:77aa", Capacity: 700_000_000}, Block: true, Optical: true, Storage: true}
}

// with applies edits to a copy of the registered input.
func with(edits ...func(*Input)) Input {
	in := registered()
	for _, e := range edits {
		e(&in)
	}
	return in
}

type decideCase struct {
	name    string
	in      Input
	verdict Verdict
	reason  Reason
	detail  string
	classes []int // when not nil, the expected Decision.Classes
}

func decideCases() []decideCase {
	unclassifiedHost := func(in *Input) { in.Host = newHost(media.Unclassified) }
	noRecord := func(in *Input) { in.Record = nil; in.Custodian = nil }
	status := func(s media.Status) func(*Input) { return func(in *Input) { in.Record.Status = s } }
	dev := func(d Device) func(*Input) { return func(in *Input) { in.Device = d } }
	lent := func(due time.Time) func(*Input) {
		return func(in *Input) { in.Record.Status, in.Record.Holder, in.Record.DueAt = media.StatusLent, "bob", due }
	}
	comboClasses := func(classes ...int) func(*Input) {
		return func(in *Input) {
			in.Device.Classes = classes
			in.Device.Identity.InterfaceClasses = classes
			in.Record.Identity.InterfaceClasses = classes
		}
	}
	phone := Device{USB: true, VendorID: "18d1", ProductID: "4ee1", Classes: []int{ClassVendorSpecific}, MTP: true}

	return []decideCase{
		// 1. not media
		{name: "pci device not media", in: with(dev(Device{})), verdict: Allow, reason: ReasonNotMedia},

		// 2. host not initialised
		{name: "no host: stick", in: with(func(in *Input) { in.Host = nil }), verdict: Block, reason: ReasonHostNotInitialised, detail: "no-profile"},
		{name: "no host: internal disk", in: with(func(in *Input) { in.Host = nil }, dev(internalDisk()), noRecord), verdict: Block, reason: ReasonHostNotInitialised},
		{name: "no host: keyboard works", in: with(func(in *Input) { in.Host = nil }, dev(peripheral("046d", "c31c", ClassHID))), verdict: Allow, reason: ReasonPeripheralAllowed, classes: []int{ClassHID}},
		{name: "no host: hub works", in: with(func(in *Input) { in.Host = nil }, dev(peripheral("05e3", "0610", ClassHub))), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "no host: network adapter", in: with(func(in *Input) { in.Host = nil }, dev(peripheral("0bda", "8153", ClassCDC, ClassCDCData))), verdict: Block, reason: ReasonHostNotInitialised},
		{name: "no host: stick with HID", in: with(func(in *Input) { in.Host = nil }, comboClasses(ClassHID, ClassMassStorage)), verdict: Block, reason: ReasonHostNotInitialised},
		{name: "host with invalid level", in: with(func(in *Input) { in.Host.Level = 7 }), verdict: Block, reason: ReasonHostNotInitialised, detail: "invalid-level"},

		// 3. peripherals
		{name: "keyboard", in: with(dev(peripheral("046d", "c31c", ClassHID))), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "hub", in: with(dev(peripheral("05e3", "0610", ClassHub))), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "keyboard with hub", in: with(dev(peripheral("04d9", "1702", ClassHID, ClassHub))), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "network adapter", in: with(dev(peripheral("0bda", "8153", ClassCDC, ClassCDCData))), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassCDC, ClassCDCData}},
		{name: "bluetooth dongle", in: with(dev(peripheral("0a12", "0001", ClassWireless))), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassWireless}},
		{name: "phone PTP", in: with(dev(peripheral("05ac", "12a8", ClassStillImage))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "phone MTP in vendor-specific interface", in: with(dev(phone)), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassStillImage, ClassVendorSpecific}},
		{name: "phone MTP: allowing vendor-specific is not enough", in: with(dev(phone), func(in *Input) { in.Host.AllowClasses = []string{"vendor-specific"} }), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassStillImage}},
		{name: "headset blocked by default", in: with(dev(peripheral("046d", "0a44", ClassAudio, ClassHID))), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassAudio}},
		{name: "headset allowed by class name", in: with(dev(peripheral("046d", "0a44", ClassAudio, ClassHID)), func(in *Input) { in.Host.AllowClasses = []string{"Audio"} }), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "webcam", in: with(dev(peripheral("046d", "0825", ClassVideo, ClassAudio))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "printer", in: with(dev(peripheral("03f0", "2b17", ClassPrinter))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "smart card reader", in: with(dev(peripheral("076b", "3021", ClassSmartCard))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "smart card reader allowed by VID:PID", in: with(dev(peripheral("076b", "3021", ClassSmartCard)), func(in *Input) { in.Host.AllowDevices = []string{"076B:3021"} }), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "VID:PID taken from identity", in: with(dev(Device{USB: true, Identity: media.Identity{VendorID: "76b", ProductID: "3021"}, Classes: []int{ClassSmartCard}}), func(in *Input) { in.Host.AllowDevices = []string{"076b:3021"} }), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "other VID:PID does not allow", in: with(dev(peripheral("076b", "3022", ClassSmartCard)), func(in *Input) { in.Host.AllowDevices = []string{"076b:3021"} }), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "misc class", in: with(dev(peripheral("1234", "5678", ClassMisc))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "vendor-specific", in: with(dev(peripheral("1234", "5678", ClassVendorSpecific))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "no readable class", in: with(dev(peripheral("1234", "5678"))), verdict: Block, reason: ReasonPeripheralNotAllowed},
		{name: "no readable class, device allowed", in: with(dev(peripheral("1234", "5678")), func(in *Input) { in.Host.AllowDevices = []string{"1234:5678"} }), verdict: Allow, reason: ReasonPeripheralAllowed},
		{name: "unclassified host: any peripheral", in: with(unclassifiedHost, dev(peripheral("0bda", "8153", ClassCDC, ClassCDCData))), verdict: Allow, reason: ReasonPeripheralAllowed},

		// 4. baseline
		{name: "internal disk in host baseline", in: with(dev(internalDisk()), noRecord, func(in *Input) { in.Host.Baseline = []string{"disk:wwn-0x5000c500a1b2c3d4"} }), verdict: Allow, reason: ReasonBaseline},
		{name: "internal disk flagged by caller", in: with(dev(func() Device { d := internalDisk(); d.InBaseline = true; return d }()), noRecord), verdict: Allow, reason: ReasonBaseline},
		{name: "USB stick is never baseline", in: with(noRecord, func(in *Input) { in.Host.Baseline = []string{stickIdentity().Key}; in.Device.InBaseline = true }), verdict: Block, reason: ReasonUnregistered},
		{name: "other disk in a baseline disk's slot: capacity", in: with(dev(func() Device { d := internalDisk(); d.BaselineSlotDiffers = "capacity"; return d }()), noRecord), verdict: Block, reason: ReasonIdentityMismatch, detail: DetailBaselineCapacity},
		{name: "other disk in a baseline disk's slot: model", in: with(dev(func() Device { d := internalDisk(); d.BaselineSlotDiffers = "model"; return d }()), noRecord), verdict: Block, reason: ReasonIdentityMismatch, detail: DetailBaselineModel},
		{name: "other disk in a baseline slot on an unclassified host", in: with(unclassifiedHost, dev(func() Device { d := internalDisk(); d.BaselineSlotDiffers = "model"; return d }()), noRecord), verdict: Allow, reason: ReasonUnregisteredUnclassifiedHost},
		{name: "registered disk in a baseline slot is judged as registered", in: with(dev(func() Device { d := internalDisk(); d.BaselineSlotDiffers = "capacity"; return d }()), func(in *Input) { in.Record.Kind, in.Record.Identity = media.KindDisk, internalDisk().Identity }), verdict: Allow, reason: ReasonAllowed},
		{name: "optical disc is never baseline", in: with(dev(opticalDisc()), noRecord, func(in *Input) { in.Host.Baseline = []string{opticalDisc().Identity.Key} }), verdict: Block, reason: ReasonUnregistered},

		// 5. unregistered
		{name: "unregistered stick", in: with(noRecord), verdict: Block, reason: ReasonUnregistered},
		{name: "unregistered external SATA disk", in: with(dev(internalDisk()), noRecord), verdict: Block, reason: ReasonUnregistered},
		{name: "unregistered optical disc", in: with(dev(opticalDisc()), noRecord), verdict: Block, reason: ReasonUnregistered},
		{name: "unregistered stick with keyboard interface", in: with(noRecord, func(in *Input) { in.Device.Classes = []int{ClassHID, ClassMassStorage} }), verdict: Block, reason: ReasonUnregistered},
		{name: "mass storage class without storage flag", in: with(noRecord, func(in *Input) { in.Device.Storage = false }), verdict: Block, reason: ReasonUnregistered},
		{name: "unregistered stick on unclassified host", in: with(unclassifiedHost, noRecord), verdict: Allow, reason: ReasonUnregisteredUnclassifiedHost},

		// 6. identity mismatch
		{name: "capacity differs", in: with(func(in *Input) { in.Device.Identity.Capacity = 64_000_000_000 }), verdict: Block, reason: ReasonIdentityMismatch, detail: FieldCapacity},
		{name: "capacity not yet known", in: with(func(in *Input) { in.Device.Identity.Capacity = 0 }), verdict: Allow, reason: ReasonAllowed},
		{name: "descriptor hash differs", in: with(func(in *Input) { in.Device.Identity.DescriptorHash = "00ff" }), verdict: Block, reason: ReasonIdentityMismatch, detail: FieldDescriptorHash},
		{name: "stick now also presents a keyboard", in: with(func(in *Input) { in.Device.Classes = []int{ClassMassStorage, ClassHID} }), verdict: Block, reason: ReasonIdentityMismatch, detail: FieldInterfaceClasses, classes: []int{ClassHID}},
		{name: "stick registered without classes presents a keyboard", in: with(func(in *Input) {
			in.Record.Identity.InterfaceClasses = nil
			in.Device.Identity.InterfaceClasses = []int{ClassHID, ClassMassStorage}
		}), verdict: Block, reason: ReasonIdentityMismatch, detail: FieldInterfaceClasses, classes: []int{ClassHID}},
		// 6. one registration covers exactly one disk
		{name: "second disk behind a registered stick", in: with(func(in *Input) { in.Device.Behind, in.Device.Disks = true, 2 }), verdict: Block, reason: ReasonIdentityMismatch, detail: DetailExtraDisk},
		{name: "registered USB device presents two disks on a rescan", in: with(func(in *Input) { in.Device.Disks = 2 }), verdict: Block, reason: ReasonIdentityMismatch, detail: DetailExtraDisk},
		{name: "lost stick with a second disk reports the anomaly", in: with(status(media.StatusLost), func(in *Input) { in.Device.Behind, in.Device.Disks = true, 3 }), verdict: Block, reason: ReasonIdentityMismatch, detail: DetailExtraDisk},
		{name: "one disk behind a registered stick", in: with(func(in *Input) { in.Device.Behind, in.Device.Disks = true, 1 }), verdict: Allow, reason: ReasonAllowed},
		{name: "several cards in an allowed reader: each is unregistered", in: with(noRecord, dev(func() Device { d := cardReader(); d.Behind, d.Disks = true, 4; return d }()), pinReader("05e3:0751")), verdict: Block, reason: ReasonUnregistered},
		{name: "multi-slot reader allowed as a container", in: with(noRecord, dev(func() Device { d := cardReader(); d.Disks = 4; return d }()), pinReader("05e3:0751")), verdict: Allow, reason: ReasonContainer},
		{name: "registered disc in a drive with more units", in: with(dev(func() Device { d := opticalDisc(); d.USB, d.Behind, d.Disks = true, true, 2; return d }()), func(in *Input) {
			in.Record.Kind, in.Record.Identity = media.KindOpticalDisc, opticalDisc().Identity
		}), verdict: AllowReadOnly, reason: ReasonAllowedReadOnly},
		{name: "lost medium with other identity reports the mismatch", in: with(status(media.StatusLost), func(in *Input) { in.Device.Identity.Serial = "X" }), verdict: Block, reason: ReasonIdentityMismatch, detail: FieldSerial},

		// 7. record invalid
		{name: "unknown status", in: with(status("gone")), verdict: Block, reason: ReasonRecordInvalid, detail: "status"},
		{name: "unknown level", in: with(func(in *Input) { in.Record.Level = -1 }), verdict: Block, reason: ReasonRecordInvalid, detail: "level"},
		{name: "unknown access", in: with(func(in *Input) { in.Record.Access = "wo" }), verdict: Block, reason: ReasonRecordInvalid, detail: "access"},

		// 8. status
		{name: "lost", in: with(status(media.StatusLost)), verdict: Block, reason: ReasonStatusLost},
		{name: "in vault", in: with(status(media.StatusInVault)), verdict: Block, reason: ReasonStatusInVault},
		{name: "repair", in: with(status(media.StatusRepair)), verdict: Block, reason: ReasonStatusRepair},
		{name: "destroyed", in: with(status(media.StatusDestroyed)), verdict: Block, reason: ReasonStatusDestroyed},
		{name: "retired", in: with(status(media.StatusRetired)), verdict: Block, reason: ReasonStatusRetired},
		{name: "retired beats no custodian", in: with(status(media.StatusRetired), func(in *Input) { in.Record.Custodian = "" }), verdict: Block, reason: ReasonStatusRetired},

		// 9. custodian
		{name: "no custodian recorded", in: with(func(in *Input) { in.Record.Custodian = ""; in.Custodian = nil }), verdict: Block, reason: ReasonNoCustodian, detail: "none"},
		{name: "custodian unknown", in: with(func(in *Input) { in.Custodian = nil }), verdict: Block, reason: ReasonNoCustodian, detail: "unknown"},
		{name: "custodian record of another person", in: with(func(in *Input) { in.Custodian.Handle = "bob" }), verdict: Block, reason: ReasonNoCustodian, detail: "unknown"},
		{name: "custodian inactive", in: with(func(in *Input) { in.Custodian.Active = false }), verdict: Block, reason: ReasonNoCustodian, detail: "inactive"},

		// 10. levels
		{name: "secret medium on unclassified host", in: with(unclassifiedHost), verdict: Block, reason: ReasonHostUnclassified},
		{name: "top-secret medium on secret host", in: with(func(in *Input) { in.Record.Level = media.TopSecret }), verdict: Block, reason: ReasonLevelAboveHost},
		{name: "confidential medium on secret host is read-only (no write-down)", in: with(func(in *Input) { in.Record.Level = media.Confidential }), verdict: AllowReadOnly, reason: ReasonReadOnlyBelowHost},
		{name: "unclassified registered medium on secret host is read-only", in: with(func(in *Input) { in.Record.Level = media.Unclassified }), verdict: AllowReadOnly, reason: ReasonReadOnlyBelowHost},
		{name: "lower medium refused by host profile", in: with(func(in *Input) { in.Record.Level = media.Confidential; in.Host.LowerMedia = media.LowerRefuse }), verdict: Block, reason: ReasonLevelBelowHost},
		{name: "unknown lower-media setting refuses (fail closed)", in: with(func(in *Input) { in.Record.Level = media.Confidential; in.Host.LowerMedia = "bogus" }), verdict: Block, reason: ReasonLevelBelowHost},
		{name: "refuse setting leaves same-level media alone", in: with(func(in *Input) { in.Host.LowerMedia = media.LowerRefuse }), verdict: Allow, reason: ReasonAllowed},
		{name: "lower medium limited to another host keeps that reason", in: with(func(in *Input) { in.Record.Level = media.Confidential; in.Record.AllowedHosts = []string{"JM-H-002"} }), verdict: Block, reason: ReasonHostNotAllowed},

		// 11. allowed hosts
		{name: "limited to another host", in: with(func(in *Input) { in.Record.AllowedHosts = []string{"JM-H-002"} }), verdict: Block, reason: ReasonHostNotAllowed},
		{name: "limited to this host", in: with(func(in *Input) { in.Record.AllowedHosts = []string{"JM-H-002", "jm-h-001"} }), verdict: Allow, reason: ReasonAllowed},
		{name: "limited, host has no number", in: with(func(in *Input) { in.Record.AllowedHosts = []string{"JM-H-001"}; in.Host.Number = "" }), verdict: Block, reason: ReasonHostNotAllowed},

		// 12. registered storage with extra classes
		{name: "stick with registered boot keyboard interface", in: with(comboClasses(ClassHID, ClassMassStorage), func(in *Input) { in.Device.Interfaces = []string{"03/01/01", "08/06/50"} }), verdict: Allow, reason: ReasonAllowed},
		{name: "stick with registered non-boot HID interface", in: with(comboClasses(ClassHID, ClassMassStorage), func(in *Input) { in.Device.Interfaces = []string{"03/00/00", "08/06/50"} }), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: DetailHIDNotBoot, classes: []int{ClassHID}},
		{name: "stick with registered Wi-Fi interface", in: with(comboClasses(ClassMassStorage, ClassWireless)), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassWireless}},
		{name: "stick with registered Wi-Fi interface, class allowed", in: with(comboClasses(ClassMassStorage, ClassWireless), func(in *Input) { in.Host.AllowClasses = []string{"wireless"} }), verdict: Allow, reason: ReasonAllowed},
		{name: "stick with registered Wi-Fi interface, device allowed and pinned", in: with(comboClasses(ClassMassStorage, ClassWireless), func(in *Input) {
			in.Device.Interfaces = []string{"08/06/50", "e0/01/01"}
			in.Host.AllowDevices = []string{"0781:5567"}
			in.Host.DevicePins = []media.DevicePin{{Device: "0781:5567", Interfaces: []string{"08/06/50", "e0/01/01"}}}
		}), verdict: Allow, reason: ReasonAllowed},
		{name: "stick with registered Wi-Fi interface, unpinned device entry is not enough", in: with(comboClasses(ClassMassStorage, ClassWireless), func(in *Input) { in.Host.AllowDevices = []string{"0781:5567"} }), verdict: Block, reason: ReasonPeripheralNotAllowed, classes: []int{ClassWireless}},
		{name: "mass storage in AllowClasses changes nothing", in: with(noRecord, func(in *Input) { in.Host.AllowClasses = []string{"mass-storage"} }), verdict: Block, reason: ReasonUnregistered},

		// 13. lending
		{name: "lent, due later", in: with(lent(time.Date(2025, 6, 20, 0, 0, 0, 0, cst))), verdict: Allow, reason: ReasonAllowed},
		{name: "lent, due today", in: with(lent(time.Date(2025, 6, 15, 0, 0, 0, 0, cst))), verdict: Allow, reason: ReasonAllowed},
		{name: "lent, due yesterday", in: with(lent(time.Date(2025, 6, 14, 0, 0, 0, 0, cst))), verdict: Block, reason: ReasonLentOverdue},
		{name: "lent, judged without a time", in: with(lent(time.Date(2025, 6, 20, 0, 0, 0, 0, cst)), func(in *Input) { in.Now = time.Time{} }), verdict: Block, reason: ReasonLentOverdue},
		{name: "lent without due date", in: with(lent(time.Time{})), verdict: Block, reason: ReasonLentOverdue, detail: "no-due-date"},

		// 14. read-only and allowed
		{name: "registered read-only", in: with(func(in *Input) { in.Record.Access = media.AccessReadOnly }), verdict: AllowReadOnly, reason: ReasonAllowedReadOnly},
		{name: "registered optical disc is read-only", in: with(dev(opticalDisc()), func(in *Input) {
			in.Record.Kind, in.Record.Identity = media.KindOpticalDisc, opticalDisc().Identity
		}), verdict: AllowReadOnly, reason: ReasonAllowedReadOnly},
		{name: "optical kind registered rw is still read-only", in: with(func(in *Input) { in.Record.Kind = media.KindOpticalDisc }), verdict: AllowReadOnly, reason: ReasonAllowedReadOnly},
		{name: "empty access means read-write", in: with(func(in *Input) { in.Record.Access = "" }), verdict: Allow, reason: ReasonAllowed},
		{name: "registered stick", in: registered(), verdict: Allow, reason: ReasonAllowed},
		{name: "registered unclassified medium on unclassified host", in: with(unclassifiedHost, func(in *Input) { in.Record.Level = media.Unclassified }), verdict: Allow, reason: ReasonAllowed},
		{name: "registered external disk", in: with(dev(internalDisk()), func(in *Input) { in.Record.Kind, in.Record.Identity = media.KindDisk, internalDisk().Identity }), verdict: Allow, reason: ReasonAllowed},

		// 0. unreadable devices: fail closed
		{name: "unreadable USB device", in: with(noRecord, dev(Device{USB: true, Unreadable: true})), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: "unreadable"},
		{name: "unreadable registered stick", in: with(func(in *Input) { in.Device.Unreadable = true }), verdict: Block, reason: ReasonPeripheralNotAllowed, detail: "unreadable"},
		{name: "unreadable disk", in: with(noRecord, dev(Device{Block: true, Storage: true, Unreadable: true})), verdict: Block, reason: ReasonIdentityMismatch, detail: "unreadable"},
		{name: "unreadable disk behind USB", in: with(func(in *Input) { in.Device.Behind, in.Device.Unreadable = true, true }), verdict: Block, reason: ReasonIdentityMismatch, detail: "unreadable"},
		{name: "unreadable internal disk recorded by place", in: with(noRecord, dev(Device{Block: true, Storage: true, InBaseline: true, Unreadable: true})), verdict: Allow, reason: ReasonBaseline, detail: "unreadable"},
		{name: "unreadable disk with no host", in: with(noRecord, func(in *Input) { in.Host = nil }, dev(Device{Block: true, Unreadable: true})), verdict: Block, reason: ReasonIdentityMismatch, detail: "unreadable"},

		// 5. containers: card readers and optical drives allowed by VID:PID
		{name: "card reader allowed by VID:PID", in: with(noRecord, dev(cardReader()), pinReader("05e3:0751")), verdict: Allow, reason: ReasonContainer},
		{name: "card reader allowed by short VID:PID", in: with(noRecord, dev(cardReader()), pinReader("5e3:751")), verdict: Allow, reason: ReasonContainer},
		{name: "card reader allowed without a pin (old entry)", in: with(noRecord, dev(cardReader()), allowDevice("05e3:0751")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailNotPinned},
		{name: "card reader not listed", in: with(noRecord, dev(cardReader()), pinReader("05e3:0752")), verdict: Block, reason: ReasonUnregistered},
		{name: "card reader with a wireless interface", in: with(noRecord, dev(func() Device {
			d := cardReader()
			d.Classes, d.Interfaces = []int{ClassMassStorage, ClassWireless}, []string{"08/06/50", "e0/01/01"}
			return d
		}()), pinReader("05e3:0751")), verdict: Block, reason: ReasonAllowEntryMismatch, detail: DetailPinInterfaces, classes: []int{ClassWireless}},
		{name: "card in an allowed reader", in: with(noRecord, dev(func() Device { d := cardReader(); d.Behind = true; return d }()), allowDevice("05e3:0751")), verdict: Block, reason: ReasonUnregistered},
		{name: "container on unclassified host", in: with(noRecord, unclassifiedHost, dev(cardReader()), allowDevice("05e3:0751")), verdict: Allow, reason: ReasonUnregisteredUnclassifiedHost},
		{name: "registered stick with a listed VID:PID is judged as registered", in: with(allowDevice("0781:5567"), func(in *Input) { in.Record.Status = media.StatusLost }), verdict: Block, reason: ReasonStatusLost},

		// 14. twins and unreadable capacity
		{name: "twin of a registered stick", in: with(func(in *Input) { in.Twin = "/devices/x/2-2" }), verdict: Block, reason: ReasonIdentityMismatch, detail: "another device with the same identity is present at /devices/x/2-2"},
		{name: "twin of a lost stick keeps the status reason", in: with(status(media.StatusLost), func(in *Input) { in.Twin = "/devices/x/2-2" }), verdict: Block, reason: ReasonStatusLost},
		{name: "disk behind USB without capacity", in: with(func(in *Input) { in.Device.Behind = true; in.Device.Identity.Capacity = 0 }), verdict: Block, reason: ReasonIdentityMismatch, detail: "the registered capacity cannot be read from the device"},
		{name: "disk behind USB with capacity", in: with(func(in *Input) { in.Device.Behind = true }), verdict: Allow, reason: ReasonAllowed},
		{name: "USB device before its disk has no capacity yet", in: with(func(in *Input) { in.Device.Identity.Capacity = 0 }), verdict: Allow, reason: ReasonAllowed},
		{name: "registered without capacity", in: with(func(in *Input) {
			in.Device.Behind = true
			in.Device.Identity.Capacity = 0
			in.Record.Identity.Capacity = 0
		}), verdict: Allow, reason: ReasonAllowed},
		{name: "disc behind USB has no capacity check", in: with(func(in *Input) {
			in.Device = opticalDisc()
			in.Device.USB, in.Device.Behind, in.Device.Block, in.Device.Identity.Capacity = true, true, false, 0
			in.Record.Kind, in.Record.Identity = media.KindOpticalDisc, opticalDisc().Identity
		}), verdict: AllowReadOnly, reason: ReasonAllowedReadOnly},

		// The audit log cannot be written: no medium is used without its decision on
		// record; the host's peripherals, own disks and containers stay as they are.
		{name: "registered stick, audit log unavailable", in: with(auditDown), verdict: Block, reason: ReasonAuditUnavailable},
		{name: "read-only medium, audit log unavailable", in: with(auditDown, func(in *Input) { in.Record.Access = media.AccessReadOnly }), verdict: Block, reason: ReasonAuditUnavailable},
		{name: "lower medium read-only, audit log unavailable", in: with(auditDown, func(in *Input) { in.Record.Level = media.Confidential }), verdict: Block, reason: ReasonAuditUnavailable},
		{name: "unregistered stick on unclassified host, audit log unavailable", in: with(auditDown, unclassifiedHost, noRecord), verdict: Block, reason: ReasonAuditUnavailable},
		{name: "lost stick, audit log unavailable", in: with(auditDown, status(media.StatusLost)), verdict: Block, reason: ReasonStatusLost},
		{name: "keyboard, audit log unavailable", in: with(auditDown, dev(peripheral("046d", "c31c", ClassHID))), verdict: Allow, reason: ReasonPeripheralAllowed, classes: []int{ClassHID}},
		{name: "internal disk, audit log unavailable", in: with(auditDown, dev(internalDisk()), func(in *Input) { in.Host.Baseline = []string{internalDisk().Identity.Key} }), verdict: Allow, reason: ReasonBaseline},
		{name: "card reader, audit log unavailable", in: with(auditDown, noRecord, dev(cardReader()), pinReader("05e3:0751")), verdict: Allow, reason: ReasonContainer},
	}
}

// auditDown marks the audit log unavailable.
func auditDown(in *Input) { in.AuditUnavailable = true }

// cardReader is an unregistered USB card reader (Genesys 05e3:0751).
func cardReader() Device {
	return Device{USB: true, Storage: true, VendorID: "05e3", ProductID: "0751", Classes: []int{ClassMassStorage}, Interfaces: []string{"08/06/50"},
		Identity: media.Identity{Kind: media.KindSD, Key: "usb:05e3:0751:000000001", VendorID: "05e3", ProductID: "0751", InterfaceClasses: []int{ClassMassStorage}}}
}

// pinReader allows the card reader by VID:PID, pinned to its one mass-storage interface.
func pinReader(id string) func(*Input) {
	return func(in *Input) {
		in.Host.AllowDevices = []string{id}
		in.Host.DevicePins = []media.DevicePin{{Device: id, Interfaces: []string{"08/06/50"}}}
	}
}

func allowDevice(ids ...string) func(*Input) {
	return func(in *Input) { in.Host.AllowDevices = ids }
}

func TestDecide(t *testing.T) {
	for _, tc := range decideCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.in)
			if got.Verdict != tc.verdict || got.Reason != tc.reason {
				t.Fatalf("Decide = %s/%s (detail %q); want %s/%s", got.Verdict, got.Reason, got.Detail, tc.verdict, tc.reason)
			}
			if tc.detail != "" && got.Detail != tc.detail {
				t.Errorf("Detail = %q; want %q", got.Detail, tc.detail)
			}
			if tc.classes != nil && !equalInts(got.Classes, tc.classes) {
				t.Errorf("Classes = %v; want %v", got.Classes, tc.classes)
			}
			if !got.Enforce {
				t.Error("Enforce = false on an enforce host")
			}
			if got.Effective() != got.Verdict {
				t.Errorf("Effective = %s; want %s in enforce mode", got.Effective(), got.Verdict)
			}
			if again := Decide(tc.in); !reflect.DeepEqual(again, got) {
				t.Error("Decide is not deterministic")
			}
		})
	}
}

// TestEveryReasonCovered fails when a reason code has no case in decideCases, or a
// case yields a code Reasons does not list.
func TestEveryReasonCovered(t *testing.T) {
	listed := map[Reason]bool{}
	for _, r := range Reasons() {
		if listed[r] {
			t.Errorf("Reasons lists %q twice", r)
		}
		listed[r] = true
	}
	seen := map[Reason]bool{}
	for _, tc := range append(decideCases(), hidCases()...) {
		seen[tc.reason] = true
		if !listed[tc.reason] {
			t.Errorf("case %q expects %q, which Reasons does not list", tc.name, tc.reason)
		}
	}
	for _, r := range Reasons() {
		if !seen[r] {
			t.Errorf("reason %q has no test case", r)
		}
	}
}

func TestLevelMatrix(t *testing.T) {
	// Every pair of medium and host level, for both lower-media settings of the host:
	// never above the host, never classified on an unclassified host, and no
	// write-down (a medium below the host's level is read-only there, or refused).
	for _, lower := range []media.LowerMedia{"", media.LowerReadOnly, media.LowerRefuse} {
		for _, hl := range media.Levels() {
			for _, ml := range media.Levels() {
				t.Run(fmt.Sprintf("medium %s on host %s, lower media %q", ml, hl, lower), func(t *testing.T) {
					in := registered()
					in.Host.Level, in.Record.Level, in.Host.LowerMedia = hl, ml, lower
					want, verdict := ReasonAllowed, Allow
					switch {
					case hl == media.Unclassified && ml != media.Unclassified:
						want, verdict = ReasonHostUnclassified, Block
					case ml.Rank() > hl.Rank():
						want, verdict = ReasonLevelAboveHost, Block
					case ml.Rank() < hl.Rank() && lower == media.LowerRefuse:
						want, verdict = ReasonLevelBelowHost, Block
					case ml.Rank() < hl.Rank():
						want, verdict = ReasonReadOnlyBelowHost, AllowReadOnly
					}
					got := Decide(in)
					if got.Reason != want || got.Verdict != verdict {
						t.Errorf("got %s/%s; want %s/%s", got.Verdict, got.Reason, verdict, want)
					}
				})
			}
		}
	}
}

func TestAuditMode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Input
		verdict Verdict
		reason  Reason
	}{
		{"unregistered", with(func(in *Input) { in.Record = nil }), Block, ReasonUnregistered},
		{"network adapter", with(func(in *Input) { in.Device = peripheral("0bda", "8153", ClassCDC) }), Block, ReasonPeripheralNotAllowed},
		{"read-only", with(func(in *Input) { in.Record.Access = media.AccessReadOnly }), AllowReadOnly, ReasonAllowedReadOnly},
		{"allowed", registered(), Allow, ReasonAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Host.Mode = media.ModeAudit
			got := Decide(tc.in)
			if got.Verdict != tc.verdict || got.Reason != tc.reason {
				t.Fatalf("got %s/%s; want %s/%s", got.Verdict, got.Reason, tc.verdict, tc.reason)
			}
			if got.Enforce {
				t.Error("Enforce = true in audit mode")
			}
			if got.Effective() != Allow {
				t.Errorf("Effective = %s; want allow in audit mode", got.Effective())
			}
		})
	}
	t.Run("unknown mode enforces", func(t *testing.T) {
		in := with(func(in *Input) { in.Record = nil; in.Host.Mode = "" })
		if got := Decide(in); !got.Enforce || got.Effective() != Block {
			t.Errorf("got enforce=%v effective=%s; want a block", got.Enforce, got.Effective())
		}
	})
	t.Run("unreadable enforces", func(t *testing.T) {
		in := with(func(in *Input) { in.Host.Mode = media.ModeAudit; in.Device.Unreadable = true })
		if got := Decide(in); !got.Enforce || got.Effective() != Block {
			t.Errorf("got enforce=%v effective=%s; want a block", got.Enforce, got.Effective())
		}
	})
	t.Run("twin in audit mode is logged only", func(t *testing.T) {
		in := with(func(in *Input) { in.Host.Mode = media.ModeAudit; in.Twin = "/devices/x" })
		if got := Decide(in); got.Enforce || got.Verdict != Block || got.Effective() != Allow {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("no host enforces", func(t *testing.T) {
		in := with(func(in *Input) { in.Host = nil })
		if got := Decide(in); !got.Enforce || got.Effective() != Block {
			t.Errorf("got enforce=%v effective=%s; want a block", got.Enforce, got.Effective())
		}
	})
}

func TestZeroDecisionBlocks(t *testing.T) {
	if v := (Decision{}).Effective(); v != Block {
		t.Errorf("zero Decision Effective = %s; want block", v)
	}
	if !(Decision{}).Blocked() {
		t.Error("zero Decision is not blocked")
	}
}

// TestLentOverdueBoundary checks that a lent medium works to the last instant of its
// due date and is blocked from the next midnight, however the due date was stored.
func TestLentOverdueBoundary(t *testing.T) {
	dueDates := map[string]time.Time{
		"local midnight":       time.Date(2025, 6, 15, 0, 0, 0, 0, cst),
		"local midnight (UTC)": time.Date(2025, 6, 14, 16, 0, 0, 0, time.UTC),
		"UTC midnight":         time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC),
		"local end of day":     time.Date(2025, 6, 15, 23, 59, 59, 0, cst),
	}
	for name, due := range dueDates {
		for _, tc := range []struct {
			now  time.Time
			want Reason
		}{
			{time.Date(2025, 6, 15, 0, 0, 0, 0, cst), ReasonAllowed},
			{time.Date(2025, 6, 15, 23, 59, 59, 999_999_999, cst), ReasonAllowed},
			{time.Date(2025, 6, 16, 0, 0, 0, 0, cst), ReasonLentOverdue},
			{time.Date(2025, 6, 16, 0, 0, 0, 1, cst), ReasonLentOverdue},
			{time.Date(2025, 7, 1, 9, 0, 0, 0, cst), ReasonLentOverdue},
		} {
			t.Run(name+" at "+tc.now.Format(time.RFC3339Nano), func(t *testing.T) {
				in := registered()
				in.Record.Status, in.Record.Holder, in.Record.DueAt = media.StatusLent, "bob", due
				in.Now = tc.now
				got := Decide(in)
				if got.Reason != tc.want {
					t.Fatalf("got %s; want %s", got.Reason, tc.want)
				}
				if got.Reason == ReasonLentOverdue && !got.DueAt.Equal(due) {
					t.Errorf("DueAt = %v; want the due date %v for the message", got.DueAt, due)
				}
			})
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkDecide(b *testing.B) {
	inputs := map[string]Input{
		"allowed":      registered(),
		"unregistered": with(func(in *Input) { in.Record = nil }),
		"peripheral": with(func(in *Input) {
			in.Device = peripheral("046d", "0a44", ClassAudio, ClassHID)
			in.Host.AllowClasses = []string{"audio", "video"}
		}),
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Decide(in)
			}
		})
	}
}
