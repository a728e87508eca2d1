package mountwatch

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mediagate/internal/sysfs"
)

// Limits applied to hostile or corrupt mountinfo input.
const (
	// MaxLineLen bounds one mountinfo line. Two escaped PATH_MAX paths
	// (4096 bytes, each byte up to 4 when escaped) plus options fit.
	MaxLineLen = 64 << 10
	// MaxOptionalFields bounds the optional fields before the "-" separator.
	// The kernel writes at most four (shared, master, propagate_from, unbindable).
	MaxOptionalFields = 16
	// MaxMounts bounds the number of lines in one table.
	MaxMounts = 1 << 20
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed mountinfo")

// Mount is one line of /proc/<pid>/mountinfo, unescaped.
type Mount struct {
	ID           int      // mount id (reused by the kernel after unmount)
	ParentID     int      // parent mount id
	Major, Minor uint32   // st_dev of the filesystem
	Root         string   // root of the mount within the filesystem ("/" unless a bind of a subtree)
	MountPoint   string   // relative to the process's root
	Options      string   // per-mount options, e.g. "rw,nosuid,relatime"
	Optional     []string // optional fields, e.g. "shared:1", "master:2"
	FSType       string   // e.g. "ext4", "fuse.sshfs"
	Source       string   // e.g. "/dev/sdb1", "tmpfs"
	SuperOptions string   // per-superblock options, e.g. "rw,errors=remount-ro"
}

// ReadOnly reports whether writes through this mount are refused: either the
// mount or its superblock is read-only.
func (m Mount) ReadOnly() bool {
	return hasOption(m.Options, "ro") || hasOption(m.SuperOptions, "ro")
}

// BlockDevice reports whether the mount is backed by a block device: a
// source under /dev/ or a device number with a non-zero major (anonymous
// devices of tmpfs, proc and friends have major 0).
func (m Mount) BlockDevice() bool {
	return m.Major != 0 || strings.HasPrefix(m.Source, "/dev/")
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// ParseMountinfo parses the whole content of a mountinfo file. It fails on
// the first malformed line and never panics.
func ParseMountinfo(data []byte) ([]Mount, error) {
	mounts := make([]Mount, 0, bytes.Count(data, []byte{'\n'})+1)
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		lineNo++
		if len(line) == 0 {
			continue
		}
		if len(mounts) >= MaxMounts {
			return nil, fmt.Errorf("%w: more than %d mounts", ErrMalformed, MaxMounts)
		}
		m, err := ParseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

// ParseMountinfoLine parses one line (without its newline):
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func ParseMountinfoLine(line []byte) (Mount, error) {
	var m Mount
	if len(line) > MaxLineLen {
		return m, fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineLen)
	}
	s := string(line)
	next := func() (string, bool) {
		if s == "" {
			return "", false
		}
		f, rest, _ := strings.Cut(s, " ")
		s = rest
		return f, true
	}
	var fields [6]string
	for i := range fields {
		f, ok := next()
		if !ok || f == "" {
			return m, fmt.Errorf("%w: want at least 10 fields", ErrMalformed)
		}
		fields[i] = f
	}
	var err error
	if m.ID, err = parseID(fields[0]); err != nil {
		return m, fmt.Errorf("%w: mount id %q", ErrMalformed, fields[0])
	}
	if m.ParentID, err = parseID(fields[1]); err != nil {
		return m, fmt.Errorf("%w: parent id %q", ErrMalformed, fields[1])
	}
	maj, min, ok := strings.Cut(fields[2], ":")
	if !ok {
		return m, fmt.Errorf("%w: device %q", ErrMalformed, fields[2])
	}
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return m, fmt.Errorf("%w: device %q", ErrMalformed, fields[2])
	}
	m.Major, m.Minor = uint32(ma), uint32(mi)
	m.Root = unescape(fields[3])
	m.MountPoint = unescape(fields[4])
	m.Options = fields[5]
	for {
		f, ok := next()
		if !ok {
			return m, fmt.Errorf("%w: no \"-\" separator", ErrMalformed)
		}
		if f == "-" {
			break
		}
		if f == "" {
			return m, fmt.Errorf("%w: empty optional field", ErrMalformed)
		}
		if len(m.Optional) >= MaxOptionalFields {
			return m, fmt.Errorf("%w: more than %d optional fields", ErrMalformed, MaxOptionalFields)
		}
		m.Optional = append(m.Optional, f)
	}
	fstype, ok := next()
	if !ok || fstype == "" {
		return m, fmt.Errorf("%w: no filesystem type", ErrMalformed)
	}
	m.FSType = unescape(fstype)
	// The source may be empty (the kernel then writes "none" on old
	// kernels, or nothing between two spaces on some filesystems).
	src, ok := next()
	if !ok {
		return m, fmt.Errorf("%w: no source", ErrMalformed)
	}
	m.Source = unescape(src)
	if strings.Contains(s, " ") {
		return m, fmt.Errorf("%w: trailing fields after super options", ErrMalformed)
	}
	m.SuperOptions = s
	return m, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	return int(n), err
}

// unescape undoes the kernel's octal escapes (see sysfs.UnescapeMount).
func unescape(s string) string { return sysfs.UnescapeMount(s) }

// escape is the kernel's mangle(): it escapes space, tab, newline,
// backslash and hash. Used to write fixtures and in round-trip tests.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\', '#':
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AppendLine appends m in mountinfo format (with a trailing newline) to b.
func (m Mount) AppendLine(b []byte) []byte {
	b = strconv.AppendInt(b, int64(m.ID), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.ParentID), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(m.Major), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(m.Minor), 10)
	b = append(b, ' ')
	b = append(b, escape(m.Root)...)
	b = append(b, ' ')
	b = append(b, escape(m.MountPoint)...)
	b = append(b, ' ')
	b = append(b, m.Options...)
	for _, o := range m.Optional {
		b = append(b, ' ')
		b = append(b, o...)
	}
	b = append(b, " - "...)
	b = append(b, escape(m.FSType)...)
	b = append(b, ' ')
	b = append(b, escape(m.Source)...)
	b = append(b, ' ')
	b = append(b, m.SuperOptions...)
	return append(b, '\n')
}
