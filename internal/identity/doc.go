// Package identity turns what the kernel and udev say about a device into a stable
// media.Identity: one canonical key per medium plus extra identity (capacity,
// descriptor hash, interface classes) that a registration may bind.
//
// Everything a device presents is hostile until checked. The parsers of outside input
// — ParseUdevDB and ParseProperties (udev database files, uevent and udevadm output),
// ParseDescriptors (the raw sysfs USB descriptors) and DiscSignature (ISO 9660 and UDF
// volume descriptors, ISO 9660 directory trees) — bound every length, depth and count
// and are fuzzed. Serials are judged by
// CheckSerial and escaped into keys by EscapeComponent, so a key never holds a
// component separator, a control character or unbounded length.
//
// Keys (see keys.go):
//
//	usb:VID:PID:SERIAL              USB devices and the media behind them
//	wwn:0xNNNNNNNNNNNNNNNN          SATA/SAS/SCSI disks with a World Wide Name
//	disk:MODEL:SERIAL               other disks
//	nvme:WWID                       NVMe namespaces
//	mmc:MANFID:OEMID:NAME:SERIAL    SD/MMC cards in a native slot
//	disc:v2-iso9660:HMAC, disc:v2-udf:HMAC  optical discs, by content (v1: disc:iso9660:SHA256)
//
// The reader (ReadDevice, Scan, Resolve) reads sysfs, the udev database and, for
// optical discs, the device node, all under injectable Roots; it never writes and
// never talks to a device. Matches is what the registry and policy call to compare a
// registered identity with a seen one.
package identity
