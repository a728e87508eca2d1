package registry

import "modernc.org/libc"

// SQLiteMemory is the memory the process's SQLite registers hold mapped: modernc.org/libc
// serves SQLite's allocations from regions it maps itself, outside the Go heap, and
// keeps regions SQLite has freed for reuse. ok is false unless the binary is built with
// the memory.counters tag, without which the allocator keeps no count (mediagated is
// built with it: scripts/lib.sh, build_daemon).
func SQLiteMemory() (kib int64, ok bool) {
	st := libc.MemStat()
	if st.Mmaps <= 0 {
		return 0, false
	}
	return int64(st.Bytes) >> 10, true
}
