package policy

import (
	"slices"
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
	// MTP is set when an interface speaks MTP (phones often hide it in a
	// vendor-specific 0xFF interface); it is then judged as still-image (0x06) too.
	MTP bool
	// Behind is set for a block device or disc seen behind a USB device that was
	// decided already (the disk of a stick, the card in a reader, the disc in a
	// drive). USB is set too. The container rule judges only the USB device itself.
	Behind bool
	// Unreadable is set when the device could not be read: it is blocked whatever
	// the host's mode (fail closed), except an internal disk the caller matched to
	// the baseline (InBaseline) by its place.
	Unreadable bool
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
		if bad := refusedClasses(host, dev, classes); len(bad) > 0 || (len(classes) == 0 && !deviceAllowed(host.AllowDevices, dev)) {
			d.Classes = bad
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
		if isContainer(host, dev, classes) {
			return d.with(Allow, ReasonContainer)
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
		if bad := refusedClasses(host, dev, extra); len(bad) > 0 {
			d.Classes = bad
			return d.with(Block, ReasonPeripheralNotAllowed)
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

// refusedClasses returns the classes a classified host does not accept from dev:
// everything but hubs, HID and the host's AllowClasses, unless the host allows the
// device itself by VID:PID in AllowDevices.
func refusedClasses(host *media.Host, dev Device, classes []int) []int {
	if len(classes) == 0 || deviceAllowed(host.AllowDevices, dev) {
		return nil
	}
	var allowed [256]bool
	for _, name := range host.AllowClasses {
		if c, err := ParseClass(name); err == nil && c != ClassMassStorage {
			allowed[c] = true
		}
	}
	var out []int
	for _, c := range classes {
		if !isDefaultPeripheral(c) && (c < 0 || c > 255 || !allowed[c]) {
			out = append(out, c)
		}
	}
	return out
}

// isContainer reports whether an unregistered USB storage device (not a medium behind
// one) is a card reader or optical drive the host allows by VID:PID: it presents only
// mass storage (and hubs) and is listed in AllowDevices.
func isContainer(host *media.Host, dev Device, classes []int) bool {
	if !dev.USB || dev.Behind || dev.Block || dev.Optical {
		return false
	}
	for _, c := range classes {
		if c != ClassMassStorage && c != ClassHub {
			return false
		}
	}
	return deviceAllowed(host.AllowDevices, dev)
}

func deviceAllowed(list []string, dev Device) bool {
	vid, pid := dev.VendorID, dev.ProductID
	if vid == "" && pid == "" {
		vid, pid = dev.Identity.VendorID, dev.Identity.ProductID
	}
	return media.USBIDListed(list, vid, pid)
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
