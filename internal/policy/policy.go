package policy

import (
	"slices"
	"sort"
	"strings"
	"time"

	"mediagate/internal/media"
)

// Verdict is what should happen to a device.
type Verdict string

const (
	Allow         Verdict = "allow"           // use it normally
	AllowReadOnly Verdict = "allow-read-only" // use it, but never write to it
	Block         Verdict = "block"           // keep it unusable
)

// Device is what the host sees: one USB device, one non-USB block device, or one
// optical disc, as described by the identity package.
type Device struct {
	// Identity is the seen identity; its Key is what the registry record was found by.
	Identity media.Identity
	// USB is set for a USB device (decided before the kernel authorises it).
	USB bool
	// Storage is set when the device presents storage. A USB device with a
	// mass-storage interface, a block device and an optical disc are storage even if
	// this is not set: policy never judges storage as a mere peripheral.
	Storage bool
	// Block is set for a non-USB block device (SATA, SAS, NVMe, SD/MMC).
	Block bool
	// Optical is set for an optical disc (CD, DVD, BD) in a drive.
	Optical bool
	// InBaseline is set when the caller matched the device to one of the host's
	// internal disks. Policy also matches Identity.Key against Host.Baseline itself.
	// Either way the baseline applies only to non-USB, non-optical block devices.
	InBaseline bool
	// VendorID and ProductID are the USB ids as 4 hex digits ("0781"); when empty,
	// those of Identity are used.
	VendorID, ProductID string
	// Classes are the USB interface classes the device presents. Policy judges the
	// union of these and Identity.InterfaceClasses.
	Classes []int
	// Interfaces are the class/subclass/protocol triples ("03/01/01") of every
	// interface the USB device presents. On a classified host HID is a default
	// peripheral only as a boot-protocol keyboard (03/01/01) or mouse (03/01/02), and
	// a pinned allow entry compares them; HID or a pinned entry without readable
	// triples does not pass (fail closed).
	Interfaces []string
	// Node is set when a driver bound to this already decided USB device created a
	// device node of the named subsystem ("net", "tty", "hidraw"). The device is then
	// blocked (ReasonUnexpectedNode) unless it was allowed for such nodes.
	Node string
	// MTP is set when an interface speaks MTP (phones often hide it in a
	// vendor-specific 0xFF interface); it is then judged as still-image (0x06) too.
	MTP bool
	// Behind is set for a block device or disc seen behind a USB device that was
	// decided already (the disk of a stick, the card in a reader, the disc in a
	// drive). USB is set too. The container rule judges only the USB device itself.
	Behind bool
	// BaselineSlotDiffers is set for a non-USB disk in the slot of a baseline disk
	// recorded by its slot (no serial or WWN) whose capacity or model differ from the
	// recorded ones: "capacity" or "model". Another disk sits in that bay; unregistered,
	// it is blocked as identity-mismatch.
	BaselineSlotDiffers string
	// Unreadable is set when the device could not be read: it is blocked whatever
	// the host's mode (fail closed), except an internal disk the caller matched to
	// the baseline (InBaseline) by its place.
	Unreadable bool
	// Disks is, for a USB device or what sits behind one, the number of disks (SCSI
	// logical units or whole block devices, whichever is more) the caller sees
	// behind the USB device, this one included; 0 when none is known yet. A
	// registration covers exactly one disk: more than one behind a registered
	// medium blocks it (DetailExtraDisk). Containers are not registered, so the
	// cards in a multi-slot reader are each judged on their own.
	Disks int
}

// Input is everything Decide looks at. Decide does no I/O and reads no clock.
type Input struct {
	// Host is this host's profile; nil while the host is not initialised.
	Host *media.Host
	// Device is what was seen.
	Device Device
	// Record is the registered medium found for Device.Identity.Key; nil when none.
	Record *media.Medium
	// Custodian is the person record of Record.Custodian; nil when there is no such
	// person. A person whose Handle is not Record.Custodian counts as unknown.
	Custodian *media.Person
	// Now is the time of the decision; lending due dates are judged in its location.
	Now time.Time
	// Twin names (by devpath) another USB device present now with the same identity
	// key, or is empty. Two devices with one registered identity: at most one of
	// them is the registered medium (a weak serial shared by a batch, or a clone),
	// and nothing tells which, so neither new one gets in.
	Twin string
	// AuditUnavailable says that the audit log cannot be written now (the daemon's
	// last commit of rows failed: a full disk, a broken register). A medium is not
	// let in without its decision on record.
	AuditUnavailable bool
}

// Decision is the outcome of Decide.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	Reason  Reason  `json:"reason"`
	// Enforce is false on a host in audit mode: nothing is blocked or made read-only,
	// but Verdict and Reason still say what enforce mode would have done.
	Enforce bool `json:"enforce"`
	// Detail adds a machine-readable fact to some reasons: the identity field that
	// differs (identity-mismatch), the record field that is invalid (record-invalid),
	// why the custodian does not count (no-custodian), or why the host profile is
	// unusable (host-not-initialised).
	Detail string `json:"detail,omitempty"`

	// Context for messages and logs, filled when known.
	Medium      string      `json:"medium,omitempty"` // registered number
	MediumLevel media.Level `json:"medium_level"`
	HostNumber  string      `json:"host_number,omitempty"`
	HostLevel   media.Level `json:"host_level"`
	Custodian   string      `json:"custodian,omitempty"` // handle
	// Classes are the USB interface classes that caused the decision: those not
	// allowed (peripheral-not-allowed), those not in the registration
	// (identity-mismatch), or those allowed (peripheral-allowed).
	Classes []int `json:"classes,omitempty"`
	// DueAt is the end of the lending period of a lent medium, in Now's location.
	DueAt time.Time `json:"due_at,omitzero"`
}

// Effective is what the enforcer must do: the verdict in enforce mode, Allow in audit
// mode. A zero Decision is effectively a block, so a forgotten decision fails closed.
func (d Decision) Effective() Verdict {
	switch {
	case !d.Enforce && d.Reason != "":
		return Allow
	case d.Verdict == Allow || d.Verdict == AllowReadOnly:
		return d.Verdict
	}
	return Block
}

// Blocked reports whether enforce mode would block the device.
func (d Decision) Blocked() bool { return d.Verdict != Allow && d.Verdict != AllowReadOnly }

// Decide judges one seen device on this host. It is pure: the same Input always
// gives the same Decision. The checks run in a fixed order and the first that applies
// gives the reason; the package documentation lists the order and explains it.
func Decide(in Input) Decision {
	d := decide(in)
	if in.AuditUnavailable && recordedUse[d.Reason] {
		return d.with(Block, ReasonAuditUnavailable)
	}
	if in.Device.Node == "" || d.Blocked() {
		return d
	}
	// A node a driver created after the device was allowed: a device allowed as a
	// keyboard that grows a network interface or a serial port is taken away.
	if !nodeJustified(in.Host, in.Device, d) {
		d.Detail, d.Classes = in.Device.Node, nil
		return d.with(Block, ReasonUnexpectedNode)
	}
	return d
}

func decide(in Input) Decision {
	dev := in.Device
	classes := classSet(dev.Classes, dev.Identity.InterfaceClasses)
	if dev.MTP {
		classes = classSet(classes, []int{ClassStillImage})
	}
	storage := dev.Storage || dev.Block || dev.Optical || containsInt(classes, ClassMassStorage)

	d := Decision{Enforce: true}
	if h := in.Host; h != nil {
		d.HostNumber, d.HostLevel = h.Number, h.Level
		d.Enforce = h.Mode != media.ModeAudit
	}

	// 0. Unreadable: fail closed, whatever the mode.
	if dev.Unreadable {
		d.Enforce, d.Detail = true, "unreadable"
		switch {
		case dev.USB && !dev.Behind:
			return d.with(Block, ReasonPeripheralNotAllowed)
		case !dev.USB && !dev.Optical && dev.InBaseline:
			return d.with(Allow, ReasonBaseline) // an internal disk: never detached on a read error
		}
		return d.with(Block, ReasonIdentityMismatch)
	}

	// 1. Not a USB device and not storage: nothing to control.
	if !dev.USB && !storage {
		return d.with(Allow, ReasonNotMedia)
	}

	// 2. No host profile: fail closed, but keep hubs and keyboards working.
	if in.Host == nil || !in.Host.Level.Valid() {
		d.Enforce = true
		if in.Host == nil {
			d.Detail = "no-profile"
		} else {
			d.Detail = "invalid-level"
		}
		if !storage && len(classes) > 0 && !slices.ContainsFunc(classes, func(c int) bool { return !isDefaultPeripheral(c) }) {
			d.Classes = classes
			return d.with(Allow, ReasonPeripheralAllowed)
		}
		return d.with(Block, ReasonHostNotInitialised)
	}
	host := in.Host
	classified := host.Level != media.Unclassified

	// 3. A USB device that is not storage.
	if !storage {
		if !classified {
			d.Classes = classes
			return d.with(Allow, ReasonPeripheralAllowed)
		}
		allowed, listed, mismatch := allowEntry(host, dev, classes)
		switch {
		case listed && mismatch != "":
			d.Detail, d.Classes = mismatch, unpinnedClasses(host, dev)
			return d.with(Block, ReasonAllowEntryMismatch)
		case allowed:
			d.Classes = classes
			return d.with(Allow, ReasonPeripheralAllowed)
		}
		if bad := refusedClasses(host, dev, classes); len(bad) > 0 || len(classes) == 0 {
			d.Classes = bad
			if containsInt(bad, ClassHID) {
				d.Detail = DetailHIDNotBoot
			}
			return d.with(Block, ReasonPeripheralNotAllowed)
		}
		d.Classes = classes
		return d.with(Allow, ReasonPeripheralAllowed)
	}

	// 4. An internal disk recorded at host init.
	if !dev.USB && !dev.Optical && (dev.InBaseline || (dev.Identity.Key != "" && slices.Contains(host.Baseline, dev.Identity.Key))) {
		return d.with(Allow, ReasonBaseline)
	}

	// 5. Unregistered storage; a USB card reader or optical drive the host allows by
	// VID:PID is a container, judged by the media in it.
	rec := in.Record
	if rec == nil {
		if !classified {
			return d.with(Allow, ReasonUnregisteredUnclassifiedHost)
		}
		if !dev.USB && !dev.Optical && dev.BaselineSlotDiffers != "" {
			d.Detail = DetailBaselineModel
			if dev.BaselineSlotDiffers == "capacity" {
				d.Detail = DetailBaselineCapacity
			}
			return d.with(Block, ReasonIdentityMismatch)
		}
		if dev.USB && !dev.Behind && !dev.Block && !dev.Optical {
			allowed, listed, mismatch := allowEntry(host, dev, classes)
			switch {
			case listed && mismatch != "":
				// A device with the VID:PID of an allowed device that presents other
				// interfaces (a stick posing as an allowed keyboard): the whole device.
				d.Detail, d.Classes = mismatch, unpinnedClasses(host, dev)
				return d.with(Block, ReasonAllowEntryMismatch)
			case allowed && onlyStorage(classes):
				return d.with(Allow, ReasonContainer)
			}
		}
		return d.with(Block, ReasonUnregistered)
	}
	d.Medium, d.MediumLevel, d.Custodian = rec.Number, rec.Level, rec.Custodian

	// 6. The device is not what was registered.
	seen := dev.Identity
	seen.InterfaceClasses = classes
	if f := IdentityMismatch(rec.Identity, seen); f != "" {
		d.Detail = f
		if f == FieldInterfaceClasses {
			reg := rec.Identity.InterfaceClasses
			if len(reg) == 0 {
				reg = []int{ClassMassStorage}
			}
			d.Classes = notInList(classes, reg)
		}
		return d.with(Block, ReasonIdentityMismatch)
	}
	// A registration covers exactly one disk: a second logical unit behind the
	// registered USB identity (a device posing as the stick with an extra disk) is
	// not the registered medium, and nothing tells which unit is.
	if dev.USB && !dev.Optical && dev.Disks > 1 {
		d.Detail = DetailExtraDisk
		return d.with(Block, ReasonIdentityMismatch)
	}

	// 7. A record the policy cannot judge.
	switch {
	case !rec.Status.Valid():
		d.Detail = "status"
		return d.with(Block, ReasonRecordInvalid)
	case !rec.Level.Valid():
		d.Detail = "level"
		return d.with(Block, ReasonRecordInvalid)
	case rec.Access != "" && rec.Access != media.AccessReadWrite && rec.Access != media.AccessReadOnly:
		d.Detail = "access"
		return d.with(Block, ReasonRecordInvalid)
	}

	// 8. Status: only active and lent media work anywhere.
	if !rec.Status.Usable() {
		return d.with(Block, statusReasons[rec.Status])
	}

	// 9. One named person must be responsible.
	switch p := in.Custodian; {
	case strings.TrimSpace(rec.Custodian) == "":
		d.Detail = "none"
		return d.with(Block, ReasonNoCustodian)
	case p == nil || p.Handle != rec.Custodian:
		d.Detail = "unknown"
		return d.with(Block, ReasonNoCustodian)
	case !p.Active:
		d.Detail = "inactive"
		return d.with(Block, ReasonNoCustodian)
	}

	// 10. Level: classified media never on an unclassified host, and never above the host.
	if !classified && rec.Level != media.Unclassified {
		return d.with(Block, ReasonHostUnclassified)
	}
	if rec.Level.Rank() > host.Level.Rank() {
		return d.with(Block, ReasonLevelAboveHost)
	}
	// No write-down: a medium below the host's level is read-only here, or refused
	// when the host profile says so (an unknown setting refuses: fail closed).
	lower := rec.Level.Rank() < host.Level.Rank()
	if lower && host.LowerMedia != "" && host.LowerMedia != media.LowerReadOnly {
		return d.with(Block, ReasonLevelBelowHost)
	}

	// 11. Media limited to named hosts.
	if len(rec.AllowedHosts) > 0 && !containsFold(rec.AllowedHosts, host.Number) {
		return d.with(Block, ReasonHostNotAllowed)
	}

	// 12. Registered extra classes (a stick that is also a Wi-Fi adapter) are still
	// subject to this host's peripheral rules.
	if classified {
		extra := notInList(classes, []int{ClassMassStorage})
		if allowed, _, _ := allowEntry(host, dev, classes); !allowed {
			if bad := refusedClasses(host, dev, extra); len(bad) > 0 {
				d.Classes = bad
				if containsInt(bad, ClassHID) {
					d.Detail = DetailHIDNotBoot
				}
				return d.with(Block, ReasonPeripheralNotAllowed)
			}
		}
	}

	// 13. Lent media work until the end of the due date.
	if rec.Status == media.StatusLent {
		if rec.DueAt.IsZero() {
			d.Detail = "no-due-date"
			return d.with(Block, ReasonLentOverdue)
		}
		d.DueAt = rec.DueAt.In(in.Now.Location())
		if in.Now.IsZero() || !in.Now.Before(media.EndOfDay(d.DueAt).Add(time.Millisecond)) {
			return d.with(Block, ReasonLentOverdue)
		}
	}

	// 14. What would be allowed must be known to be the registered medium: not one of
	// two devices with its identity, and, for a disk behind a USB device, of the
	// registered capacity where one was registered.
	if in.Twin != "" {
		d.Detail = "another device with the same identity is present at " + in.Twin
		return d.with(Block, ReasonIdentityMismatch)
	}
	if dev.Behind && !dev.Optical && rec.Identity.Capacity > 0 && dev.Identity.Capacity == 0 {
		d.Detail = "the registered capacity cannot be read from the device"
		return d.with(Block, ReasonIdentityMismatch)
	}

	// 15. Allowed, read-only for media below the host's level, read-only registrations
	// and all optical discs.
	if lower {
		return d.with(AllowReadOnly, ReasonReadOnlyBelowHost)
	}
	if rec.Access == media.AccessReadOnly || dev.Optical || rec.Kind == media.KindOpticalDisc {
		return d.with(AllowReadOnly, ReasonAllowedReadOnly)
	}
	return d.with(Allow, ReasonAllowed)
}

// recordedUse are the allows that let a medium's data be used: with the audit log
// unavailable they become audit-unavailable. Hubs, keyboards and other allowed
// peripherals, the host's own disks (baseline) and containers (a card reader; the
// card is decided by itself) are let in as ever, so the host stays usable.
var recordedUse = map[Reason]bool{
	ReasonAllowed: true, ReasonAllowedReadOnly: true, ReasonReadOnlyBelowHost: true,
	ReasonUnregisteredUnclassifiedHost: true,
}

func (d Decision) with(v Verdict, r Reason) Decision {
	d.Verdict, d.Reason = v, r
	return d
}

var statusReasons = map[media.Status]Reason{
	media.StatusLost:      ReasonStatusLost,
	media.StatusInVault:   ReasonStatusInVault,
	media.StatusRepair:    ReasonStatusRepair,
	media.StatusDestroyed: ReasonStatusDestroyed,
	media.StatusRetired:   ReasonStatusRetired,
}

// Details of peripheral-not-allowed and allow-entry-mismatch.
const (
	DetailHIDNotBoot     = "hid-not-boot"    // a HID interface that is not a boot keyboard or mouse
	DetailPinInterfaces  = "pin-interfaces"  // interfaces differ from the pinned allow entry
	DetailPinDescriptors = "pin-descriptors" // descriptors differ from the pinned allow entry
	DetailNotPinned      = "not-pinned"      // mass storage behind an allow entry recorded without a pin

	// Details of identity-mismatch for a disk in the slot of a baseline disk.
	DetailBaselineCapacity = "baseline-capacity" // capacity differs from the disk recorded in the slot
	DetailBaselineModel    = "baseline-model"    // model differs from the disk recorded in the slot
)

// refusedClasses returns the classes a classified host does not accept from dev:
// everything but hubs, boot-protocol keyboards and mice, and the host's AllowClasses.
// HID other than boot keyboards and mice is accepted only when AllowClasses names it.
func refusedClasses(host *media.Host, dev Device, classes []int) []int {
	var allowed [256]bool
	for _, name := range host.AllowClasses {
		if c, err := ParseClass(name); err == nil && c != ClassMassStorage {
			allowed[c] = true
		}
	}
	hidOK := allowed[ClassHID] || onlyBootHID(dev.Interfaces)
	var out []int
	for _, c := range classes {
		switch {
		case c == ClassHub:
		case c == ClassHID:
			if !hidOK {
				out = append(out, c)
			}
		case c < 0 || c > 255 || !allowed[c]:
			out = append(out, c)
		}
	}
	return out
}

// onlyBootHID reports whether the interfaces include HID and every HID interface is a
// boot keyboard or mouse. Unreadable triples count as not boot.
func onlyBootHID(ifs []string) bool {
	hid := false
	for _, s := range ifs {
		i, err := media.ParseUSBInterface(s)
		if err != nil {
			return false
		}
		if i.Class == ClassHID {
			if !i.IsBootHID() {
				return false
			}
			hid = true
		}
	}
	return hid
}

// allowEntry judges dev against the host's AllowDevices: listed when its VID:PID is
// there; allowed when it also presents exactly the interfaces (and descriptors) its
// pin recorded, or, for an entry recorded without a pin, when it presents no mass
// storage. mismatch says why a listed device is not allowed.
func allowEntry(host *media.Host, dev Device, classes []int) (allowed, listed bool, mismatch string) {
	vid, pid := dev.VendorID, dev.ProductID
	if vid == "" && pid == "" {
		vid, pid = dev.Identity.VendorID, dev.Identity.ProductID
	}
	if !media.USBIDListed(host.AllowDevices, vid, pid) {
		return false, false, ""
	}
	p, pinned := host.PinFor(vid, pid)
	if !pinned {
		if containsInt(classes, ClassMassStorage) {
			return false, true, DetailNotPinned
		}
		return true, true, ""
	}
	seen, err := media.NormInterfaces(dev.Interfaces)
	want, werr := media.NormInterfaces(p.Interfaces)
	if err != nil || werr != nil || len(seen) == 0 || !slices.Equal(seen, want) {
		return false, true, DetailPinInterfaces
	}
	if p.Hash != "" && !strings.EqualFold(p.Hash, dev.Identity.DescriptorHash) {
		return false, true, DetailPinDescriptors
	}
	return true, true, ""
}

// unpinnedClasses returns the classes of dev's interfaces that its pin does not list
// (for messages); nil when there is no pin.
func unpinnedClasses(host *media.Host, dev Device) []int {
	vid, pid := dev.VendorID, dev.ProductID
	if vid == "" && pid == "" {
		vid, pid = dev.Identity.VendorID, dev.Identity.ProductID
	}
	p, ok := host.PinFor(vid, pid)
	if !ok {
		return nil
	}
	want, _ := media.NormInterfaces(p.Interfaces)
	var out []int
	for _, s := range dev.Interfaces {
		i, err := media.ParseUSBInterface(s)
		if err == nil && !slices.Contains(want, i.String()) && !containsInt(out, int(i.Class)) {
			out = append(out, int(i.Class))
		}
	}
	sort.Ints(out)
	return out
}

// onlyStorage reports whether a container presents nothing but mass storage and hubs.
func onlyStorage(classes []int) bool {
	for _, c := range classes {
		if c != ClassMassStorage && c != ClassHub {
			return false
		}
	}
	return len(classes) > 0
}

// nodeJustified reports whether an allowed device may have a node of dev.Node: any
// on an unclassified host; on a classified host hidraw for a device whose HID passed,
// net and tty only for a device allowed by its (pinned) allow entry or presenting a
// communications class the host allows by name. Containers never.
func nodeJustified(host *media.Host, dev Device, d Decision) bool {
	if host != nil && host.Level == media.Unclassified {
		return true
	}
	if d.Reason == ReasonContainer {
		return false
	}
	classes := classSet(dev.Classes, dev.Identity.InterfaceClasses)
	if host != nil {
		if allowed, _, _ := allowEntry(host, dev, classes); allowed {
			return true
		}
	}
	named := func(codes ...int) bool {
		if host == nil {
			return false
		}
		for _, name := range host.AllowClasses {
			if c, err := ParseClass(name); err == nil && containsInt(codes, c) && containsInt(classes, c) {
				return true
			}
		}
		return false
	}
	switch dev.Node {
	case "hidraw":
		return containsInt(classes, ClassHID)
	case "net":
		return named(ClassCDC, ClassCDCData, ClassWireless)
	case "tty":
		return named(ClassCDC, ClassCDCData)
	}
	return false
}

func notInList(classes, list []int) []int {
	var out []int
	for _, c := range classes {
		if !containsInt(list, c) {
			out = append(out, c)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}
