package mountwatch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopImage is a small ext4 image that tests loop-mount for real.
type loopImage struct {
	img, dir string
}

// newLoopImage makes an ext4 image, or skips the test saying why it cannot.
func newLoopImage(t testing.TB) *loopImage {
	t.Helper()
	if os.Getenv("MEDIAGATE_ROOT_TESTS") != "1" {
		t.Skip("loop-mount test skipped: set MEDIAGATE_ROOT_TESTS=1 as root (scripts/test.sh does when root)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to loop-mount an ext4 image")
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed (e2fsprogs)")
	}
	dir := t.TempDir()
	li := &loopImage{img: filepath.Join(dir, "stick.img"), dir: dir}
	if err := os.WriteFile(li.img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(li.img, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "MGTEST", li.img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4 failed: %v: %s", err, out)
	}
	// Registered before any mount so it runs on every path, before
	// t.TempDir removes the directory.
	t.Cleanup(li.cleanup)
	return li
}

// point returns a fresh mount point under the image's directory.
func (li *loopImage) point(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(li.dir, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// mount runs mount(8) for the image (loop) or with args; the first failure
// to loop-mount skips the test.
func (li *loopImage) mount(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		if len(args) > 0 && strings.Contains(strings.Join(args, " "), "loop") {
			t.Skipf("loop mount failed (no loop devices or no ext4 in this kernel?): %v: %s", err, out)
		}
		t.Fatalf("mount %v: %v: %s", args, err, out)
	}
}

func (li *loopImage) umount(t testing.TB, point string) {
	t.Helper()
	if out, err := exec.Command("umount", point).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v: %s", point, err, out)
	}
}

// cleanup lazily unmounts everything under dir (deepest first) and detaches
// any loop device still backed by the image.
func (li *loopImage) cleanup() {
	if ms, err := CurrentMounts("/proc"); err == nil {
		for i := len(ms) - 1; i >= 0; i-- {
			if strings.HasPrefix(ms[i].MountPoint, li.dir+"/") {
				_ = unix.Unmount(ms[i].MountPoint, unix.MNT_DETACH)
			}
		}
	}
	out, _ := exec.Command("losetup", "-j", li.img).Output()
	for _, line := range strings.Split(string(out), "\n") {
		if dev, _, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(dev, "/dev/loop") {
			_ = exec.Command("losetup", "-d", dev).Run()
		}
	}
}

func TestWatcherRealMounts(t *testing.T) {
	for _, method := range []Method{MethodPoll, MethodFanotify} {
		t.Run(string(method), func(t *testing.T) {
			li := newLoopImage(t)
			mnt, bind := li.point(t, "media stick"), li.point(t, "bind")
			clock := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
			w, err := Open(Options{Method: method,
				Now:  func() time.Time { return clock },
				Keep: func(m Mount) bool { return strings.HasPrefix(m.MountPoint, li.dir+"/") }})
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
				t.Skipf("kernel has no fanotify mount events: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Method() != method {
				t.Fatalf("Method() = %s, want %s", w.Method(), method)
			}
			var id, bindID int
			var dev string
			idOf := func(t *testing.T, point string) int {
				for _, m := range mustCurrent(t) {
					if m.MountPoint == point {
						dev = m.Source
						return m.ID
					}
				}
				t.Fatalf("%s not in the mount table", point)
				return 0
			}
			events := sourceSuite(t, w, []step{
				{"mount", func(t *testing.T) { li.mount(t, "-o", "loop", li.img, mnt); id = idOf(t, mnt) },
					func() []brief { return []brief{{KindMount, id, dev, mnt, false}} }},
				{"remount ro", func(t *testing.T) { li.mount(t, "-o", "remount,ro", mnt) },
					func() []brief { return []brief{{KindRemountRO, id, dev, mnt, true}} }},
				{"remount rw", func(t *testing.T) { li.mount(t, "-o", "remount,rw", mnt) },
					func() []brief { return []brief{{KindRemountRW, id, dev, mnt, false}} }},
				{"bind", func(t *testing.T) { li.mount(t, "--bind", mnt, bind); bindID = idOf(t, bind) },
					func() []brief { return []brief{{KindMount, bindID, dev, bind, false}} }},
				{"unmount bind", func(t *testing.T) { li.umount(t, bind) },
					func() []brief { return []brief{{KindUnmount, bindID, dev, bind, false}} }},
				{"unmount", func(t *testing.T) { li.umount(t, mnt) },
					func() []brief { return []brief{{KindUnmount, id, dev, mnt, false}} }},
			})
			if !strings.HasPrefix(dev, "/dev/loop") {
				t.Errorf("source %q, want a loop device", dev)
			}
			for _, e := range events {
				if !e.Time.Equal(clock) || e.FSType != "ext4" || e.Major != 7 {
					t.Errorf("%s: time %v fstype %q device %s", e.Kind, e.Time, e.FSType, e.Device())
				}
				wantWho := method == MethodFanotify && (e.Kind == KindMount || e.Kind == KindUnmount)
				switch {
				case !wantWho && (e.Attribution != AttributionNone || e.PID != 0):
					t.Errorf("%s: attribution %q pid %d, want none", e.Kind, e.Attribution, e.PID)
				case wantWho && e.PID <= 0:
					t.Errorf("%s: no pid from fanotify (attribution %q)", e.Kind, e.Attribution)
				case wantWho && e.Attribution == AttributionFanotify:
					if want := map[Kind]string{KindMount: "mount", KindUnmount: "umount"}[e.Kind]; e.Comm != want || e.UID != 0 || e.User != "root" {
						t.Errorf("%s: comm %q uid %d user %q, want %q uid 0 root", e.Kind, e.Comm, e.UID, e.User, want)
					}
				case wantWho && e.Attribution != AttributionFanotifyExited:
					t.Errorf("%s: attribution %q", e.Kind, e.Attribution)
				}
			}
		})
	}
}

func TestOpenBadProcRoot(t *testing.T) {
	if _, err := Open(Options{ProcRoot: t.TempDir(), Method: MethodPoll}); err == nil {
		t.Error("Open with an empty proc root: want an error")
	}
	if _, err := Open(Options{Method: "carrier-pigeon"}); err == nil {
		t.Error("unknown method: want an error")
	}
}

func TestStatmountMatchesMountinfo(t *testing.T) {
	ids, err := uniqueMountIDs()
	if err != nil {
		t.Skipf("listmount/statmount unavailable (kernel < 6.8?): %v", err)
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, "/", 0, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		t.Skipf("statx STATX_MNT_ID_UNIQUE unavailable: %v", err)
	}
	var rootID int
	for _, m := range mustCurrent(t) {
		if m.MountPoint == "/" {
			rootID = m.ID
		}
	}
	if rootID == 0 {
		t.Skip("/ is not a mount point in this mount table (running in a chroot)")
	}
	if got, ok := ids[stx.Mnt_id]; !ok || got != rootID {
		t.Errorf("unique id %d of / maps to %d (found %v), mountinfo says %d", stx.Mnt_id, got, ok, rootID)
	}
}

func mustCurrent(t *testing.T) []Mount {
	t.Helper()
	ms, err := CurrentMounts("/proc")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
