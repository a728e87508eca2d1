//go:build linux

package sysfs

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// walkDirs calls visit for base and for every directory below it down to maxDepth
// levels (base is depth 0), in lexical order, parents first, never following a
// symbolic link and never entering a directory that holds no devices (noDevicesIn) or
// one visit declined. It reads each directory with getdents into a recycled buffer and
// makes a path only for the directories it finds: the files, most of what sysfs lists
// below a USB device, cost it nothing but their directory entries. A directory that
// cannot be opened or read is left out with what is below it.
func walkDirs(base string, maxDepth int, visit func(p string, depth int) bool) {
	fd, err := rawOpenat(unix.AT_FDCWD, base, dirFlags)
	if err != nil {
		return
	}
	sp := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sp)
	walkFD(fd, base, 0, maxDepth, visit, sp[:])
}

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// walkFD is walkDirs from the open directory fd at path p; it closes fd.
func walkFD(fd int, p string, depth, maxDepth int, visit func(string, int) bool, buf []byte) {
	defer rawClose(fd)
	if !visit(p, depth) || depth >= maxDepth {
		return
	}
	names, ok := subdirs(fd, buf)
	if !ok {
		return
	}
	for _, n := range names {
		cfd, err := rawOpenat(fd, n, dirFlags)
		if err != nil {
			continue // gone, or a link after all
		}
		walkFD(cfd, p+"/"+n, depth+1, maxDepth, visit, buf)
	}
}

// subdirs lists the directories in the open directory fd, sorted, leaving out those
// that hold no devices; ok is false if the directory could not be read to its end.
func subdirs(fd int, buf []byte) (names []string, ok bool) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return nil, false
		}
		if n == 0 {
			slices.Sort(names)
			return names, true
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name (NUL-terminated)
			const nameOff = 19
			if len(b) < nameOff {
				return nil, false
			}
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < nameOff || reclen > len(b) {
				return nil, false
			}
			typ, name := b[18], b[nameOff:reclen]
			b = b[reclen:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || string(name) == "." || string(name) == ".." || noDevicesInBytes(name) {
				continue
			}
			switch typ {
			case unix.DT_DIR:
			case unix.DT_UNKNOWN:
				var st unix.Stat_t
				if rawFstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
					continue
				}
			default:
				continue
			}
			names = append(names, string(name))
		}
	}
}

// noDevicesInBytes is noDevicesIn of a name read from a directory.
func noDevicesInBytes(name []byte) bool {
	return string(name) == "power" || bytes.HasPrefix(name, []byte("ep_"))
}
