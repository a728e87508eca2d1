package cli

import (
	"sync/atomic"

	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/enforce"
	"mediagate/internal/hostclient"
	"mediagate/internal/identity"
	"mediagate/internal/notify"
	"mediagate/internal/service"
	"mediagate/internal/udev"
)

type daemonOptions struct {
	Source, OfficerGroup string
	Debug, NoNotify      bool
}

func newDaemonCommand(app *App) *cobra.Command {
	var o daemonOptions
	cmd := &cobra.Command{
		Use: "daemon",
		Example: `  mediagate daemon
  mediagate daemon --socket /run/mediagate/control.sock --officer-group mediagate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return startDaemon(cmd.Context(), app, o) },
	}
	refuseJSON(cmd) // it logs, as text for the journal
	// The paths (sysfs, /dev, udev database, /proc, run directory, socket) are the
	// root command's flags: app.Paths.
	f := cmd.Flags()
	f.StringVar(&o.Source, "source", "", "event source: udev (USB devices from the kernel's uevents, the rest from udevd) or kernel (everything from the kernel); default udev when udevd runs")
	f.StringVar(&o.OfficerGroup, "officer-group", "", "group whose members may change the running daemon besides root")
	f.BoolVar(&o.Debug, "debug", false, "log debug messages")
	f.BoolVar(&o.NoNotify, "no-notify", false, "do not tell desktop users when a medium is blocked")
	return cmd
}

// startDaemon is runDaemon; tests replace it to see what a command line wires.
var startDaemon = runDaemon

// daemonWiring is where the daemon's parts look, all taken from app.Paths.
type daemonWiring struct {
	Roots       identity.Roots
	Enforce     enforce.Config
	ProcRoot    string
	UdevControl string
	Socket      string
}

func wireDaemon(app *App) daemonWiring {
	p := app.Paths
	return daemonWiring{
		Roots:       app.roots(),
		Enforce:     enforce.ConfigFrom(p),
		ProcRoot:    p.Proc,
		UdevControl: filepath.Join(filepath.Dir(p.UdevData), "control"),
		Socket:      p.ControlSocket(),
	}
}

func runDaemon(ctx context.Context, app *App, o daemonOptions) error {
	lvl := slog.LevelInfo
	if o.Debug {
		lvl = slog.LevelDebug
	}
	if err := app.requireHostFile("daemon"); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: lvl}))
	// The daemon starts at install, before host init, and blocks all storage until
	// the host is initialised (fail closed): it may create the register, as host init
	// may; every other command refuses a missing one.
	app.createRegister = true
	// Every row appended to the log wakes the log shipper of an enrolled host.
	var shipper atomic.Pointer[hostclient.Shipper]
	app.appended = func() {
		if s := shipper.Load(); s != nil {
			s.Wake()
		}
	}
	local, err := app.open(ctx)
	if err != nil {
		return err
	}
	var store daemon.Store = local.Store()
	// On a host enrolled with an office server the daemon decides from the verified
	// policy in force, never from the local register (see cmd_office.go).
	office, err := wireOffice(ctx, app, store, log)
	if err != nil {
		return err
	}
	if office != nil {
		shipper.Store(office.shipLog(local))
	}
	var checkIn daemon.VaultStation = service.New(local.Store(), service.Config{Now: app.Now})
	if office != nil {
		// The vault station of an enrolled host reports to the office's campaign.
		store, checkIn = office.store, office.station()
	}
	w := wireDaemon(app)
	if _, err := w.Roots.DiscKey(); err != nil {
		log.Error("optical discs cannot be identified and will be blocked", "err", err)
	}
	enf := enforce.New(w.Enforce, enforce.Ops{}, log)
	mem := tuneMemory(app.Getenv, log)
	wd := daemon.WatchdogInterval(os.Getenv, os.Getpid())
	cfg := daemon.Config{
		Store:    store,
		Enforcer: enf,
		Read:     func(p string) (identity.Device, error) { return identity.ReadDeviceHeld(w.Roots, p) },
		Sys:      w.Roots.Sys,
		Now:      app.Now,
		Log:      log,
		// The vault station runs the check-in of the service, without the post-change
		// nudge: the daemon is the one that would be nudged.
		CheckIn: checkIn,
		Mounts:  daemon.MountConfig{ProcRoot: w.ProcRoot, UdevData: w.Roots.UdevData},
		Notify:  desktopNotifier(ctx, o, log),
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
		cfg.Office, cfg.Decided = office.status, office.decided
	}
	d := daemon.New(cfg)
	// Lock the root hubs before listening, so nothing plugged from now on slips through.
	if err := d.Start(ctx); err != nil {
		return err
	}
	src, err := udev.Open(udev.Options{Source: o.Source, UdevControl: w.UdevControl, Log: log})
	if err != nil {
		return err
	}
	defer src.Close()
	d.SetSource(src, src.Name())

	ln, err := control.Listen(w.Socket)
	if err != nil {
		return err
	}
	ctl := control.NewServer(d.ControlHandler(), o.OfficerGroup, log)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	defer func() { stop(); <-served }() // Serve writes the counted calls' summary rows as it ends
	go func() {
		defer close(served)
		if err := ctl.Serve(sctx, ln); err != nil {
			log.Error("control socket", "err", err)
		}
	}()
	if office != nil {
		followed := make(chan struct{})
		fctx, stopFollow := context.WithCancel(ctx)
		defer func() { stopFollow(); <-followed }()
		go func() { defer close(followed); office.run(fctx, d) }()
	}
	err = d.Run(ctx)
	_ = daemon.Notify("STOPPING=1")
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

// desktopNotifier tells desktop users, in the background and best effort, why a medium
// was blocked (see internal/notify).
func desktopNotifier(ctx context.Context, o daemonOptions, log *slog.Logger) func(daemon.Record) {
	if o.NoNotify {
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

// Memory of a small resident daemon (docs/performance.md, "Memory"), unless the
// environment sets GOGC or GOMEMLIMIT: the collector runs at 50 % heap growth instead of
// 100 % (the live heap is a few MB, so the extra collections cost little CPU and keep
// the resident set small), and a soft memory limit that grows with the register held in
// memory (baseMemoryLimit plus memoryPerMedium for each medium) caps what garbage may
// pile up between collections. After the start-up decisions the memory the start-up
// work used (migrations, enumeration, the index load) is returned to the system once.
const (
	daemonGOGC      = 50
	baseMemoryLimit = 24 << 20
	memoryPerMedium = 2 << 10 // the index holds about 0.7 KiB per medium; twice that for garbage
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

// settled returns the start-up work's memory to the system.
func (m *memoryTuning) settled() { debug.FreeOSMemory() }
