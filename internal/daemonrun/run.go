// Package daemonrun starts the enforcement daemon: it opens the register, wires the
// daemon's parts (identity reader, enforcer, event source, control socket, desktop
// notices) from the system's paths and runs it until the context ends. `mediagate
// daemon` (internal/cli) and the small daemon binary (cmd/mediagated) both run it;
// the CLI adds the office wiring of an enrolled host through Config.Office.
//
// It imports no front-end (no cobra, no office server, no spreadsheets), so that the
// daemon binary stays small in memory (docs/performance.md, "Memory").
package daemonrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/mountwatch"
	"mediagate/internal/notify"
	"mediagate/internal/service"
	"mediagate/internal/sysfs"
	"mediagate/internal/udev"
)

// Config is one daemon's command line and environment.
type Config struct {
	// DBPath is the register: an SQLite file or a postgres:// URL.
	DBPath string
	// Paths are where the system is (sysfs, /dev, udev database, /proc, run
	// directory, control socket).
	Paths sysfs.Paths
	// Source is the event source: "udev", "kernel" or "" (udev when udevd runs).
	Source       string
	OfficerGroup string
	Debug        bool
	NoNotify     bool
	Now          func() time.Time
	Getenv       func(string) string
	// Err takes the log (text, for the journal).
	Err io.Writer
	// Open opens the register (default: service.OpenLocal of DBPath, created when
	// missing, as the process's user); Run closes it only when it opened it itself.
	Open func(ctx context.Context) (*service.Local, error)
	// Office, when set, wires an enrolled host to its office server; it returns nil
	// for a host that is not enrolled.
	Office func(ctx context.Context, local *service.Local, log *slog.Logger) (*Office, error)
}

// Office is the daemon's wiring on a host enrolled with an office server: decisions
// read the verified policy in force (Store), not the local register.
type Office struct {
	Store daemon.Store
	// Station is the vault station's check-in on an enrolled host (it reports to the
	// office's campaign); nil for none.
	Station daemon.VaultStation
	Status  func() *daemon.OfficeStatus
	Decided func(daemon.Record)
	// Run follows the office until ctx ends (policy updates, reports).
	Run func(ctx context.Context, d *daemon.Daemon)
}

// Wiring is where the daemon's parts look, all taken from Config.Paths.
type Wiring struct {
	Roots       identity.Roots
	Enforce     enforce.Config
	ProcRoot    string
	UdevControl string
	Socket      string
}

// Wire returns where the daemon's parts look. discKey is the register's disc sample
// key reader for a register that is not a file (nil: open it on first use).
func Wire(dbPath string, p sysfs.Paths, discKey func() ([]byte, error)) Wiring {
	roots := identity.Roots{Paths: p, DiscKey: discKey}
	if file, ok := service.SQLiteFile(dbPath); ok {
		roots.DiscKey = identity.DiscKeyFile(identity.DiscKeyPath(file))
	}
	return Wiring{
		Roots:       roots,
		Enforce:     enforce.ConfigFrom(p),
		ProcRoot:    p.Proc,
		UdevControl: filepath.Join(filepath.Dir(p.UdevData), "control"),
		Socket:      p.ControlSocket(),
	}
}

// Run opens the register and runs the daemon until ctx ends (a clean stop, nil).
func Run(ctx context.Context, c Config) error {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Err == nil {
		c.Err = os.Stderr
	}
	lvl := slog.LevelInfo
	if c.Debug {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.Err, &slog.HandlerOptions{Level: lvl}))
	// Before the heap and SQLite's memory grow (memoryTuning has the rest).
	if err := disableHugePages(); err != nil {
		log.Warn("transparent huge pages stay on for the daemon", "err", err)
	}
	open := c.Open
	if open == nil {
		open = func(ctx context.Context) (*service.Local, error) {
			// The daemon starts at install, before host init, and blocks all storage
			// until the host is initialised (fail closed): it may create the register,
			// as host init may; every other command refuses a missing one.
			return service.OpenLocal(ctx, c.DBPath, localOptions(c))
		}
	}
	local, err := open(ctx)
	if err != nil {
		return err
	}
	if c.Open == nil {
		defer local.Close()
	}
	var store daemon.Store = local.Store()
	// On a host enrolled with an office server the daemon decides from the verified
	// policy in force, never from the local register (see internal/cli, cmd_office.go).
	var office *Office
	if c.Office != nil {
		if office, err = c.Office(ctx, local, log); err != nil {
			return err
		}
	}
	var checkIn daemon.VaultStation = service.New(local.Store(), service.Config{Now: c.Now})
	if office != nil {
		store, checkIn = office.Store, office.Station
	}
	w := Wire(c.DBPath, c.Paths, local.DiscKey)
	if _, err := w.Roots.DiscKey(); err != nil {
		log.Error("optical discs cannot be identified and will be blocked", "err", err)
	}
	enf := enforce.New(w.Enforce, enforce.Ops{}, log)
	mem := tuneMemory(c.Getenv, log)
	wd := daemon.WatchdogInterval(c.Getenv, os.Getpid())
	cfg := daemon.Config{
		Store:    store,
		Enforcer: enf,
		Read:     func(p string) (identity.Device, error) { return identity.ReadDeviceHeld(w.Roots, p) },
		ReadEvent: func(p string, uevent map[string]string) (identity.Device, error) {
			return identity.ReadUSBEventHeld(w.Roots, p, uevent)
		},
		Sys: w.Roots.Sys,
		Now: c.Now,
		Log: log,
		// The vault station runs the check-in of the service, without the post-change
		// nudge: the daemon is the one that would be nudged.
		CheckIn: checkIn,
		Mounts:  daemon.MountConfig{ProcRoot: w.ProcRoot, UdevData: w.Roots.UdevData},
		Notify:  desktopNotifier(ctx, c.NoNotify, log),
		// Type=notify: READY=1 only once every device present at start is decided,
		// so `systemctl start mediagate` returns with all of them decided.
		Ready: func() {
			if err := daemon.Notify("READY=1\nSTATUS=enforcing"); err != nil {
				log.Warn("notify systemd", "err", err)
			}
			mem.settled()
		},
		// Decisions read the register from memory; the index follows the register's
		// audit log and reloads on every rescan.
		Index:       local.DecisionIndex(),
		IndexLoaded: mem.sizeFor,
		Watchdog:    wd,
		Ping: func() {
			if err := daemon.Notify("WATCHDOG=1"); err != nil {
				log.Warn("watchdog ping", "err", err)
			}
		},
	}
	if office != nil {
		// The policy in force is already in memory, and it, not the local register,
		// answers the decisions' reads.
		cfg.Index, cfg.IndexLoaded = nil, nil
		cfg.Office, cfg.Decided = office.Status, office.Decided
	}
	d := daemon.New(cfg)
	// Lock the root hubs before listening, so nothing plugged from now on slips through.
	if err := d.Start(ctx); err != nil {
		return err
	}
	src, err := udev.Open(udev.Options{Source: c.Source, UdevControl: w.UdevControl, Sys: w.Roots.Sys, UdevData: w.Roots.UdevData, Log: log})
	if err != nil {
		return err
	}
	defer src.Close()
	d.SetSource(src, src.Name())

	ln, err := control.Listen(w.Socket)
	if err != nil {
		return err
	}
	ctl := control.NewServer(d.ControlHandler(), c.OfficerGroup, log)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	defer func() { stop(); <-served }() // Serve writes the counted calls' summary rows as it ends
	go func() {
		defer close(served)
		if err := ctl.Serve(sctx, ln); err != nil {
			log.Error("control socket", "err", err)
		}
	}()
	if office != nil && office.Run != nil {
		followed := make(chan struct{})
		fctx, stopFollow := context.WithCancel(ctx)
		defer func() { stopFollow(); <-followed }()
		go func() { defer close(followed); office.Run(fctx, d) }()
	}
	err = d.Run(ctx)
	_ = daemon.Notify("STOPPING=1")
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

// localOptions are how the daemon opens its register: as the process's user, created
// when missing, with a small page cache and one connection.
func localOptions(c Config) service.LocalOptions {
	return service.LocalOptions{Now: c.Now, Actor: ProcessActor(c.Paths.Proc), Create: true,
		PageCacheKiB: daemonPageCacheKiB, Connections: daemonConnections}
}

// ProcessActor is who runs this process, as the kernel tells it: the real uid, and the
// person who logged in behind it (the audit login uid in <procRoot>/<pid>/loginuid,
// which sudo and su keep) when that is someone else; procRoot "" is the default /proc.
// The environment (SUDO_USER and the like) is never consulted: whoever runs the
// process sets it. The command line (cli.CurrentActor) and the daemon share it.
func ProcessActor(procRoot string) audit.Actor {
	uid := os.Getuid()
	a := audit.Actor{UID: uid, User: UserName(uid)}
	if procRoot == "" {
		procRoot = sysfs.DefaultProc
	}
	p, err := mountwatch.ReadProcess(procRoot, os.Getpid())
	if err == nil && p.LoginUID != mountwatch.UnknownID && p.LoginUID != uid {
		a.Login = UserName(p.LoginUID)
	}
	return a
}

// UserName is the account name of uid, or the number when it has none.
func UserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// desktopNotifier tells desktop users, in the background and best effort, why a medium
// was blocked (see internal/notify).
func desktopNotifier(ctx context.Context, off bool, log *slog.Logger) func(daemon.Record) {
	if off {
		return nil
	}
	sender := notify.New(log)
	return func(r daemon.Record) {
		go func() {
			if err := sender.Send(ctx, r.Message); err != nil {
				log.Debug("desktop notification", "err", err)
			}
		}()
	}
}

// Memory of a small resident daemon (docs/performance.md, "Memory"): no transparent
// huge pages (RestartWithoutHugePages in mediagated's main, disableHugePages at the
// start of Run), and, unless the environment sets GOGC or GOMEMLIMIT: the collector
// runs at 25 % heap growth instead of 100 % (the live heap is a few MB, so the extra
// collections cost little CPU and keep the resident set small: in the test guest,
// against 50 %, the Go heap 0.4–0.6 MB smaller after 100 plugs and the run time per
// plug the same 1.6 million instructions), and a soft memory limit that grows with the register held in
// memory (baseMemoryLimit plus memoryPerMedium for each medium) caps what garbage may
// pile up between collections. After the start-up decisions the memory the start-up
// work used (migrations, enumeration, the index load) is returned to the system once.
//
// The daemon also runs its goroutines on one processor (GOMAXPROCS 1) unless the
// environment sets GOMAXPROCS: it handles one event at a time, and a second processor
// only gives the runtime an idle one to wake threads for around each event. In the test
// guest it took the daemon's system calls per plug from 532 to 518 (allowed) and 356 to
// 316 (blocked), and its threads from 9–10 to 8 (docs/performance.md). A goroutine
// blocked in a system call still lets the others run on another thread.
const (
	daemonProcs = 1
	// daemonPageCacheKiB is SQLite's page cache per connection: the decisions read the
	// register from memory, so the cache serves only the change check and the appends
	// to the log (the last pages of the log and its three indexes, about a dozen), and
	// must not grow with the log (SQLite's default is 2,000 KiB). At 256 KiB the cache
	// filled over the first hundred plugs and SQLite mapped a second megabyte, 0.6 MB
	// more resident at the 200th plug in the test guest, with the commit's CPU the same
	// at 64 (docs/performance.md, "What changed (2 December, early morning)").
	daemonPageCacheKiB = 64
	// daemonConnections is the daemon's pool of SQLite connections, the log's appends
	// included: each one parses the schema (about 0.1 s of CPU in the test guest) and
	// holds about 1 MB of SQLite's memory, and the daemon's loop, its mount log and
	// its control calls can take turns (registry.WithConnections).
	daemonConnections = 1
	daemonGOGC        = 25
	baseMemoryLimit   = 24 << 20
	memoryPerMedium   = 2 << 10 // the index holds about 0.7 KiB per medium; twice that for garbage
)

type memoryTuning struct {
	limit bool // the memory limit is ours to set
	log   *slog.Logger
	last  int64
}

func tuneMemory(getenv func(string) string, log *slog.Logger) *memoryTuning {
	m := &memoryTuning{limit: getenv("GOMEMLIMIT") == "", log: log}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGOGC)
	}
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(daemonProcs)
	}
	m.sizeFor(0)
	return m
}

// sizeFor sets the soft memory limit for an index of n media.
func (m *memoryTuning) sizeFor(n int) {
	if !m.limit {
		return
	}
	limit := int64(baseMemoryLimit) + int64(n)*memoryPerMedium
	if limit != m.last {
		debug.SetMemoryLimit(limit)
		m.last = limit
		m.log.Debug("memory limit", "bytes", limit, "media", n)
	}
}

// settled returns the start-up work's memory to the system and logs where the
// daemon's memory is (what the Go runtime holds; the rest of the resident anonymous
// memory is SQLite's, allocated by modernc.org/libc outside the Go heap).
func (m *memoryTuning) settled() {
	debug.FreeOSMemory()
	m.log.Info("memory at start", goMemory()...)
}

// goMemoryMetrics are the runtime's figures logged by goMemory, with their names in
// the log.
var goMemoryMetrics = []struct{ metric, key string }{
	{"/memory/classes/heap/objects:bytes", "heap_objects_kib"},
	{"/memory/classes/heap/unused:bytes", "heap_unused_kib"},
	{"/memory/classes/heap/free:bytes", "heap_free_kib"},
	{"/memory/classes/heap/released:bytes", "heap_released_kib"},
	{"/memory/classes/heap/stacks:bytes", "stacks_kib"},
	{"/memory/classes/total:bytes", "go_total_kib"},
	{"/sched/goroutines:goroutines", "goroutines"},
}

// goMemory reads the runtime's memory figures as log attributes (KiB).
func goMemory() []any {
	samples := make([]metrics.Sample, len(goMemoryMetrics))
	for i, m := range goMemoryMetrics {
		samples[i].Name = m.metric
	}
	metrics.Read(samples)
	attrs := make([]any, 0, 2*len(samples))
	for i, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		v := s.Value.Uint64()
		if strings.HasSuffix(goMemoryMetrics[i].metric, ":bytes") {
			v >>= 10
		}
		attrs = append(attrs, goMemoryMetrics[i].key, v)
	}
	return attrs
}
