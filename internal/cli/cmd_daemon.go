package cli

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/spf13/cobra"

	"mediagate/internal/daemonrun"
	"mediagate/internal/hostclient"
	"mediagate/internal/service"
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
type daemonWiring = daemonrun.Wiring

func wireDaemon(app *App) daemonWiring {
	return daemonrun.Wire(app.DBPath, app.Paths, app.roots().DiscKey)
}

// runDaemon runs the daemon (internal/daemonrun) on the App's register, with the
// office wiring of an enrolled host (cmd_office.go). The small daemon binary,
// cmd/mediagated, runs the same without the CLI around it.
func runDaemon(ctx context.Context, app *App, o daemonOptions) error {
	if err := app.requireHostFile("daemon"); err != nil {
		return err
	}
	// Every row appended to the log wakes the log shipper of an enrolled host.
	var shipper atomic.Pointer[hostclient.Shipper]
	app.appended = func() {
		if s := shipper.Load(); s != nil {
			s.Wake()
		}
	}
	return daemonrun.Run(ctx, daemonrun.Config{
		DBPath: app.DBPath, Paths: app.Paths,
		Source: o.Source, OfficerGroup: o.OfficerGroup, Debug: o.Debug, NoNotify: o.NoNotify,
		Now: app.Now, Getenv: app.Getenv, Err: app.Err,
		Open: func(ctx context.Context) (*service.Local, error) {
			// The daemon starts at install, before host init, and blocks all storage
			// until the host is initialised (fail closed): it may create the register,
			// as host init may; every other command refuses a missing one.
			app.createRegister = true
			return app.open(ctx)
		},
		// On a host enrolled with an office server the daemon decides from the
		// verified policy in force, never from the local register (see cmd_office.go).
		Office: func(ctx context.Context, local *service.Local, log *slog.Logger) (*daemonrun.Office, error) {
			office, err := wireOffice(ctx, app, local.Store(), log)
			if office == nil || err != nil {
				return nil, err
			}
			shipper.Store(office.shipLog(local))
			// The vault station of an enrolled host reports to the office's campaign.
			return &daemonrun.Office{Store: office.store, Station: office.station(), Status: office.status,
				Decided: office.decided, Run: office.run}, nil
		},
	})
}
