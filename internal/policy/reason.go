package policy

// Reason is a stable code saying why Decide reached its verdict. Codes are written to
// the audit log; the text a person reads is the catalogue's (catalog.Decision, key
// "reason.<code>"). Never change or reuse one.
type Reason string

const (
	ReasonNotMedia                     Reason = "not-media"                         // allow: not USB, not storage
	ReasonHostNotInitialised           Reason = "host-not-initialised"              // block: no usable host profile
	ReasonPeripheralAllowed            Reason = "peripheral-allowed"                // allow: hub, HID or allowed class/device
	ReasonPeripheralNotAllowed         Reason = "peripheral-not-allowed"            // block: a USB class this host refuses
	ReasonAllowEntryMismatch           Reason = "allow-entry-mismatch"              // block: VID:PID allowed, but other interfaces or descriptors than pinned
	ReasonUnexpectedNode               Reason = "unexpected-node"                   // block: a driver made a net, tty or hidraw node the device was not allowed for
	ReasonAuditUnavailable             Reason = "audit-unavailable"                 // block: a medium that would be allowed, while the audit log cannot be written
	ReasonBaseline                     Reason = "baseline"                          // allow: internal disk recorded at host init
	ReasonUnregistered                 Reason = "unregistered"                      // block: storage not in the register
	ReasonUnregisteredUnclassifiedHost Reason = "unregistered-on-unclassified-host" // allow: unregistered storage, unclassified host
	ReasonContainer                    Reason = "storage-container"                 // allow: card reader or drive allowed by VID:PID
	ReasonIdentityMismatch             Reason = "identity-mismatch"                 // block: device differs from its registration
	ReasonRecordInvalid                Reason = "record-invalid"                    // block: registration has an unknown status, level or access
	ReasonStatusLost                   Reason = "status-lost"                       // block
	ReasonStatusInVault                Reason = "status-in-vault"                   // block
	ReasonStatusRepair                 Reason = "status-repair"                     // block
	ReasonStatusDestroyed              Reason = "status-destroyed"                  // block
	ReasonStatusRetired                Reason = "status-retired"                    // block
	ReasonNoCustodian                  Reason = "no-custodian"                      // block: no active responsible person
	ReasonHostUnclassified             Reason = "host-unclassified"                 // block: classified medium, unclassified host
	ReasonLevelAboveHost               Reason = "level-above-host"                  // block: medium level above host level
	ReasonLevelBelowHost               Reason = "level-below-host"                  // block: medium below the host level, host refuses lower media
	ReasonHostNotAllowed               Reason = "host-not-allowed"                  // block: medium limited to other hosts
	ReasonLentOverdue                  Reason = "lent-overdue"                      // block: lent past the due date
	ReasonReadOnlyBelowHost            Reason = "read-only-below-host"              // allow read-only: medium below the host level (no write-down)
	ReasonAllowedReadOnly              Reason = "allowed-read-only"                 // allow read-only
	ReasonAllowed                      Reason = "allowed"                           // allow
)

// Reasons lists every reason code in check order.
func Reasons() []Reason {
	return []Reason{
		ReasonNotMedia, ReasonHostNotInitialised, ReasonPeripheralAllowed, ReasonPeripheralNotAllowed,
		ReasonAllowEntryMismatch, ReasonUnexpectedNode, ReasonAuditUnavailable,
		ReasonBaseline, ReasonUnregistered, ReasonUnregisteredUnclassifiedHost, ReasonContainer, ReasonIdentityMismatch,
		ReasonRecordInvalid, ReasonStatusLost, ReasonStatusInVault, ReasonStatusRepair,
		ReasonStatusDestroyed, ReasonStatusRetired, ReasonNoCustodian, ReasonHostUnclassified,
		ReasonLevelAboveHost, ReasonLevelBelowHost, ReasonHostNotAllowed, ReasonLentOverdue, ReasonReadOnlyBelowHost,
		ReasonAllowedReadOnly, ReasonAllowed,
	}
}
