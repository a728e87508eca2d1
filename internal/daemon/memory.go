package daemon

import (
	"bufio"
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"

	"mediagate/internal/registry"
)

// MemoryStatus is the daemon's memory as `mediagate status` shows it: the resident
// set from /proc/self/status, and the Go runtime's share of it by its own figures.
// What the anonymous memory holds beyond the Go runtime is SQLite's (modernc.org/libc
// maps its own regions), the Go runtime's figures being of memory it has mapped and
// not returned, most of it resident.
type MemoryStatus struct {
	RSSKiB  int64 `json:"rss_kib"`
	AnonKiB int64 `json:"anon_kib"`
	FileKiB int64 `json:"file_kib"` // the binary's pages
	// GoHeapKiB is the heap's spans: live and dead objects, unused slots and free
	// pages not yet returned to the system; GoLiveKiB the objects alone, GoFreeKiB
	// the free pages alone (the runtime's scavenger returns them over time).
	GoHeapKiB   int64 `json:"go_heap_kib"`
	GoLiveKiB   int64 `json:"go_objects_kib"`
	GoFreeKiB   int64 `json:"go_free_kib"`
	GoStacksKiB int64 `json:"go_stacks_kib"`
	// GoOtherKiB is the runtime's other memory (its metadata, buffers), part of it
	// mapped but never touched.
	GoOtherKiB int64 `json:"go_other_kib"`
	// SQLiteKiB is what modernc.org/libc holds mapped for SQLite (registry.SQLiteMemory),
	// part of it never touched; absent from a binary built without its counters.
	SQLiteKiB int64 `json:"sqlite_kib,omitempty"`
}

var memoryMetrics = [...]string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/total:bytes",
}

// readMemory reads the daemon's memory figures; the /proc ones are 0 where /proc
// cannot be read.
func readMemory() *MemoryStatus {
	var samples [len(memoryMetrics)]metrics.Sample
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples[:])
	var v [len(memoryMetrics)]int64
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s.Value.Uint64() >> 10)
		}
	}
	objects, unused, free, stacks, released, total := v[0], v[1], v[2], v[3], v[4], v[5]
	m := &MemoryStatus{GoHeapKiB: objects + unused + free, GoLiveKiB: objects, GoFreeKiB: free, GoStacksKiB: stacks}
	m.GoOtherKiB = max(0, total-released-m.GoHeapKiB-stacks)
	m.SQLiteKiB, _ = registry.SQLiteMemory()
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		m.RSSKiB, m.AnonKiB, m.FileKiB = procStatusKiB(b)
	}
	return m
}

// procStatusKiB takes VmRSS, RssAnon and RssFile from the text of /proc/PID/status.
func procStatusKiB(b []byte) (rss, anon, file int64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			continue
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || n < 0 {
			continue
		}
		switch string(k) {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return rss, anon, file
}
