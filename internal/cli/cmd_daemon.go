package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/notify"
	"mediagate/internal/udev"
)

type daemonOptions struct {
	Source, OfficerGroup string
	Debug, NoNotify      bool
}

func newDaemonCommand(app *App) *cobra.Command {
	var o daemonOptions
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the enforcement service (as root, normally from systemd)",
		Long: `Run the enforcement service: lock every USB root hub (authorized_default=0), decide
every USB device, disk and disc present and every one plugged later, authorize or block
it, and write one audit row per decision. The control socket answers 'mediagate status'.
Stops cleanly on SIGTERM. See docs/daemon.md.`,
		Example: `  mediagate daemon
  mediagate daemon --socket /run/mediagate/control.sock --officer-group mediagate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return startDaemon(cmd.Context(), app, o) },
	}
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
		Roots:       p,
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
	store, err := app.Store(ctx)
	if err != nil {
		return err
	}
	w := wireDaemon(app)
	enf := enforce.New(w.Enforce, enforce.Ops{}, log)
	d := daemon.New(daemon.Config{
		Store:    store,
		Enforcer: enf,
		Read:     func(p string) (identity.Device, error) { return identity.ReadDevice(w.Roots, p) },
		Sys:      w.Roots.Sys,
		Now:      app.Now,
		Log:      log,
		CheckIn:  store,
		Mounts:   daemon.MountConfig{ProcRoot: w.ProcRoot, UdevData: w.Roots.UdevData},
		Notify:   desktopNotifier(ctx, o, log),
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
	if err := daemon.Notify("READY=1\nSTATUS=enforcing"); err != nil {
		log.Warn("notify systemd", "err", err)
	}
	err = d.Run(ctx)
	_ = daemon.Notify("STOPPING=1")
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

func init() { zhShort["daemon"] = "运行管控服务（以 root 身份，通常由 systemd 启动）" }

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
