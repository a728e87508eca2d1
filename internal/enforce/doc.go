// Package enforce is the only code in mediagate that writes to sysfs or to block
// devices. It carries out decisions; it does not make them.
//
//   - USB: LockUSBDefault writes authorized_default=0 on every root hub, so that every
//     USB device plugged from then on stays unauthorized (no interfaces bound, no block
//     device) until AuthorizeExact writes authorized=1 for it — through the device's
//     sysfs directory held open since it was read, and only if its bus number, device
//     number and descriptors are still those that were read (else ErrDeviceChanged).
//     AuthorizeUSB writes by path and is used to deauthorize. The setting lives in
//     the kernel and survives the daemon: if mediagate stops, new devices stay blocked.
//   - Block devices that must not be used (non-USB disks outside the host baseline,
//     media behind an authorized container): Detach makes the disk and its partitions
//     read-only (BLKROSET), lazily unmounts everything mounted from them (and from
//     device-mapper or md devices stacked on them), and removes the device so that no
//     block device remains: SCSI device/delete, the MMC card unbound from its driver, a
//     virtio-blk disk's virtio device unbound, or the PCI function of a virtio or NVMe
//     disk unbound from its driver or removed (remove.go). A removal counts only when
//     the disk has left sysfs; a failed one is a *DetachError saying which steps did
//     succeed (DetachActions gives them as audit actions). Disks holding a mounted
//     system file system or swap, and PCI functions that carry any other disk, are
//     never removed.
//   - Optical discs: Eject takes users' access to the drive away (allow markers removed,
//     udev rules applied again), makes it read-only, unmounts the disc, unlocks the door
//     and ejects it — through SCSI commands to the drive when the kernel refuses because
//     someone holds the drive open or locked it — and tries again until the drive reports
//     no disc (bounded). A disc still in is an *EjectError saying which steps did succeed
//     (EjectActions), as for Detach (eject.go).
//   - Read-only media: ReadOnly sets BLKROSET on the disk and every partition.
//   - Release tells udev rules (rules/) that a block device may be shown to desktop
//     automounters: a marker file per kernel name in the run directory and a "change"
//     uevent; Forget removes the markers.
//
// All roots (sysfs, /dev, mountinfo, run directory) are injectable; the device ioctls
// and unmount are function fields, so tests run without root. Recorder is an in-memory
// fake with the same methods that records what would have been done.
package enforce
