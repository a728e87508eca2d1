package mountwatch

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var updateAudit = flag.Bool("update-audit", false, "write the audit records of TestKernelAuditRealMounts to testdata/audit/")

// openAuditOrSkip opens the kernel audit reader, or skips saying why it cannot.
func openAuditOrSkip(t *testing.T) *KernelAudit {
	t.Helper()
	k, err := OpenAudit(AuditOptions{Enable: true})
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, ErrAuditLocked) {
		t.Skipf("kernel audit not usable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return k
}

// TestKernelAuditRealMounts: with the poll watcher (no pid at all), the audit records
// name mount(8)/umount(8), uid 0, for mount, remount and unmount of a loop device.
func TestKernelAuditRealMounts(t *testing.T) {
	li := newLoopImage(t)
	k := openAuditOrSkip(t)
	var mu sync.Mutex
	var raw []string
	k.mu.Lock()
	k.tap = func(typ uint16, data []byte) {
		mu.Lock()
		raw = append(raw, fmt.Sprintf("%d %s", typ, strings.TrimRight(string(data), "\x00\n")))
		mu.Unlock()
	}
	k.mu.Unlock()
	mnt := li.point(t, "audited")
	w, err := Open(Options{Method: MethodPoll, Keep: func(m Mount) bool { return strings.HasPrefix(m.MountPoint, li.dir+"/") }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	next := func(want Kind) Event {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev, err := w.Next(ctx)
		if err != nil || ev.Kind != want {
			t.Fatalf("next event: %v %v, want %v", ev.Kind, err, want)
		}
		return ev
	}
	steps := []struct {
		run     func()
		kind    Kind
		syscall []string
	}{
		{func() { li.mount(t, "-o", "loop", li.img, mnt) }, KindMount, []string{"mount", "move_mount"}},
		{func() { li.mount(t, "-o", "remount,ro", mnt) }, KindRemountRO, []string{"mount", "mount_setattr"}},
		{func() { li.umount(t, mnt) }, KindUnmount, []string{"umount2", "umount"}},
	}
	for _, s := range steps {
		s.run()
		ev := next(s.kind)
		start := time.Now()
		found := k.Attribute(context.Background(), &ev, 2*time.Second)
		waited := time.Since(start)
		if !found {
			mu.Lock()
			t.Fatalf("%v of %s: no audit record; records seen:\n%s", ev.Kind, ev.MountPoint, strings.Join(raw, "\n"))
		}
		if ev.Attribution != AttributionAudit || ev.UID != 0 || ev.PID == 0 || ev.AuditID == "" ||
			!strings.Contains(strings.Join(s.syscall, " "), ev.Syscall) || !strings.HasSuffix(ev.Exe, "mount") {
			t.Errorf("%v: %+v", ev.Kind, ev)
		}
		t.Logf("%v: syscall %s comm %q exe %q pid %d uid %d auid %d id %s; record waited for %v after the event", ev.Kind, ev.Syscall,
			ev.Comm, ev.Exe, ev.PID, ev.UID, ev.LoginUID, ev.AuditID, waited)
	}
	if *updateAudit {
		mu.Lock()
		defer mu.Unlock()
		out := filepath.Join("testdata", "audit", "mount-remount-umount.txt")
		os.MkdirAll(filepath.Dir(out), 0o755)
		if err := os.WriteFile(out, []byte(strings.Join(raw, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
