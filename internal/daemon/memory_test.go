package daemon

import "testing"

func TestProcStatusKiB(t *testing.T) {
	text := "Name:\tmediagated\nVmRSS:\t   14120 kB\nRssAnon:\t    6412 kB\nRssFile:\t    7708 kB\nRssShmem:\t       0 kB\nThreads:\t7\n"
	if rss, anon, file := procStatusKiB([]byte(text)); rss != 14120 || anon != 6412 || file != 7708 {
		t.Errorf("procStatusKiB = %d, %d, %d", rss, anon, file)
	}
	if rss, anon, file := procStatusKiB([]byte("VmRSS:\t12 MB\nRssAnon:\t-5 kB\nRssFile: x kB\n")); rss != 0 || anon != 0 || file != 0 {
		t.Errorf("bad figures read as %d, %d, %d", rss, anon, file)
	}
}

// The status carries the daemon's memory: the Go runtime's figures always, the
// resident set where /proc can be read.
func TestStatusHasMemory(t *testing.T) {
	b := newBed(t, secretHost())
	m := b.d.Status().Memory
	if m == nil {
		t.Fatal("no memory in the status")
	}
	if m.GoHeapKiB <= 0 || m.GoLiveKiB <= 0 || m.GoLiveKiB > m.GoHeapKiB || m.GoStacksKiB <= 0 {
		t.Errorf("Go figures %+v", m)
	}
	if m.RSSKiB > 0 && (m.AnonKiB <= 0 || m.AnonKiB+m.FileKiB > m.RSSKiB+64) {
		t.Errorf("resident figures %+v", m)
	}
}
