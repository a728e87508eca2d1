package mountwatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// udisks keeps the mounts it made in /run/udisks2/mounted-fs: the serialised GVariant
// of type a{sa{sv}}, mount point → {"block-device": t (dev_t), "mounted-by-uid": u,
// "fstab-mount": b}, in the machine's byte order (little-endian on every host we run
// on). See docs/mountlog.md and the GVariant serialisation specification.

// ErrUdisksState is wrapped by the errors of a malformed udisks state.
var ErrUdisksState = errors.New("malformed udisks mounted-fs state")

var errGVariant = ErrUdisksState

// UdisksMount is one entry of udisks' mounted-fs state.
type UdisksMount struct {
	MountPoint string
	Device     uint64 // dev_t
	UID        uint32 // mounted-by-uid
	Fstab      bool
}

// DefaultUdisksStates are where udisks keeps its mount state: udisks 2.9 keeps mounts
// below a mount point that survives reboot (Debian's /media) in
// /var/lib/udisks2/mounted-fs-persistent, the others (upstream's /run/media) in
// /run/udisks2/mounted-fs.
var DefaultUdisksStates = []string{"/var/lib/udisks2/mounted-fs-persistent", "/run/udisks2/mounted-fs", "/var/lib/udisks2/mounted-fs"}

// UdisksEntries reads udisks' mount state from path, or from DefaultUdisksStates when
// path is empty. Files that are missing or malformed are skipped.
func UdisksEntries(path string) []UdisksMount {
	paths := []string{path}
	if path == "" {
		paths = DefaultUdisksStates
	}
	var out []UdisksMount
	for _, p := range paths {
		if es, err := ReadUdisksMounts(p); err == nil {
			out = append(out, es...)
		}
	}
	return out
}

const maxUdisksState = 1 << 20

// ReadUdisksMounts reads and parses one udisks state file (at most 1 MiB).
func ReadUdisksMounts(path string) ([]UdisksMount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxUdisksState {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), maxUdisksState)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return ParseUdisksMounts(b)
}

// Makedev is the Linux dev_t encoding of glibc's makedev.
func Makedev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfffff000)<<32 | (ma&0xfff)<<8 | (mi&0xffffff00)<<12 | mi&0xff
}

// ParseUdisksMounts parses udisks' mounted-fs state. Unknown keys and values of other
// types are skipped; structural errors fail.
func ParseUdisksMounts(b []byte) ([]UdisksMount, error) {
	entries, err := gvArray(b, 8)
	if err != nil {
		return nil, err
	}
	var out []UdisksMount
	for _, e := range entries {
		key, val, err := gvDictEntry(e, 8)
		if err != nil {
			return nil, err
		}
		m := UdisksMount{MountPoint: key}
		props, err := gvArray(val, 8)
		if err != nil {
			return nil, err
		}
		for _, p := range props {
			name, v, err := gvDictEntry(p, 8)
			if err != nil {
				return nil, err
			}
			data, typ, err := gvVariant(v)
			if err != nil {
				return nil, err
			}
			switch {
			case name == "block-device" && typ == "t" && len(data) == 8:
				m.Device = binary.LittleEndian.Uint64(data)
			case name == "mounted-by-uid" && typ == "u" && len(data) == 4:
				m.UID = binary.LittleEndian.Uint32(data)
			case name == "fstab-mount" && typ == "b" && len(data) == 1:
				m.Fstab = data[0] != 0
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// gvOffsetSize is the size of framing offsets in a container of n bytes.
func gvOffsetSize(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 0xff:
		return 1
	case n <= 0xffff:
		return 2
	case uint64(n) <= 0xffffffff:
		return 4
	}
	return 8
}

func gvOffset(b []byte, size int) int {
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if v > 1<<40 {
		return -1
	}
	return int(v)
}

func gvAlign(n, a int) int { return (n + a - 1) &^ (a - 1) }

// gvArray splits an array of variable-sized elements of the given alignment.
func gvArray(b []byte, align int) ([][]byte, error) {
	n := len(b)
	if n == 0 {
		return nil, nil
	}
	osz := gvOffsetSize(n)
	if n < osz {
		return nil, errGVariant
	}
	last := gvOffset(b[n-osz:], osz)
	if last < 0 || last > n || (n-last)%osz != 0 {
		return nil, fmt.Errorf("%w: array framing", errGVariant)
	}
	count := (n - last) / osz
	out := make([][]byte, 0, count)
	start := 0
	for i := range count {
		end := gvOffset(b[last+i*osz:], osz)
		if end < start || end > last {
			return nil, fmt.Errorf("%w: array element %d", errGVariant, i)
		}
		out = append(out, b[start:end])
		start = gvAlign(end, align)
	}
	return out, nil
}

// gvDictEntry splits a dict entry {s, V} whose value has the given alignment.
func gvDictEntry(b []byte, valueAlign int) (string, []byte, error) {
	n := len(b)
	osz := gvOffsetSize(n)
	if n < osz+1 {
		return "", nil, fmt.Errorf("%w: dict entry", errGVariant)
	}
	keyEnd := gvOffset(b[n-osz:], osz)
	if keyEnd < 1 || keyEnd > n-osz || b[keyEnd-1] != 0 {
		return "", nil, fmt.Errorf("%w: dict entry key", errGVariant)
	}
	key := b[:keyEnd-1]
	if bytes.IndexByte(key, 0) >= 0 {
		return "", nil, fmt.Errorf("%w: dict entry key", errGVariant)
	}
	vs := gvAlign(keyEnd, valueAlign)
	if vs > n-osz {
		return "", nil, fmt.Errorf("%w: dict entry value", errGVariant)
	}
	return string(key), b[vs : n-osz], nil
}

// gvVariant splits a variant into its value and type string.
func gvVariant(b []byte) ([]byte, string, error) {
	i := bytes.LastIndexByte(b, 0)
	if i < 0 {
		return nil, "", fmt.Errorf("%w: variant", errGVariant)
	}
	return b[:i], string(b[i+1:]), nil
}
