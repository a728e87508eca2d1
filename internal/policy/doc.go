// Package policy decides whether a seen device may be used on this host.
//
// Decide is the one decision function. It is pure: it imports only the standard
// library and mediagate/internal/media, does no I/O and reads no clock; the caller
// passes the host profile, the seen device, the registry record and the time.
// Every Decision carries a stable Reason code and a Message in English and Chinese.
//
// # Order of checks
//
// The first check that applies decides, so every block has exactly one reason. The
// order puts the reason the officer can act on first:
//
//  0. Unreadable devices (Device.Unreadable) are blocked whatever the mode (fail
//     closed), with detail "unreadable": a USB device as peripheral-not-allowed, a
//     block device or disc as identity-mismatch; an internal disk the caller matched
//     to the baseline by its place is allowed (baseline).
//  1. not-media (allow): a non-USB device that is not storage is none of our business.
//  2. host-not-initialised (block): no host profile, or one with an invalid level.
//     Fail closed: all storage and every USB peripheral except hubs and HID is
//     blocked, so the officer can still type to initialise the host. Always
//     enforced, even though no mode is known yet.
//  3. peripheral-allowed / peripheral-not-allowed: a USB device that is not storage.
//     A classified host accepts hubs (0x09) and HID (0x03) as boot-protocol keyboards
//     and mice only (03/01/01, 03/01/02; any other HID interface blocks with detail
//     hid-not-boot), plus the classes its profile names in AllowClasses and the
//     devices it names by VID:PID in AllowDevices. An allowed VID:PID counts only if
//     the device presents exactly the interfaces (and descriptor hash) of its pin in
//     Host.DevicePins; otherwise allow-entry-mismatch (block) for the whole device.
//     An entry without a pin (recorded before pins existed) allows a peripheral but
//     never a device with mass storage. Any other class blocks the whole device. A device with no
//     readable class is blocked. An MTP interface counts as still-image (0x06) even
//     when it hides in a vendor-specific (0xFF) interface. An unclassified host accepts
//     every peripheral.
//  4. baseline (allow): a non-USB, non-optical block device recorded as an internal
//     disk at host init (Device.InBaseline, or Identity.Key listed in Host.Baseline).
//     USB devices and optical discs are never baseline: they are removable media.
//  5. unregistered (block) on a classified host; unregistered-on-unclassified-host
//     (allow) on an unclassified host, which holds no classified information and is
//     where ordinary media are used. mediagate on an unclassified host exists to
//     keep classified media off it. On a classified host, an unregistered USB device
//     that presents only mass storage (and hubs) and whose VID:PID the profile lists in
//     AllowDevices, pinned to exactly what it presents, is a container
//     (storage-container, allow): a card reader or optical drive. A device with an
//     allowed VID:PID that does not match its pin (a stick posing as an allowed
//     keyboard) is allow-entry-mismatch (block). The medium behind a container
//     (Device.Behind) is judged on its own.
//  6. identity-mismatch (block): see IdentityMismatch. It comes before status because
//     a swapped or altered device is the most urgent thing to report. A registered
//     USB medium that presents more than one disk (Device.Disks > 1: a second logical
//     unit behind the registered identity) is identity-mismatch with detail
//     extra-disk: a registration covers exactly one disk. Containers are never
//     registered media, so each card in a multi-slot reader is judged on its own.
//  7. record-invalid (block): the record has an unknown status, level or access mode.
//  8. status-lost, status-in-vault, status-repair, status-destroyed, status-retired
//     (block): only active and lent media work anywhere.
//  9. no-custodian (block): the record names no custodian, or one who is not a known,
//     active person.
//  10. host-unclassified (block): a classified medium on an unclassified host; then
//     level-above-host (block): the medium's level ranks above the host's; then
//     level-below-host (block) for a medium below the host's level on a host whose
//     profile refuses lower media (Host.LowerMedia "refuse", or any unknown value).
//  11. host-not-allowed (block): the medium lists AllowedHosts and this host's number
//     is not among them (compared ignoring case).
//  12. peripheral-not-allowed (block): registered storage that also presents a class
//     (a stick with a Wi-Fi adapter) which this classified host does not allow. A class
//     missing from the registration was already caught as identity-mismatch.
//  13. lent-overdue (block): a lent medium works until the end of its due date — the
//     calendar day of DueAt in Now's location — and is blocked from the following
//     midnight. A lent medium with no due date, or judged with a zero Now, is treated
//     as overdue.
//  14. identity-mismatch (block) of what would otherwise be allowed: another USB
//     device with the same identity is present (Input.Twin), or a disk behind a USB
//     device reports no capacity while the registration binds one.
//  15. read-only-below-host (allow read-only): no write-down, the medium's level is
//     below the host's. allowed-read-only (allow read-only): registered with Access
//     "ro", or an optical disc (by device or by registered kind), which is always
//     read-only. Otherwise allowed.
//
// # Nodes after a driver binds
//
// When Device.Node is set (a net, tty or hidraw node appeared below a USB device
// already allowed), a device Decide would allow is blocked with unexpected-node
// unless it was allowed for such a node: hidraw for a device whose HID passed, net and
// tty for a device allowed by its pinned entry or presenting a communications class
// (net also wireless) that AllowClasses names. Containers get none; an unclassified
// host allows all.
//
// # Audit log unavailable
//
// When Input.AuditUnavailable is set (the daemon cannot write its audit log), a
// medium Decide would allow — allowed, allowed-read-only, read-only-below-host,
// unregistered-on-unclassified-host — is blocked with audit-unavailable: no medium is
// used without its decision on record. Peripherals, baseline disks and containers are
// decided as ever, so the keyboard and the system disk keep working.
//
// # Audit mode
//
// A host in audit mode gets the same Verdict and Reason as in enforce mode, with
// Enforce false; Decision.Effective then says Allow, so nothing is blocked or made
// read-only, and the log shows what enforce mode would have done.
package policy
