package regindex

import "syscall"

// stateOf is the status of file, zero when there is none or it cannot be read.
func stateOf(file string) fileState {
	if file == "" {
		return fileState{}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		return fileState{}
	}
	return fileState{ino: st.Ino, size: uint64(st.Size), mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}
}
