package media

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is what sort of medium a registration describes.
type Kind string

const (
	KindUSBDisk     Kind = "usb-disk"     // USB stick or USB external disk
	KindDisk        Kind = "disk"         // SATA/SAS/SCSI/NVMe removable or external disk
	KindSD          Kind = "sd"           // SD/MMC card
	KindOpticalDisc Kind = "optical-disc" // CD/DVD/BD, identified by content signature
	KindOther       Kind = "other"
)

// ErrUnknownKind is returned by ParseKind.
var ErrUnknownKind = errors.New("unknown medium kind")

// Kinds lists all medium kinds.
func Kinds() []Kind { return []Kind{KindUSBDisk, KindDisk, KindSD, KindOpticalDisc, KindOther} }

// Valid reports whether k is a defined kind. Names for people are the catalogue's.
func (k Kind) Valid() bool {
	switch k {
	case KindUSBDisk, KindDisk, KindSD, KindOpticalDisc, KindOther:
		return true
	}
	return false
}

// ParseKind accepts a kind key (also "usb" for usb-disk and "optical"/"cd"/"dvd" for optical-disc).
func ParseKind(s string) (Kind, error) {
	norm := strings.ToLower(strings.TrimSpace(s))
	switch norm {
	case "usb", "usb-stick", "usb-disk":
		return KindUSBDisk, nil
	case "optical", "cd", "dvd", "bd", "optical-disc":
		return KindOpticalDisc, nil
	case "sd", "mmc", "sd-card":
		return KindSD, nil
	}
	if k := Kind(norm); k.Valid() {
		return k, nil
	}
	return "", fmt.Errorf("%w %q (want one of usb-disk, disk, sd, optical-disc, other)", ErrUnknownKind, s)
}

// Access is how a registered medium may be used.
type Access string

const (
	AccessReadWrite Access = "rw"
	AccessReadOnly  Access = "ro"
)

// Mode is how a host enforces decisions.
type Mode string

const (
	ModeEnforce Mode = "enforce" // block what policy blocks
	ModeAudit   Mode = "audit"   // decide and log, block nothing (for rollout)
)

// ParseMode accepts "enforce" or "audit".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeEnforce, ModeAudit:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want enforce or audit)", s)
}

// LowerMedia is what a classified host does with a registered medium whose level is
// below the host's own (no write-down): make it read-only (the default) or refuse it.
type LowerMedia string

const (
	LowerReadOnly LowerMedia = "read-only" // readable, never writable (the default; "" means this)
	LowerRefuse   LowerMedia = "refuse"    // blocked
)

// ParseLowerMedia accepts "read-only" (also "ro", "") or "refuse" (also "block").
func ParseLowerMedia(s string) (LowerMedia, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "read-only", "readonly", "ro":
		return LowerReadOnly, nil
	case "refuse", "block":
		return LowerRefuse, nil
	}
	return "", fmt.Errorf("unknown lower-media setting %q (want read-only or refuse)", s)
}

// Person is someone who can be a custodian, borrower, witness or approver.
type Person struct {
	ID         string    `json:"id"`     // globally unique
	Handle     string    `json:"handle"` // short name used on the command line, unique in a registry
	Name       string    `json:"name"`   // full name as it is signed
	Department string    `json:"department,omitempty"`
	Email      string    `json:"email,omitempty"`
	Login      string    `json:"login,omitempty"` // system account, for per-user binding later
	Active     bool      `json:"active"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// Host is this machine's profile: its registered number and classification level.
type Host struct {
	ID         string `json:"id"` // globally unique
	Number     string `json:"number"`
	Level      Level  `json:"level"`
	Department string `json:"department,omitempty"`
	Mode       Mode   `json:"mode"`
	Hostname   string `json:"hostname,omitempty"`
	// VaultStation marks the office's check-in station for the year-end campaign.
	VaultStation bool `json:"vault_station,omitempty"`
	// AllowClasses lists extra USB interface class names this host accepts besides
	// storage, hubs and HID (e.g. "audio", "video"); AllowDevices lists VID:PID pairs.
	AllowClasses []string `json:"allow_classes,omitempty"`
	AllowDevices []string `json:"allow_devices,omitempty"`
	// DevicePins pins AllowDevices entries to the interfaces (and descriptors) the
	// device presented when it was allowed. An entry without a pin (recorded before
	// pins existed) allows the VID:PID only as a peripheral, never with mass storage.
	DevicePins []DevicePin `json:"device_pins,omitempty"`
	// LowerMedia says what happens to a registered medium whose level is below the
	// host's: read-only (default, also when empty) or refuse. Any other value refuses.
	LowerMedia LowerMedia `json:"lower_media,omitempty"`
	// Baseline holds the identity keys of the internal disks recorded at host init;
	// other non-USB block devices are treated as removable media.
	Baseline []string  `json:"baseline,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// Identity is what identifies a physical medium. Key is the one canonical string the
// registry stores and matches on (for example "usb:0781:5567:4C530001"); the other
// fields are bound extra identity that must also match when set.
type Identity struct {
	Kind           Kind   `json:"kind"`
	Key            string `json:"key"`
	Serial         string `json:"serial,omitempty"`
	VendorID       string `json:"vendor_id,omitempty"`
	ProductID      string `json:"product_id,omitempty"`
	WWN            string `json:"wwn,omitempty"`
	Capacity       int64  `json:"capacity,omitempty"`        // bytes; 0 if unknown
	DescriptorHash string `json:"descriptor_hash,omitempty"` // hex SHA-256 of the speed-independent USB descriptor fields (identity.CanonicalHash)
	// InterfaceClasses is the sorted set of USB interface classes the device presents.
	InterfaceClasses []int `json:"interface_classes,omitempty"`
}

// Medium is one registered storage medium.
type Medium struct {
	ID        string   `json:"id"` // globally unique
	Number    string   `json:"number"`
	Kind      Kind     `json:"kind"`
	Identity  Identity `json:"identity"`
	Level     Level    `json:"level"`
	Custodian string   `json:"custodian"` // person handle
	// CustodianName is the custodian's full name, as signed (read-only: from people).
	CustodianName string `json:"custodian_name,omitempty"`
	// Department is the medium's department: the one set for it when DepartmentSet,
	// else its custodian's current department.
	Department    string `json:"department,omitempty"`
	DepartmentSet bool   `json:"department_set,omitempty"`
	// The fields of the paper register: brand and model (品牌型号), capacity as the
	// register states it (the bound capacity in bytes is Identity.Capacity), purpose
	// or scope of use (用途), and the date put into service (启用日期, YYYY-MM-DD).
	Model        string `json:"model,omitempty"`
	CapacityText string `json:"capacity_text,omitempty"`
	Purpose      string `json:"purpose,omitempty"`
	InService    string `json:"in_service,omitempty"`
	// IdentityPending: registered (imported) without the identity the daemon needs;
	// Identity.Key is a placeholder no device has, so the medium works nowhere until
	// its identity is bound from the device ('media bind').
	IdentityPending bool      `json:"identity_pending,omitempty"`
	Status          Status    `json:"status"`
	Access          Access    `json:"access"`
	Note            string    `json:"note,omitempty"`
	Holder          string    `json:"holder,omitempty"` // borrower's handle while lent
	DueAt           time.Time `json:"due_at,omitzero"`  // end of the lending period while lent
	// AllowedHosts, when not empty, limits the medium to these host numbers.
	AllowedHosts []string  `json:"allowed_hosts,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// EndOfDay is the last millisecond of t's calendar day in t's location: what a date
// without a time means as a due date or deadline ("until 2026-12-20"). Times are
// stored with millisecond precision, so nothing falls between it and the next day.
func EndOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location()).Add(-time.Millisecond)
}
