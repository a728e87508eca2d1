//go:build linux

package udev

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offsets in libudev's monitor header (udevHeader): the magic, and the hash of the
// event's subsystem that udevd puts there for this very purpose (big-endian).
const (
	udevMagicOffset         = 8
	udevSubsystemHashOffset = 24
)

// subsystemHash is udevd's hash of a subsystem name for its monitor header: MurmurHash2
// with seed 0 (systemd's string_hash32).
func subsystemHash(s string) uint32 { return murmurHash2([]byte(s), 0) }

// murmurHash2 is Austin Appleby's 32-bit MurmurHash2, reading blocks as a
// little-endian machine does (udevd runs on the same machine).
func murmurHash2(data []byte, seed uint32) uint32 {
	const m, r = 0x5bd1e995, 24
	h := seed ^ uint32(len(data))
	for len(data) >= 4 {
		k := binary.NativeEndian.Uint32(data)
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// subsystemFilter is a socket filter for udevd's group that lets through only the
// messages of the given subsystems — as libudev's own monitors filter — so the many
// events of other devices (SCSI hosts and targets, interfaces, …) never wake the
// reader. A message without libudev's magic passes, to be refused by the parser.
func subsystemFilter(subsystems []string) []unix.SockFilter {
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		retK = unix.BPF_RET | unix.BPF_K
		pass = 0xffffffff
	)
	n := len(subsystems)
	prog := []unix.SockFilter{
		{Code: ldW, K: udevMagicOffset},
		{Code: jeq, Jt: 1, K: udevMagic},
		{Code: retK, K: pass},
		{Code: ldW, K: udevSubsystemHashOffset},
	}
	for i, s := range subsystems {
		// Jump over the remaining comparisons and the drop to the pass.
		prog = append(prog, unix.SockFilter{Code: jeq, Jt: uint8(n - i), K: subsystemHash(s)})
	}
	return append(prog, unix.SockFilter{Code: retK, K: 0}, unix.SockFilter{Code: retK, K: pass})
}

// attachFilter installs prog on the socket fd.
func attachFilter(fd int, prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > 255 {
		return fmt.Errorf("socket filter of %d instructions", len(prog))
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: unsafe.SliceData(prog)}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}
