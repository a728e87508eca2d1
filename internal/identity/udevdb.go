package identity

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mediagate/internal/sysfs"
)

// Limits on outside input. Files larger than these are refused, not truncated, so a
// hostile device cannot make the daemon read unbounded data.
const (
	maxUdevDBSize   = 64 << 10 // a udev database file or property list
	maxAttrSize     = 4 << 10  // one sysfs text attribute
	maxDescriptors  = 64 << 10 // the sysfs descriptors file
	maxPropertyKey  = 128
	maxPropertyVal  = 4 << 10
	maxPropertyKeys = 1024
)

// ErrTooLarge is returned when an input exceeds its size limit.
var ErrTooLarge = sysfs.ErrTooLarge

// UdevRecord is the parsed content of a udev database file (/run/udev/data/b8:0).
type UdevRecord struct {
	Properties  map[string]string // E: lines
	Symlinks    []string          // S: lines, relative to /dev
	Tags        []string          // G: lines
	Initialized int64             // I: line, usec since boot; 0 if absent
}

// ParseUdevDB parses a udev database file. Lines it does not know are skipped;
// properties with invalid names are dropped. A later E: line for the same key wins,
// as in udev. It fails only on oversized input or NUL bytes.
func ParseUdevDB(data []byte) (UdevRecord, error) {
	rec := UdevRecord{Properties: map[string]string{}}
	if len(data) > maxUdevDBSize {
		return rec, fmt.Errorf("udev database: %w (%d bytes, limit %d)", ErrTooLarge, len(data), maxUdevDBSize)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return rec, errors.New("udev database: contains NUL byte")
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'E':
			k, v, ok := strings.Cut(val, "=")
			if ok {
				addProperty(rec.Properties, k, v)
			}
		case 'S':
			if validText(val, 4096) && len(rec.Symlinks) < maxPropertyKeys {
				rec.Symlinks = append(rec.Symlinks, val)
			}
		case 'G':
			if validText(val, 256) && len(rec.Tags) < maxPropertyKeys {
				rec.Tags = append(rec.Tags, val)
			}
		case 'I':
			if n, err := strconv.ParseInt(val, 10, 64); err == nil && n >= 0 {
				rec.Initialized = n
			}
		}
	}
	return rec, nil
}

// ParseProperties parses a KEY=VALUE property list: a sysfs uevent file,
// `udevadm info --query=property`, `udevadm info --export` (KEY='VALUE') or the
// "E: KEY=VALUE" lines of plain `udevadm info`. Other lines are skipped.
func ParseProperties(data []byte) (map[string]string, error) {
	props := map[string]string{}
	if len(data) > maxUdevDBSize {
		return props, fmt.Errorf("property list: %w (%d bytes, limit %d)", ErrTooLarge, len(data), maxUdevDBSize)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return props, errors.New("property list: contains NUL byte")
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if rest, ok := strings.CutPrefix(line, "E: "); ok {
			line = rest
		} else if len(line) >= 2 && line[1] == ':' {
			continue // P:, N:, S:, L: … lines of udevadm info
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		addProperty(props, k, v)
	}
	return props, nil
}

func addProperty(props map[string]string, k, v string) {
	if !validPropertyKey(k) || !validText(v, maxPropertyVal) {
		return
	}
	if _, exists := props[k]; !exists && len(props) >= maxPropertyKeys {
		return
	}
	props[k] = v
}

// validPropertyKey accepts the names udev and the kernel use: letters, digits, '_', '.', '-'.
func validPropertyKey(k string) bool {
	if k == "" || len(k) > maxPropertyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validText refuses control characters other than tab, and overlong values.
func validText(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
