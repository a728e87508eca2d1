package udev

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The enumeration of the devices present at start reads sysfs and udevd's database
// directly, as libudev's enumeration does (a sysfs walk of the bus and class
// directories, the uevent file of each device, then its database record), without
// libudev: the daemon then links no C library, so it runs without cgo's threads and
// with none of libc's, ld.so's and libudev's pages (docs/performance.md, "Memory").

// Limits on what the enumeration reads. The kernel builds a uevent in a 2 KiB buffer;
// udevd's database record of a device is a few KiB at most.
const (
	maxUeventFile = 16 << 10
	maxUdevDBFile = 64 << 10
)

// enumerateSubsystems are the subsystems enumerated at start, in order, and where
// sysfs lists their devices.
var enumerateSubsystems = []struct{ name, dir string }{
	{"usb", "bus/usb/devices"},
	{"block", "class/block"},
}

// enumerate lists the usb and block devices present below the sysfs root sys, as
// Enumerated "add" events: USB devices and interfaces first (sorted by devpath, so
// hubs come before what hangs off them), then block devices (disks before their
// partitions). Each event carries the device's uevent properties and, when udevd
// has initialised it, its properties from the udev database in udevData. A device
// that vanishes while it is read is skipped; any other error fails the enumeration
// (a present device must never be left out silently).
func enumerate(sys, udevData string) ([]Event, error) {
	var out []Event
	for _, sub := range enumerateSubsystems {
		dir := filepath.Join(sys, filepath.FromSlash(sub.dir))
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no USB at all (or no block class): nothing present
		}
		if err != nil {
			return nil, fmt.Errorf("enumerate %s: %w", sub.name, err)
		}
		group := make([]Event, 0, len(ents))
		for _, ent := range ents {
			e, ok, err := enumerateOne(sys, udevData, sub.dir, ent.Name(), sub.name)
			if err != nil {
				return nil, fmt.Errorf("enumerate %s: %w", sub.name, err)
			}
			if ok {
				group = append(group, e)
			}
		}
		slices.SortStableFunc(group, func(a, b Event) int { return strings.Compare(a.DevPath, b.DevPath) })
		out = append(out, group...)
	}
	return out, nil
}

// enumerateOne reads one device listed in <sys>/<dir>/<name> (a link into
// <sys>/devices). ok is false for an entry that is gone or does not lead below
// /devices.
func enumerateOne(sys, udevData, dir, name, subsystem string) (Event, bool, error) {
	target, err := os.Readlink(filepath.Join(sys, filepath.FromSlash(dir), name))
	if err != nil {
		if vanished(err) {
			return Event{}, false, nil
		}
		return Event{}, false, err
	}
	// The links of sysfs are relative ("../../../devices/pci0000:00/…/usb2/2-1").
	devpath := cleanPath(path.Join("/", dir, target))
	if devpath == "" {
		return Event{}, false, nil
	}
	data, err := readLimited(filepath.Join(sys, filepath.FromSlash(devpath), "uevent"), maxUeventFile)
	if err != nil {
		if vanished(err) {
			return Event{}, false, nil
		}
		return Event{}, false, err
	}
	props := parseUeventFile(data)
	e := Event{
		Action:     ActionAdd,
		DevPath:    devpath,
		Subsystem:  subsystem,
		DevType:    props["DEVTYPE"],
		SysName:    strings.ReplaceAll(path.Base(devpath), "!", "/"),
		Enumerated: true,
		Received:   time.Now(),
	}
	if n := props["DEVNAME"]; n != "" {
		e.DevNode = devNode(n)
		if e.DevNode != "" {
			props["DEVNAME"] = e.DevNode // libudev's form: the node's path
		} else {
			delete(props, "DEVNAME")
		}
	}
	props["DEVPATH"], props["SUBSYSTEM"] = devpath, subsystem
	if id := udevID(subsystem, path.Base(devpath), props); id != "" && udevData != "" {
		db, err := readLimited(filepath.Join(udevData, id), maxUdevDBFile)
		switch {
		case err == nil:
			mergeUdevDB(props, db)
		case vanished(err):
			// Not (yet) initialised by udevd, or udevd does not run: the kernel's
			// properties only, as libudev gives them.
		default:
			return Event{}, false, fmt.Errorf("udev database of %s: %w", devpath, err)
		}
	}
	if len(props) <= maxProperties {
		e.Properties = props
	}
	return e, true, nil
}

// udevID is the name of a device's record in udevd's database: b<major>:<minor> for
// a block device, c<major>:<minor> for another device with a node, +<subsystem>:<name>
// for one without ("" when the name cannot be one).
func udevID(subsystem, name string, props map[string]string) string {
	maj, min := props["MAJOR"], props["MINOR"]
	if digits(maj) && digits(min) {
		if subsystem == "block" {
			return "b" + maj + ":" + min
		}
		return "c" + maj + ":" + min
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/!") {
		return ""
	}
	return "+" + subsystem + ":" + name
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseUeventFile parses a sysfs uevent file: KEY=VALUE lines. Properties with a bad
// key, a value with control characters or an oversized value are dropped (the device
// is still listed: it is present, whatever it says about itself); at most
// maxProperties+1 are kept, so that toEvent's bound can tell too many.
func parseUeventFile(b []byte) map[string]string {
	props := make(map[string]string, 16)
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		addProperty(props, line)
	}
	return props
}

// mergeUdevDB adds a udev database record's properties (its E: lines; the node's
// links, S:, as DEVLINKS; its tags, G: and Q:, as TAGS and CURRENT_TAGS; I: as
// USEC_INITIALIZED) to props, as libudev merges them.
// Lines it does not know are skipped; bad properties dropped as in parseUeventFile.
func mergeUdevDB(props map[string]string, b []byte) {
	var links, tags, current []string
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'E':
			addProperty(props, val)
		case 'S':
			if n := devNode(string(val)); n != "" && validValue(val) && len(links) < maxProperties {
				links = append(links, n)
			}
		case 'G', 'Q':
			if len(val) > 0 && validKey(val) && len(tags)+len(current) < maxProperties {
				if line[0] == 'G' {
					tags = append(tags, string(val))
				} else {
					current = append(current, string(val))
				}
			}
		case 'I':
			if digits(string(val)) {
				addProperty(props, []byte("USEC_INITIALIZED="+string(val)))
			}
		}
	}
	if len(links) > 0 {
		addProperty(props, []byte("DEVLINKS="+strings.Join(links, " ")))
	}
	if len(tags) > 0 {
		addProperty(props, []byte("TAGS=:"+strings.Join(tags, ":")+":"))
	}
	if len(current) > 0 {
		addProperty(props, []byte("CURRENT_TAGS=:"+strings.Join(current, ":")+":"))
	}
}

// addProperty adds one KEY=VALUE to props (a later one for the same key wins, as in
// udev), unless it is malformed or props is already over the bound.
func addProperty(props map[string]string, kv []byte) {
	k, v, found := bytes.Cut(kv, []byte{'='})
	if !found || !validKey(k) || len(v) > maxPropertyVal || !validValue(v) {
		return
	}
	if _, ok := props[string(k)]; !ok && len(props) > maxProperties {
		return
	}
	props[string(k)] = string(v)
}

// readLimited reads a whole file of at most limit bytes; a larger one is an error.
func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// vanished tells a device (or its record) that is gone from a real error: sysfs
// answers ENOENT or ENODEV for a device removed while it is read.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}
