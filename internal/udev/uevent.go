package udev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// The two netlink groups of NETLINK_KOBJECT_UEVENT.
const (
	groupKernel = 1 // the kernel's own uevents, sent before udevd has seen them
	groupUdev   = 2 // udevd's events, sent after its rules ran (libudev's format)
)

// Limits on a uevent message. The kernel builds its uevents in a 2 KiB buffer
// (UEVENT_BUFFER_SIZE); udevd adds its properties, a few KiB at most.
const (
	maxMessage     = 16 << 10
	maxProperties  = 256
	maxPropertyKey = 64
	maxPropertyVal = 4096
)

// Errors of the uevent parsers. Every message is outside input: a wrong one is
// dropped, never half-used.
var (
	errMessage = errors.New("malformed uevent message")
	errIgnored = errors.New("uevent of no interest")
)

// parseKernelMessage parses one message of the kernel's uevent group:
// "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0…". The ACTION and DEVPATH of the header
// must agree with the properties.
func parseKernelMessage(b []byte) (Event, error) {
	if len(b) == 0 || len(b) > maxMessage {
		return Event{}, fmt.Errorf("%w: %d bytes", errMessage, len(b))
	}
	head, rest, ok := bytes.Cut(b, []byte{0})
	if !ok {
		return Event{}, fmt.Errorf("%w: no properties", errMessage)
	}
	action, devpath, ok := strings.Cut(string(head), "@")
	if !ok {
		return Event{}, fmt.Errorf("%w: header without @", errMessage)
	}
	e, err := eventFromProperties(rest)
	if err != nil {
		return e, err
	}
	if e.Action != action || e.DevPath != devpath {
		return Event{}, fmt.Errorf("%w: header %q@%q disagrees with the properties", errMessage, action, devpath)
	}
	return e, nil
}

// udevHeader is libudev's udev_monitor_netlink_header: "libudev\0", a big-endian
// magic, then native-endian sizes and offsets (and filter hashes we do not need).
const (
	udevPrefix     = "libudev\x00"
	udevMagic      = 0xfeedcafe
	udevHeaderSize = 40
)

// parseUdevMessage parses one message of udevd's group (libudev's monitor format).
func parseUdevMessage(b []byte) (Event, error) {
	if len(b) < udevHeaderSize || len(b) > maxMessage {
		return Event{}, fmt.Errorf("%w: %d bytes", errMessage, len(b))
	}
	if string(b[:8]) != udevPrefix {
		return Event{}, fmt.Errorf("%w: not a libudev message", errMessage)
	}
	if binary.BigEndian.Uint32(b[8:12]) != udevMagic {
		return Event{}, fmt.Errorf("%w: bad magic", errMessage)
	}
	hdr := binary.NativeEndian.Uint32(b[12:16])
	off := binary.NativeEndian.Uint32(b[16:20])
	n := binary.NativeEndian.Uint32(b[20:24])
	if hdr < udevHeaderSize || off < hdr || uint64(off)+uint64(n) > uint64(len(b)) {
		return Event{}, fmt.Errorf("%w: properties at %d+%d outside %d bytes", errMessage, off, n, len(b))
	}
	return eventFromProperties(b[off : off+n])
}

// messageSubsystem finds the SUBSYSTEM property of a message of group (kernel or udev)
// without parsing the rest, so that the readers drop the many messages of no interest
// (every device of the machine sends them) before building an event; ok is false when
// there is none to find, and the message is then parsed whole.
func messageSubsystem(group uint32, b []byte) (string, bool) {
	if group == groupUdev {
		if len(b) < udevHeaderSize || string(b[:8]) != udevPrefix {
			return "", false
		}
		off := binary.NativeEndian.Uint32(b[16:20])
		n := binary.NativeEndian.Uint32(b[20:24])
		if uint64(off)+uint64(n) > uint64(len(b)) {
			return "", false
		}
		b = b[off : off+n]
	} else {
		_, rest, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return "", false
		}
		b = rest
	}
	for len(b) > 0 {
		var kv []byte
		kv, b, _ = bytes.Cut(b, []byte{0})
		if v, ok := bytes.CutPrefix(kv, []byte("SUBSYSTEM=")); ok {
			return string(v), true
		}
	}
	return "", false
}

// eventFromProperties builds an Event from a NUL-separated KEY=VALUE list. ACTION,
// DEVPATH and SUBSYSTEM are required; DEVPATH must be a clean "/devices/…" path;
// SEQNUM, when present, decimal. Keys are [A-Za-z0-9_.]; a repeated key, a bad key
// or too many properties refuse the message; a value with control characters (but
// tab) or longer than maxPropertyVal drops that property.
func eventFromProperties(b []byte) (Event, error) {
	// One copy of the message; keys and values are parts of it.
	text := string(b)
	props := make(map[string]string, 16)
	var seen map[string]bool // keys whose value was dropped
	for len(text) > 0 {
		var kv string
		kv, text, _ = strings.Cut(text, "\x00")
		if len(kv) == 0 {
			continue
		}
		key, v, found := strings.Cut(kv, "=")
		if !found || !validKey(key) {
			return Event{}, fmt.Errorf("%w: bad property %.40q", errMessage, kv)
		}
		if _, dup := props[key]; dup || seen[key] {
			return Event{}, fmt.Errorf("%w: %s twice", errMessage, key)
		}
		if len(v) > maxPropertyVal || !validValue(v) {
			// A device-provided string udevd passed on: the property is dropped,
			// the event kept (the fields an event is made of are checked below).
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[key] = true
			continue
		}
		if len(props) >= maxProperties {
			return Event{}, fmt.Errorf("%w: more than %d properties", errMessage, maxProperties)
		}
		props[key] = v
	}
	e := Event{
		Action:    props["ACTION"],
		DevPath:   cleanPath(props["DEVPATH"]),
		Subsystem: props["SUBSYSTEM"],
		DevType:   props["DEVTYPE"],
		Received:  time.Now(),
	}
	if !knownAction(e.Action) {
		return Event{}, fmt.Errorf("%w: action %.20q", errMessage, e.Action)
	}
	if e.DevPath == "" || e.DevPath != props["DEVPATH"] {
		return Event{}, fmt.Errorf("%w: devpath %.80q", errMessage, props["DEVPATH"])
	}
	if e.Subsystem == "" {
		return Event{}, fmt.Errorf("%w: no subsystem", errMessage)
	}
	if s, ok := props["SEQNUM"]; ok {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Event{}, fmt.Errorf("%w: seqnum %.24q", errMessage, s)
		}
		e.Seq = seq
	}
	e.SysName = strings.ReplaceAll(path.Base(e.DevPath), "!", "/")
	if n := props["DEVNAME"]; n != "" {
		e.DevNode = devNode(n)
	}
	e.Properties = props
	return e, nil
}

// devNode turns DEVNAME into a path below /dev: the kernel sends it relative
// ("sdb1", "bus/usb/002/003"), udevd absolute ("/dev/sdb1"). Anything that would
// leave /dev gives "".
func devNode(n string) string {
	n = strings.TrimPrefix(n, "/dev/")
	if n == "" || strings.HasPrefix(n, "/") || path.Clean(n) != n || n == ".." || strings.HasPrefix(n, "../") {
		return ""
	}
	return "/dev/" + n
}

func knownAction(a string) bool {
	switch a {
	case ActionAdd, ActionRemove, ActionChange, ActionBind, ActionUnbind, ActionMove, "online", "offline":
		return true
	}
	return false
}

func validKey[T string | []byte](k T) bool {
	if len(k) == 0 || len(k) > maxPropertyKey {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validValue[T string | []byte](v T) bool {
	for i := range len(v) {
		c := v[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
