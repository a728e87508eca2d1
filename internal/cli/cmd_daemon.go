package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/enforce"
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
	f.StringVar(&o.Source, "source", "", "event source: udev or kernel (default: udev when udevd runs)")
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
	log := slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: lvl}))
	// The daemon starts at install, before host init, and blocks all storage until
	// the host is initialised (fail closed): it may create the register, as host init
	// may; every other command refuses a missing one.
	app.createRegister = true
	local, err := app.open(ctx)
	if err != nil {
		return err
	}
	store := local.Store()
	w := wireDaemon(app)
	if _, err := w.Roots.DiscKey(); err != nil {
		log.Error("optical discs cannot be identified and will be blocked", "err", err)
	}
	enf := enforce.New(w.Enforce, enforce.Ops{}, log)
	wd := daemon.WatchdogInterval(os.Getenv, os.Getpid())
	d := daemon.New(daemon.Config{
		Store:    store,
		Enforcer: enf,
		Read:     func(p string) (identity.Device, error) { return identity.ReadDeviceHeld(w.Roots, p) },
		Sys:      w.Roots.Sys,
		Now:      app.Now,
		Log:      log,
		// The vault station runs the check-in of the service, without the post-change
		// nudge: the daemon is the one that would be nudged.
		CheckIn: service.New(store, service.Config{Now: app.Now}),
		Mounts:  daemon.MountConfig{ProcRoot: w.ProcRoot, UdevData: w.Roots.UdevData},
		Notify:  desktopNotifier(ctx, o, log),
		// Type=notify: READY=1 only once every device present at start is decided,
		// so `systemctl start mediagate` returns with all of them decided.
		Ready: func() {
			if err := daemon.Notify("READY=1\nSTATUS=enforcing"); err != nil {
				log.Warn("notify systemd", "err", err)
			}
		},
		Watchdog: wd,
		Ping: func() {
			if err := daemon.Notify("WATCHDOG=1"); err != nil {
				log.Warn("watchdog ping", "err", err)
			}
		},
	})
	// Lock the root hubs before listening, so nothing plugged from now on slips through.
	if err := d.Start(ctx); err != nil {
		return err
	}
	src, err := udev.Open(udev.Options{Source: o.Source, UdevControl: w.UdevControl})
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
