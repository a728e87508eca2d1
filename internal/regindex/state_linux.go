package regindex

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// stateOf is the status of file, zero when there is none or it cannot be read. The
// daemon asks before each event's first register read, so the stat is a raw system
// call: made the ordinary way, it would wake the Go runtime's monitor thread on every
// event (sysfs/raw_linux.go says why that costs). The register's WAL is a local file
// that SQLite holds open, so the call waits for nothing.
func stateOf(file string) fileState {
	if file == "" {
		return fileState{}
	}
	p, err := unix.BytePtrFromString(file)
	if err != nil {
		return fileState{}
	}
	var st unix.Stat_t
	cwd := unix.AT_FDCWD
	if _, _, e := unix.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(cwd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&st)), 0, 0, 0); e != 0 {
		return fileState{}
	}
	return fileState{ino: st.Ino, size: uint64(st.Size), mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}
}
