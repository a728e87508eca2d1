package event

import (
	"encoding/json"
	"time"

	"mediagate/internal/media"
)

// Struct tags: `json` is the row's encoding (do not change it for an existing
// field: old rows are hashed as written); `event` gives a top-level field a role that
// the log's searches use (see Paths): "custodian" (a custodian's handle), "person"
// (anyone else named by handle or user name) and "host" (a host number or name).
//
// Fields are declared in the order of their JSON names, so that a struct encodes to
// the same bytes as the map with sorted keys that release 1 wrote; Host and Numbering
// were structs in release 1 and keep its order.

// Person is a person as the log records them: the details of person.add, and the
// before and after of person.update.
type Person struct {
	Active     bool   `json:"active"`
	Department string `json:"department"`
	Email      string `json:"email"`
	Handle     string `json:"handle" event:"person"`
	Login      string `json:"login"`
	Name       string `json:"name"`
	PersonID   string `json:"person_id"`
}

// PersonOf is p as the log records them.
func PersonOf(p media.Person) Person {
	return Person{Active: p.Active, Department: p.Department, Email: p.Email, Handle: p.Handle, Login: p.Login,
		Name: p.Name, PersonID: p.ID}
}

// PersonUpdate is a change of a person's details.
type PersonUpdate struct {
	After  Person `json:"after"`
	Before Person `json:"before"`
}

// PersonDeactivate is a person leaving.
type PersonDeactivate struct {
	Handle   string `json:"handle" event:"person"`
	PersonID string `json:"person_id"`
}

// Host is the host profile as saved (host.init, host.update); the order of
// media.Host in release 1, with the fields release 3 added at the end. LowerMedia
// and DevicePins are written on every row since release 3 (DevicePins as [] when
// there are none); rows of earlier releases have neither, and say nothing about
// them.
type Host struct {
	ID           string      `json:"id"`
	Number       string      `json:"number"`
	Level        media.Level `json:"level"`
	Department   string      `json:"department,omitempty"`
	Mode         media.Mode  `json:"mode"`
	Hostname     string      `json:"hostname,omitempty"`
	VaultStation bool        `json:"vault_station,omitempty"`
	AllowClasses []string    `json:"allow_classes,omitempty"`
	AllowDevices []string    `json:"allow_devices,omitempty"`
	Baseline     []string    `json:"baseline,omitempty"`
	Created      time.Time   `json:"created"`
	Updated      time.Time   `json:"updated"`
	// Release 3.
	LowerMedia media.LowerMedia   `json:"lower_media,omitempty"`
	DevicePins *[]media.DevicePin `json:"device_pins,omitempty"`
}

// HostOf is h as the log records it.
func HostOf(h media.Host) Host {
	pins := h.DevicePins
	if pins == nil {
		pins = []media.DevicePin{}
	}
	return Host{ID: h.ID, Number: h.Number, Level: h.Level, Department: h.Department, Mode: h.Mode, Hostname: h.Hostname,
		VaultStation: h.VaultStation, AllowClasses: h.AllowClasses, AllowDevices: h.AllowDevices, Baseline: h.Baseline,
		Created: h.Created, Updated: h.Updated, LowerMedia: h.LowerMedia, DevicePins: &pins}
}

// Numbering is a numbering scheme: the pattern and each level's code.
type Numbering struct {
	Pattern string                 `json:"pattern"`
	Codes   map[media.Level]string `json:"level_codes"`
}

// NumberingSet is a change of the numbering scheme; Before is the old pattern.
type NumberingSet struct {
	After  Numbering `json:"after"`
	Before string    `json:"before"`
}

// Change is what the registry adds to the details of every change of a medium: the
// medium's id, its custodian after the change, and its status before and after
// (both empty when the status did not change).
type Change struct {
	MediumID  string
	Custodian string
	From, To  media.Status
}

// MediumRegister is a registration. Since release 3 it says how the number was
// given (Numbered): NumberedPattern with the year and sequence it took from the
// numbering (NumberYear, NumberSeq), or NumberedGiven for a number given by hand;
// rows of earlier releases leave all three out. Since release 4 a given number that
// the pattern made (an imported register's) has its year and sequence too: the
// sequence of its level and year moved past it.
//
// The fields of the paper register (capacity_text … purpose), identity_pending,
// import and status were added in release 4; older rows have none of them.
type MediumRegister struct {
	Access       media.Access `json:"access"`
	AllowedHosts []string     `json:"allowed_hosts"`
	CapacityText string       `json:"capacity_text,omitempty"`
	Custodian    string       `json:"custodian" event:"custodian"`
	Department   string       `json:"department"`
	// DepartmentSet: Department was set for the medium rather than taken from the
	// custodian.
	DepartmentSet bool           `json:"department_set,omitempty"`
	Identity      media.Identity `json:"identity"`
	// IdentityPending: registered without the identity the daemon needs (imported);
	// it works nowhere until bound (medium.bind).
	IdentityPending bool `json:"identity_pending,omitempty"`
	// Import is the SHA-256 of the imported file, as in its medium.import row.
	Import     string      `json:"import,omitempty"`
	InService  string      `json:"in_service,omitempty"`
	Level      media.Level `json:"level"`
	MediumID   string      `json:"medium_id"`
	Model      string      `json:"model,omitempty"`
	Note       string      `json:"note"`
	NumberSeq  int         `json:"number_seq,omitempty"`
	NumberYear int         `json:"number_year,omitempty"`
	Numbered   string      `json:"numbered,omitempty"`
	Purpose    string      `json:"purpose,omitempty"`
	// Status is set when the medium was registered in another status than active
	// (imported from a register that holds it in the vault, lost, destroyed …).
	Status media.Status `json:"status,omitempty"`
}

// MediumBind is the identity of a medium registered with its identity pending, read
// from the device: FromIdentity is the placeholder key it had.
type MediumBind struct {
	Custodian    string         `json:"custodian" event:"custodian"`
	FromIdentity string         `json:"from_identity"`
	Identity     media.Identity `json:"identity"`
	MediumID     string         `json:"medium_id"`
	Model        string         `json:"model,omitempty"`
	// Station is set when the vault station bound it during a check-in.
	Station bool `json:"station,omitempty"`
}

// MediumImport is the summary of an import of the office's register from a file:
// one medium.register row was written for each medium it registered.
type MediumImport struct {
	File    string `json:"file"`
	Format  string `json:"format"`
	Media   int    `json:"media"`
	Pending int    `json:"pending"`
	People  int    `json:"people"`
	Rows    int    `json:"rows"`
	SHA256  string `json:"sha256"`
	Skipped int    `json:"skipped"`
}

// How a registration's number was given (MediumRegister.Numbered).
const (
	NumberedPattern = "pattern" // taken from the numbering pattern's sequence
	NumberedGiven   = "given"   // given by hand
)

// MediumHandover is the signed handover to a new custodian before a witness.
type MediumHandover struct {
	Custodian     string `json:"custodian" event:"custodian"`
	FromCustodian string `json:"from_custodian" event:"custodian"`
	FromName      string `json:"from_name"`
	MediumID      string `json:"medium_id"`
	Note          string `json:"note"`
	ToCustodian   string `json:"to_custodian" event:"custodian"`
	ToName        string `json:"to_name"`
	Witness       string `json:"witness" event:"person"`
	WitnessName   string `json:"witness_name"`
}

// MediumLend is a loan; Due is in audit.TimeLayout.
type MediumLend struct {
	ApprovedBy string       `json:"approved_by"`
	Custodian  string       `json:"custodian" event:"custodian"`
	Due        string       `json:"due"`
	From       media.Status `json:"from,omitempty"`
	Holder     string       `json:"holder" event:"person"`
	MediumID   string       `json:"medium_id"`
	Note       string       `json:"note"`
	To         media.Status `json:"to,omitempty"`
}

// MediumReturn is the end of a loan.
type MediumReturn struct {
	Custodian string       `json:"custodian" event:"custodian"`
	From      media.Status `json:"from,omitempty"`
	Holder    string       `json:"holder" event:"person"`
	MediumID  string       `json:"medium_id"`
	Note      string       `json:"note"`
	Overdue   bool         `json:"overdue,omitempty"`
	To        media.Status `json:"to,omitempty"`
}

// MediumRelevel is a raised level.
type MediumRelevel struct {
	Custodian string      `json:"custodian" event:"custodian"`
	FromLevel media.Level `json:"from_level"`
	// FromNumber and ToNumber are set when the new level gave the medium a new
	// number (the old one stays its alias).
	// NumberSeq and NumberYear are the sequence and year the new number took.
	FromNumber string      `json:"from_number,omitempty"`
	MediumID   string      `json:"medium_id"`
	Note       string      `json:"note"`
	NumberSeq  int         `json:"number_seq,omitempty"`
	NumberYear int         `json:"number_year,omitempty"`
	ToLevel    media.Level `json:"to_level"`
	ToNumber   string      `json:"to_number,omitempty"`
}

// MediumIssue is a medium given out of the vault in the new year.
type MediumIssue struct {
	Custodian     string       `json:"custodian" event:"custodian"`
	From          media.Status `json:"from,omitempty"`
	FromCustodian string       `json:"from_custodian" event:"custodian"`
	MediumID      string       `json:"medium_id"`
	Note          string       `json:"note"`
	To            media.Status `json:"to,omitempty"`
	ToCustodian   string       `json:"to_custodian" event:"custodian"`
	ToName        string       `json:"to_name"`
}

// MediumIdentityUpgrade is a registration moved from the identity key FromIdentity to
// Identity (keys, not identities): the daemon moves an optical disc registered under
// its version 1 key to its whole-disc key at its next plug.
type MediumIdentityUpgrade struct {
	Custodian    string `json:"custodian" event:"custodian"`
	FromIdentity string `json:"from_identity"`
	Identity     string `json:"identity"`
	MediumID     string `json:"medium_id"`
}

// MediumStatus is a simple status change: lost, found, repair, repaired, destroy,
// retire. Repair names the approver; destroy the approver, a witness and the method.
type MediumStatus struct {
	ApprovedBy string       `json:"approved_by,omitempty"`
	Custodian  string       `json:"custodian" event:"custodian"`
	From       media.Status `json:"from,omitempty"`
	MediumID   string       `json:"medium_id"`
	Method     string       `json:"method,omitempty"`
	Note       string       `json:"note"`
	// Place and Repairer say where and by whom a medium sent for repair is repaired
	// (rows before they were recorded lack them).
	Place    string       `json:"place,omitempty"`
	Repairer string       `json:"repairer,omitempty"`
	To       media.Status `json:"to,omitempty"`
	Witness  string       `json:"witness,omitempty" event:"person"`
}

// CheckinOpen is the opening of a year's check-in; Deadline is in audit.TimeLayout.
type CheckinOpen struct {
	CampaignID string `json:"campaign_id"`
	Deadline   string `json:"deadline"`
	Expected   int    `json:"expected"`
	Year       int    `json:"year"`
}

// CheckinIn is one medium checked in, plugged at the vault station or by hand
// (Manual, with Reason and By).
type CheckinIn struct {
	Away        bool         `json:"away,omitempty"`
	By          string       `json:"by,omitempty"`
	Cabinet     string       `json:"cabinet"`
	CampaignID  string       `json:"campaign_id"`
	Custodian   string       `json:"custodian" event:"custodian"`
	IdentityKey string       `json:"identity_key,omitempty"`
	Manual      bool         `json:"manual"`
	MediumID    string       `json:"medium_id"`
	Reason      string       `json:"reason,omitempty"`
	Slot        string       `json:"slot"`
	Source      string       `json:"source"`
	Status      media.Status `json:"status"`
	Year        int          `json:"year"`
}

// CheckinRefused is a device refused at the vault station.
type CheckinRefused struct {
	Identity media.Identity `json:"identity"`
	Reason   string         `json:"reason"`
}

// CheckinVault is a checked-in medium moved to the vault when the campaign closes;
// Source and Manual say how it was checked in, when it was.
type CheckinVault struct {
	CampaignID string       `json:"campaign_id"`
	Custodian  string       `json:"custodian" event:"custodian"`
	From       media.Status `json:"from"`
	Manual     *bool        `json:"manual,omitempty"`
	MediumID   string       `json:"medium_id"`
	Source     string       `json:"source,omitempty"`
	To         media.Status `json:"to"`
	Year       int          `json:"year"`
}

// CheckinMissing is a medium not handed in by the deadline, flagged lost when the
// campaign closes.
type CheckinMissing struct {
	CampaignID string       `json:"campaign_id"`
	Custodian  string       `json:"custodian" event:"custodian"`
	Deadline   string       `json:"deadline"`
	From       media.Status `json:"from"`
	MediumID   string       `json:"medium_id"`
	To         media.Status `json:"to"`
	Year       int          `json:"year"`
}

// CheckinClose is the close of a campaign with the SHA-256 of its final report.
type CheckinClose struct {
	Away         int    `json:"away"`
	CampaignID   string `json:"campaign_id"`
	Expected     int    `json:"expected"`
	Missing      int    `json:"missing"`
	ReportBytes  int    `json:"report_bytes"`
	ReportSHA256 string `json:"report_sha256"`
	Vault        int    `json:"vault"`
	Withdrawn    int    `json:"withdrawn"`
	Year         int    `json:"year"`
}

// DaemonStart is the daemon starting; LockedHubs are the USB root hubs it locked.
type DaemonStart struct {
	LockedHubs []string   `json:"locked_hubs"`
	Mode       media.Mode `json:"mode"`
	PID        int        `json:"pid"`
}

// DaemonStop is the daemon stopping.
type DaemonStop struct {
	PID int `json:"pid"`
}

// DaemonLock is the daemon locking the USB root hubs (on the way to enforce mode, or
// a new hub).
type DaemonLock struct {
	LockedHubs []string `json:"locked_hubs"`
}

// DaemonRescan sums up one rescan: what set it off and how many present devices it
// decided, changed, found gone, allowed and blocked. Unchanged decisions get no row of
// their own.
type DaemonRescan struct {
	Allowed   int    `json:"allowed"`
	Blocked   int    `json:"blocked"`
	Changed   int    `json:"changed"`
	Devices   int    `json:"devices"`
	Gone      int    `json:"gone"`
	Trigger   string `json:"trigger"`
	Unchanged int    `json:"unchanged"`
}

// DaemonControl is one call on the control socket.
type DaemonControl struct {
	Allowed bool `json:"allowed"`
	// Count, First and Last sum up the calls of one non-officer user counted into one
	// row (control.Server aggregates them); absent on a row for a single call.
	Count int       `json:"count,omitempty"`
	First time.Time `json:"first,omitzero"`
	GID   int       `json:"gid"`
	Last  time.Time `json:"last,omitzero"`
	Op    string    `json:"op"`
	PID   int       `json:"pid"`
	UID   int       `json:"uid"`
}

// DeviceDecision is the daemon's decision on a device (device.decision), or its
// decision applied again because someone changed the device's authorization behind
// it (device.tamper, with Tamper). Custodian and MediumLevel are set for a registered
// medium; Verdict, Effective and Reason are policy's.
type DeviceDecision struct {
	Actions     []string       `json:"actions,omitempty"`
	Behind      []string       `json:"behind,omitempty"` // the disks behind a USB device presenting more than one
	Classes     []int          `json:"classes,omitempty"`
	Custodian   string         `json:"custodian,omitempty" event:"custodian"`
	Detail      string         `json:"detail,omitempty"`
	Device      DecisionDevice `json:"device"`
	Effective   string         `json:"effective"`
	Enforce     bool           `json:"enforce"`
	Error       string         `json:"error,omitempty"`
	Host        string         `json:"host" event:"host"`
	HostLevel   string         `json:"host_level"`
	Identity    media.Identity `json:"identity"`
	MediumLevel string         `json:"medium_level,omitempty"`
	Note        string         `json:"note,omitempty"` // e.g. another device took the port before the authorized write
	Reason      string         `json:"reason"`
	Stage       string         `json:"stage"`
	Tamper      string         `json:"tamper,omitempty"`
	Verdict     string         `json:"verdict"`
}

// DecisionDevice is the device of a decision.
type DecisionDevice struct {
	DevPath string `json:"devpath"`
	Label   string `json:"label"`
	Name    string `json:"name"`
}

// Mount is a row of the mount log: a mount (mount.attach), unmount (mount.detach),
// remount, one found at start, or a violation undone (with Reason, Actions and
// Error). Medium is the registered number, or "unregistered", "virtual" or
// "baseline". UID and LoginUID are set when known (0 is root); PrevOptions is set
// on remounts (the options before it); Time is RFC 3339.
//
// A detach row written at start for a mount that went away while the daemon was down
// has AttachSeq (the row of its attach) and SeenAtStart, and only the fields known of
// such a mount: it encodes in release 1's shorter shape (see MarshalJSON).
type Mount struct {
	Actions     []string        `json:"actions,omitempty"`
	AttachSeq   int64           `json:"attach_seq,omitempty"`
	Attribution string          `json:"attribution"`
	AuditID     string          `json:"audit_id,omitempty"` // the kernel audit record that attributed it
	Command     string          `json:"command,omitempty"`
	Custodian   string          `json:"custodian,omitempty" event:"custodian"`
	Decision    *MountDecision  `json:"decision,omitempty"`
	Device      MountDevice     `json:"device"`
	Error       string          `json:"error,omitempty"`
	Event       string          `json:"event"`
	Exe         string          `json:"exe,omitempty"`
	FSLabel     string          `json:"fs_label,omitempty"`
	FSRoot      string          `json:"fs_root,omitempty"`
	FSType      string          `json:"fs_type"`
	FSUUID      string          `json:"fs_uuid,omitempty"`
	Holder      string          `json:"holder,omitempty" event:"person"`
	Host        string          `json:"host" event:"host"`
	Hostname    string          `json:"hostname" event:"host"`
	Identity    *media.Identity `json:"identity,omitempty"`
	LoginUID    *int            `json:"login_uid,omitempty"`
	LoginUser   string          `json:"login_user,omitempty" event:"person"`
	LookupError string          `json:"lookup_error,omitempty"`
	Media       []string        `json:"media,omitempty"` // every registered medium under a stack, when more than one
	Medium      string          `json:"medium"`
	MediumLevel string          `json:"medium_level,omitempty"`
	MountPoint  string          `json:"mount_point"`
	Note        string          `json:"note,omitempty"`
	Options     string          `json:"options"`
	PID         int             `json:"pid,omitempty"`
	PrevOptions *string         `json:"prev_options,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	RO          bool            `json:"ro"`
	SeenAtStart string          `json:"seen_at_start,omitempty"`
	Stack       *MountStack     `json:"stack,omitempty"`
	Syscall     string          `json:"syscall,omitempty"`
	Time        string          `json:"time"`
	UID         *int            `json:"uid,omitempty"`
	User        string          `json:"user,omitempty" event:"person"`
	Watcher     string          `json:"watcher"`
}

// MountStack is the device-mapper or md stack a mount sits on: the virtual devices,
// the mounted one first, and every physical device at the bottom.
type MountStack struct {
	Under []MountUnder `json:"under"`
	Via   []string     `json:"via"`
}

// MountUnder is one physical device at the bottom of a stack.
type MountUnder struct {
	Disk      string `json:"disk"`
	Medium    string `json:"medium"`
	Name      string `json:"name"`
	Partition string `json:"partition,omitempty"`
}

// MountDecision is the standing decision for the device behind a mount.
type MountDecision struct {
	Effective string `json:"effective"`
	Reason    string `json:"reason"`
}

// MountDevice is the device behind a mount.
type MountDevice struct {
	DevNum    string `json:"devnum"`
	DevPath   string `json:"devpath"`
	Disk      string `json:"disk"`
	Name      string `json:"name"`
	Partition string `json:"partition"`
	Source    string `json:"source"`
}

// mountGone is the shape of the detach row of a mount that went away while the
// daemon was down.
type mountGone struct {
	AttachSeq   int64      `json:"attach_seq"`
	Attribution string     `json:"attribution"`
	Device      goneDevice `json:"device"`
	Event       string     `json:"event"`
	Host        string     `json:"host"`
	Hostname    string     `json:"hostname"`
	MountPoint  string     `json:"mount_point"`
	SeenAtStart string     `json:"seen_at_start"`
	Time        string     `json:"time"`
}

type goneDevice struct {
	Source string `json:"source"`
}

// MarshalJSON encodes m; a detach row of a mount gone while the daemon was down
// (AttachSeq set) carries only what is known of such a mount.
func (m Mount) MarshalJSON() ([]byte, error) {
	if m.AttachSeq != 0 {
		return json.Marshal(mountGone{AttachSeq: m.AttachSeq, Attribution: m.Attribution, Device: goneDevice{m.Device.Source},
			Event: m.Event, Host: m.Host, Hostname: m.Hostname, MountPoint: m.MountPoint, SeenAtStart: m.SeenAtStart, Time: m.Time})
	}
	type plain Mount
	return json.Marshal(plain(m))
}
