package daemonrun

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"mediagate/internal/service"
	"mediagate/internal/sysfs"
)

// Every part looks where the paths say: nothing of the running system leaks in.
func TestWire(t *testing.T) {
	p := sysfs.Paths{Sys: "/x/sys", Dev: "/x/dev", UdevData: "/x/run/udev/data", Proc: "/x/proc", Run: "/x/run"}
	w := Wire("/x/lib/reg.db", p, nil)
	if w.Roots.Sys != "/x/sys" || w.Roots.Dev != "/x/dev" || w.Roots.UdevData != "/x/run/udev/data" {
		t.Errorf("identity roots %+v", w.Roots.Paths)
	}
	if w.Enforce.Sys != "/x/sys" || w.Enforce.Mountinfo != "/x/proc/self/mountinfo" || w.Enforce.RunDir != "/x/run/allow" {
		t.Errorf("enforcer %+v", w.Enforce)
	}
	if w.ProcRoot != "/x/proc" || w.UdevControl != "/x/run/udev/control" || w.Socket != "/x/run/control.sock" {
		t.Errorf("proc %s, udev control %s, socket %s", w.ProcRoot, w.UdevControl, w.Socket)
	}
	if w.Roots.DiscKey == nil {
		t.Error("no disc key beside an SQLite register")
	}
	// A register that is not a file: the disc key comes from the given reader.
	errKey := errors.New("from the register")
	w = Wire("postgres://u@h/mg", p, func() ([]byte, error) { return nil, errKey })
	if _, err := w.Roots.DiscKey(); !errors.Is(err, errKey) {
		t.Errorf("disc key of a PostgreSQL register: %v", err)
	}
}

// The memory settings apply unless the environment sets its own.
func TestTuneMemory(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	log := slog.New(slog.DiscardHandler)
	m := tuneMemory(func(string) string { return "" }, log)
	if got := debug.SetGCPercent(daemonGOGC); got != daemonGOGC {
		t.Errorf("GOGC %d, want %d", got, daemonGOGC)
	}
	if got := runtime.GOMAXPROCS(2); got != daemonProcs {
		t.Errorf("GOMAXPROCS %d, want %d", got, daemonProcs)
	}
	m.sizeFor(1000)
	if got := debug.SetMemoryLimit(-1); got != baseMemoryLimit+1000*memoryPerMedium {
		t.Errorf("memory limit %d for 1000 media", got)
	}
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	env := map[string]string{"GOGC": "80", "GOMEMLIMIT": "1GiB", "GOMAXPROCS": "2"}
	m = tuneMemory(func(k string) string { return env[k] }, log)
	m.sizeFor(1000)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS from the environment overridden: %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC from the environment overridden: %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("GOMEMLIMIT from the environment overridden: %d", got)
	}
}

// The start's memory line names every figure, with a value from the runtime.
func TestGoMemory(t *testing.T) {
	attrs := goMemory()
	if len(attrs) != 2*len(goMemoryMetrics) {
		t.Fatalf("attributes %v: want one per metric of %d", attrs, len(goMemoryMetrics))
	}
	got := map[string]uint64{}
	for i := 0; i < len(attrs); i += 2 {
		got[attrs[i].(string)] = attrs[i+1].(uint64)
	}
	if got["go_total_kib"] == 0 || got["heap_objects_kib"] == 0 || got["heap_objects_kib"] > got["go_total_kib"] || got["goroutines"] == 0 {
		t.Errorf("memory figures %v", got)
	}
}

// The daemon opens its register with one connection and a bounded page cache.
func TestLocalOptions(t *testing.T) {
	o := localOptions(Config{Paths: sysfs.Paths{Proc: t.TempDir()}})
	if o.Connections != 1 || o.PageCacheKiB != daemonPageCacheKiB || !o.Create {
		t.Errorf("daemon's register options %+v", o)
	}
}

// Run turns transparent huge pages off for the process before anything else, even when
// the register then cannot be opened.
func TestRunDisablesHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("transparent huge pages are a Linux setting")
	}
	if off, err := hugePagesDisabled(); err != nil || off {
		t.Skipf("huge pages already off for the test process (%v): nothing to see", err)
	}
	errOpen := errors.New("no register")
	err := Run(context.Background(), Config{Err: io.Discard,
		Open: func(context.Context) (*service.Local, error) { return nil, errOpen }})
	if !errors.Is(err, errOpen) {
		t.Fatalf("Run = %v, want the open error", err)
	}
	if off, err := hugePagesDisabled(); err != nil || !off {
		t.Errorf("huge pages disabled = %v (%v), want true", off, err)
	}
}
