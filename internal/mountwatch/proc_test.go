package mountwatch

import (
	"os"
	"path/filepath"
	"testing"
)

func writeProc(t *testing.T, root, pid string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(root, pid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadProcessAndAttribute(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, "4242", map[string]string{
		"comm":     "mount\n",
		"status":   "Name:\tmount\nUmask:\t0022\nState:\tR (running)\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"loginuid": "1000",
	})
	writeProc(t, root, "77", map[string]string{
		"comm":     "udisksd\n",
		"status":   "Name:\tudisksd\nUid:\t0\t0\t0\t0\n",
		"loginuid": "4294967295",
	})
	writeProc(t, root, "13", map[string]string{"status": "Name:\tx\nUid:\tgarbage\n"})
	users := map[int]string{0: "root", 1000: "alice"}
	lookup := func(uid int) string { return users[uid] }

	tests := []struct {
		pid  int
		want Event
	}{
		{4242, Event{PID: 4242, Comm: "mount", UID: 0, User: "root", LoginUID: 1000, LoginUser: "alice", Attribution: AttributionFanotify}},
		{77, Event{PID: 77, Comm: "udisksd", UID: 0, User: "root", LoginUID: UnknownID, Attribution: AttributionFanotify}},
		{13, Event{PID: 13, UID: UnknownID, LoginUID: UnknownID, Attribution: AttributionFanotify}},
		{99, Event{PID: 99, UID: UnknownID, LoginUID: UnknownID, Attribution: AttributionFanotifyExited}},
	}
	for _, tt := range tests {
		e := Event{UID: UnknownID, LoginUID: UnknownID, Attribution: AttributionNone}
		var p *Process
		if got, err := ReadProcess(root, tt.pid); err == nil {
			p = &got
		}
		attribute(&e, tt.pid, p, lookup)
		if e != tt.want {
			t.Errorf("pid %d:\ngot  %+v\nwant %+v", tt.pid, e, tt.want)
		}
	}
}
