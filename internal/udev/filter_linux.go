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

// Classic BPF instructions of the socket filters.
const (
	ldW   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	ldB   = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
	ldLen = unix.BPF_LD | unix.BPF_W | unix.BPF_LEN
	ldIW  = unix.BPF_LD | unix.BPF_W | unix.BPF_IND
	ldIH  = unix.BPF_LD | unix.BPF_H | unix.BPF_IND
	ldIB  = unix.BPF_LD | unix.BPF_B | unix.BPF_IND
	ldxK  = unix.BPF_LDX | unix.BPF_W | unix.BPF_IMM
	txa   = unix.BPF_MISC | unix.BPF_TXA
	tax   = unix.BPF_MISC | unix.BPF_TAX
	addK  = unix.BPF_ALU | unix.BPF_ADD | unix.BPF_K
	subK  = unix.BPF_ALU | unix.BPF_SUB | unix.BPF_K
	jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jgeX  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_X
	ja    = unix.BPF_JMP | unix.BPF_JA
	retK  = unix.BPF_RET | unix.BPF_K
	pass  = 0xffffffff // return: the whole message
)

// subsystemFilter is a socket filter for udevd's group that lets through only the
// messages of the given subsystems — as libudev's own monitors filter — so the many
// events of other devices (SCSI hosts and targets, interfaces, …) never wake the
// reader. A message without libudev's magic passes, to be refused by the parser.
func subsystemFilter(subsystems []string) []unix.SockFilter {
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

// kernelScan is how far into a kernel message kernelSubsystemFilter looks for the end
// of its "ACTION@DEVPATH" header (the deepest USB device's is about 120 bytes); a
// message with a longer header passes, to be judged by the reader.
const kernelScan = 256

// kernelScans are the scans tried in turn when the filter is attached. The kernel
// turns each byte load of the scan into about 13 instructions of its own BPF and
// charges the result to the socket's option memory, which net.core.optmem_max bounds
// (20 KiB by default before Linux 6.9, 128 KiB since): a kernel that refuses the
// longer scan (ENOMEM) gets a shorter one, whose longer headers pass to the reader.
var kernelScans = []int{kernelScan, 192, 144, 128, 96, 64}

// kernelScanChunk is how many positions of the scan come before their blocks: a test's
// jump to its block is 2*kernelScanChunk-1 instructions, within classic BPF's 255.
const kernelScanChunk = 64

// kernelSubsystemFilter is a socket filter for the kernel's group that lets through
// only the messages of the given subsystems, so that the many events of other devices
// never wake the reader. The kernel writes "ACTION@DEVPATH\0ACTION=…\0DEVPATH=…\0
// SUBSYSTEM=…\0…" (kobject_uevent_env adds those three first), so once the header's
// end i is found, SUBSYSTEM= is at 2i+17. Classic BPF has no loops: the search is
// unrolled, one test per byte, in chunks each followed by its positions' blocks
// (X = 2i+17). On any doubt — a longer header, a message in another layout, too short
// for the test — the message passes, and the reader decides. The kernel compiles the
// program when it is attached (about 1,100 instructions at the longest scan, 620 at
// 144 bytes; the daemon's start pays it once).
//
// dropTypes names, for a subsystem, a device type whose messages are dropped although
// the subsystem is wanted (usb: usb_interface, which the daemon does not decide).
//
// scan is how far the header's end is looked for (kernelScans).
func kernelSubsystemFilter(subsystems []string, dropTypes map[string]string, scan int) []unix.SockFilter {
	const prefix = "SUBSYSTEM="
	longest := 0
	for _, s := range subsystems {
		longest = max(longest, len(s)+1)
	}
	// Jumps are forward only: every "pass" jumps to the last instruction, and every
	// block to common, both patched in at the end.
	var prog []unix.SockFilter
	var toPass, toCommon []int
	jump := func(to *[]int) {
		*to = append(*to, len(prog))
		prog = append(prog, unix.SockFilter{Code: ja})
	}
	// passIfShorter passes a message shorter than X+n bytes and leaves X as it was
	// (passCheckLen instructions).
	passIfShorter := func(n uint32) {
		prog = append(prog,
			unix.SockFilter{Code: txa},
			unix.SockFilter{Code: addK, K: n},
			unix.SockFilter{Code: tax},
			unix.SockFilter{Code: ldLen},
			unix.SockFilter{Code: jgeX, Jt: 1})
		jump(&toPass)
		prog = append(prog,
			unix.SockFilter{Code: txa},
			unix.SockFilter{Code: subK, K: n},
			unix.SockFilter{Code: tax})
	}
	for first := 1; first < scan; first += kernelScanChunk {
		last := min(first+kernelScanChunk, scan) // positions first … last-1
		n := last - first
		for i := first; i < last; i++ {
			// A NUL at i jumps over the chunk's remaining tests (two instructions each),
			// the jump past its blocks and the blocks before i's (two each): 2n-1 from
			// every position.
			prog = append(prog,
				unix.SockFilter{Code: ldB, K: uint32(i)},
				unix.SockFilter{Code: jeq, Jt: uint8(2*n - 1), K: 0})
		}
		skip := len(prog)
		prog = append(prog, unix.SockFilter{Code: ja}) // no NUL in this chunk: on to the next
		for i := first; i < last; i++ {
			prog = append(prog, unix.SockFilter{Code: ldxK, K: uint32(2*i + 17)})
			jump(&toCommon)
		}
		prog[skip].K = uint32(len(prog) - skip - 1)
	}
	jump(&toPass) // no end of the header within the scan
	common := len(prog)
	// pass unless the message is long enough for SUBSYSTEM= and the longest name wanted
	need := uint32(len(prefix) + longest)
	passIfShorter(need)
	// X is at SUBSYSTEM=; a message in another layout passes.
	word := func(b string) uint32 { return binary.BigEndian.Uint32([]byte(b)) }
	prog = append(prog, unix.SockFilter{Code: ldIW, K: 0}, unix.SockFilter{Code: jeq, Jt: 1, K: word("SUBS")})
	jump(&toPass)
	prog = append(prog, unix.SockFilter{Code: ldIW, K: 4}, unix.SockFilter{Code: jeq, Jt: 1, K: word("YSTE")})
	jump(&toPass)
	prog = append(prog, unix.SockFilter{Code: ldIH, K: 8}, unix.SockFilter{Code: jeq, Jt: 1, K: uint32(binary.BigEndian.Uint16([]byte("M=")))})
	jump(&toPass)
	// each name with its NUL, a word (then a half-word, a byte) at a time: a mismatch
	// goes on to the next name, a full match passes — unless the name has a device
	// type to drop: then the message is dropped if DEVTYPE= follows the name at once
	// (as the kernel writes it for a device without a device number) with that type.
	var toDrop []int
	for _, s := range subsystems {
		name := s + "\x00"
		tests := compareAt(uint32(len(prefix)), name)
		typ, check := dropTypes[s]
		var typeTests []unix.SockFilter
		after := 1 // after the name's tests: its pass
		if check {
			typeTests = compareAt(uint32(len(prefix)+len(name)), "DEVTYPE="+typ+"\x00")
			// the length check, the type's tests, the drop and the mismatch's pass
			after = passCheckLen + len(typeTests) + 2
		}
		// a mismatch jumps past this name's remaining tests and what comes after them
		for t := 1; t < len(tests); t += 2 {
			tests[t].Jf = uint8(len(tests) - t - 1 + after)
		}
		prog = append(prog, tests...)
		if !check {
			jump(&toPass)
			continue
		}
		// The name matched. Pass if the message is too short to hold the type after
		// it; else drop it if the type follows, and pass it on the first mismatch.
		more := uint32(len(prefix) + len(name) + len("DEVTYPE="+typ+"\x00"))
		passIfShorter(more)
		for u := 1; u < len(typeTests); u += 2 {
			typeTests[u].Jf = uint8(len(typeTests) - u) // to the mismatch's pass
		}
		prog = append(prog, typeTests...)
		toDrop = append(toDrop, len(prog))
		prog = append(prog, unix.SockFilter{Code: ja}) // the type: drop
		jump(&toPass)
	}
	prog = append(prog, unix.SockFilter{Code: retK, K: 0}, unix.SockFilter{Code: retK, K: pass})
	for _, j := range toPass {
		prog[j].K = uint32(len(prog) - 1 - j - 1)
	}
	for _, j := range toDrop {
		prog[j].K = uint32(len(prog) - 2 - j - 1)
	}
	for _, j := range toCommon {
		prog[j].K = uint32(common - j - 1)
	}
	return prog
}

// passCheckLen is the length of kernelSubsystemFilter's passIfShorter.
const passCheckLen = 9

// compareAt is the tests of s against the message at X+at, a word (then a
// half-word, a byte) at a time: each a load and a jeq whose Jt is 0 and whose Jf the
// caller sets.
func compareAt(at uint32, s string) []unix.SockFilter {
	b := []byte(s)
	var tests []unix.SockFilter
	for k := 0; k < len(b); {
		off := at + uint32(k)
		switch {
		case len(b)-k >= 4:
			tests = append(tests, unix.SockFilter{Code: ldIW, K: off}, unix.SockFilter{Code: jeq, K: binary.BigEndian.Uint32(b[k:])})
			k += 4
		case len(b)-k >= 2:
			tests = append(tests, unix.SockFilter{Code: ldIH, K: off}, unix.SockFilter{Code: jeq, K: uint32(binary.BigEndian.Uint16(b[k:]))})
			k += 2
		default:
			tests = append(tests, unix.SockFilter{Code: ldIB, K: off}, unix.SockFilter{Code: jeq, K: uint32(b[k])})
			k++
		}
	}
	return tests
}

// attachFilter installs prog on the socket fd.
func attachFilter(fd int, prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return fmt.Errorf("socket filter of %d instructions", len(prog))
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: unsafe.SliceData(prog)}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}
