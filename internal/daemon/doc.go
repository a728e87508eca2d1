// Package daemon wires mediagate's parts into the enforcement service: device events
// from internal/udev, identities from internal/identity, registrations from the
// registry, decisions from internal/policy, and their enforcement by internal/enforce.
// It holds no business logic of its own beyond the order in which things happen.
//
// # What is decided when
//
//   - A USB device (the usb_device, never an interface) is decided on its add event,
//     from its descriptors, before the kernel binds any driver: root hubs are set to
//     authorized_default=0 at start, so every new device waits unauthorized. The daemon
//     writes authorized=1 only when the effective verdict allows it, and authorized=0
//     otherwise. Interface events and the change/bind/unbind events that our own
//     writes cause never re-decide a device: they only re-apply the decision already
//     taken for it (which writes nothing when sysfs already agrees).
//   - A block device behind a USB device is decided again when it appears, because
//     only then is its capacity (and, for a card reader, its kind) known. If that
//     decision blocks, the USB device is deauthorized. Read-only registrations get
//     BLKROSET on the disk and every partition before the automounter markers are set.
//   - Containers: a USB card reader or optical drive presents mass storage itself and
//     has no identity of the medium in it. On a classified host, a USB storage device
//     that is not registered but whose VID:PID the host profile lists in AllowDevices
//     is authorized as a container (policy's reason storage-container). Each medium behind it
//     is then decided on its own: an optical disc by its whole-disc identity
//     (registered discs work read-only, others are ejected; a disc registered under its
//     version 1 key is moved to the whole-disc key at that plug, see lookupDevice); any
//     other block device (a card in a
//     reader, or a stick pretending to be the reader) has only the container's identity
//     and is treated as unregistered, so it is detached. Register SD cards in a native
//     slot, where their CID identifies them.
//   - Non-USB block devices (SATA/SAS/NVMe, SD/MMC slots, optical drives): disks in the
//     host baseline recorded at host init (identity.BaselineKey) are allowed; the
//     enforcer never detaches a disk holding a mounted system file system or swap.
//     Removable ones are media: blocked ones are made read-only, unmounted and detached;
//     blocked discs are ejected.
//   - Audit mode: every decision is taken and logged with Enforce=false; the effective
//     verdict is allow, root hubs are not locked, nothing is blocked.
//
// Every decision is one audit row of kind device.decision. Every control-socket call is
// one audit row of kind daemon.control with the caller's uid.
package daemon
