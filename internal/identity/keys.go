package identity

import (
	"fmt"
	"strings"
)

// Key formats. Every component is escaped with EscapeComponent, so a key never
// holds a ':' inside a component, a control character or more than a bounded length.
//
//	usb:VID:PID:SERIAL              USB device (VID/PID 4 lower-case hex digits)
//	wwn:0xNNNNNNNNNNNNNNNN          SATA/SAS/SCSI disk with a World Wide Name
//	disk:MODEL:SERIAL               SATA/SAS/SCSI disk without WWN
//	nvme:WWID                       NVMe namespace (sysfs wwid, e.g. eui.0025385b71b07e2f)
//	mmc:MANFID:OEMID:NAME:SERIAL    SD/MMC card on a native slot (CID fields, hex without 0x)
//	disc:v2-iso9660:HMAC            optical disc, whole-disc identity (see Disc.Signature)
//	disc:v2-udf:HMAC
//	disc:iso9660:SHA256             version 1 (volume descriptors only): old registrations,
//	disc:udf:SHA256                 upgraded by the daemon at the disc's next plug

// USBKey returns "usb:vid:pid:serial". vid and pid are the sysfs idVendor/idProduct
// values; anything that is not 1-4 hex digits is escaped like a serial.
func USBKey(vid, pid, serial string) string {
	return "usb:" + hexID(vid, 4) + ":" + hexID(pid, 4) + ":" + EscapeComponent(serial)
}

// WWNKey returns "wwn:0x…" for a valid World Wide Name (16 or 32 hex digits, with or
// without 0x or a "naa." prefix), and ok=false otherwise.
func WWNKey(wwn string) (string, bool) {
	w := strings.ToLower(TrimSerial(wwn))
	w = strings.TrimPrefix(w, "naa.")
	w = strings.TrimPrefix(w, "0x")
	if (len(w) != 16 && len(w) != 32) || !isHex(w) || strings.Trim(w, "0") == "" {
		return "", false
	}
	return "wwn:0x" + w, true
}

// DiskKey returns "disk:model:serial".
func DiskKey(model, serial string) string {
	return "disk:" + EscapeComponent(model) + ":" + EscapeComponent(serial)
}

// NVMeKey returns "nvme:wwid".
func NVMeKey(wwid string) string { return "nvme:" + EscapeComponent(wwid) }

// MMCKey returns "mmc:manfid:oemid:name:serial" from the sysfs CID attributes
// (manfid "0x000003", oemid "0x5344", name "SC32G", serial "0x1234abcd").
func MMCKey(manfid, oemid, name, serial string) string {
	return "mmc:" + hexID(manfid, 6) + ":" + hexID(oemid, 4) + ":" + EscapeComponent(name) + ":" + hexID(serial, 8)
}

// hexID normalises a hex number attribute: strips 0x, lower-cases and left-pads to
// width. A value that is not hex is escaped instead, so it still cannot break the key.
func hexID(s string, width int) string {
	v := strings.ToLower(TrimSerial(s))
	v = strings.TrimPrefix(v, "0x")
	if v == "" || len(v) > 16 || !isHex(v) {
		return EscapeComponent(s)
	}
	if len(v) < width {
		v = strings.Repeat("0", width-len(v)) + v
	}
	return v
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// SplitKey splits a key into its kind prefix and unescaped-free components; it is for
// display and tests, and checks that the key has the component count of its prefix.
func SplitKey(key string) (prefix string, parts []string, err error) {
	parts = strings.Split(key, ":")
	want := map[string]int{"usb": 4, "wwn": 2, "disk": 3, "nvme": 2, "mmc": 5, "disc": 3}
	if n, ok := want[parts[0]]; !ok || n != len(parts) {
		return "", nil, fmt.Errorf("malformed identity key %q", key)
	}
	return parts[0], parts[1:], nil
}
