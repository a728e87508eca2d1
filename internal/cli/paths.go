package cli

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"mediagate/internal/control"
	"mediagate/internal/identity"
	"mediagate/internal/service"
	"mediagate/internal/sysfs"
)

// bindPathFlags binds one global flag per path of app.Paths. The defaults are what
// app.Paths already holds (a test's App sets them), else MEDIAGATE_SOCKET for the
// socket, else the running system's places. The root flags are hidden (they are for
// tests and chroots), except --socket, which status, devices and daemon document.
// No sub-command defines a flag of the same name, so none shadows these.
func bindPathFlags(fs *pflag.FlagSet, app *App) {
	def := sysfs.DefaultPaths()
	p := &app.Paths
	or := func(v, d string) string {
		if v != "" {
			return v
		}
		return d
	}
	socket := p.Socket
	if socket == "" && app.Getenv != nil {
		socket = app.Getenv("MEDIAGATE_SOCKET")
	}
	fs.StringVar(&p.Sys, "sysfs-root", or(p.Sys, def.Sys), "sysfs root (for tests)")
	fs.StringVar(&p.UdevData, "udev-root", or(p.UdevData, def.UdevData), "udev database directory (for tests)")
	fs.StringVar(&p.Dev, "dev-root", or(p.Dev, def.Dev), "device node directory (for tests)")
	fs.StringVar(&p.Proc, "proc-root", or(p.Proc, def.Proc), "procfs root (for tests)")
	fs.StringVar(&p.Run, "run-dir", or(p.Run, def.Run), "run directory: automounter markers in <run-dir>/allow, the control socket by default")
	fs.StringVar(&p.Socket, "socket", socket, "control socket of the daemon (env MEDIAGATE_SOCKET; default <run-dir>/control.sock)")
	for _, f := range []string{"sysfs-root", "udev-root", "dev-root", "proc-root", "run-dir"} {
		_ = fs.MarkHidden(f)
	}
}

// socketGuard, when set, is told every control socket path the CLI is about to dial;
// the package's tests use it to prove that no unit test reaches the system's daemon.
var socketGuard func(path string)

// callDaemon sends one request to the daemon at app.Paths' control socket.
func (a *App) callDaemon(ctx context.Context, req control.Request) (control.Response, error) {
	path := a.Paths.ControlSocket()
	if socketGuard != nil {
		socketGuard(path)
	}
	return control.Call(ctx, path, req)
}

// nudgeDaemon asks a running daemon, best effort, to decide every present device
// again, so that the change just made applies to media already plugged in. No daemon,
// or a caller the daemon does not let rescan, is not an error: the next plug decides.
func nudgeDaemon(ctx context.Context, app *App) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = app.callDaemon(ctx, control.Request{Op: control.OpRescan})
}

// roots are where the identity reader looks, with the register's disc sample key (read,
// or created, only when a disc is read): the file beside an SQLite register, or kept in
// a PostgreSQL register (service.Local.DiscKey).
func (a *App) roots() identity.Roots {
	if file, ok := service.SQLiteFile(a.DBPath); ok {
		return identity.Roots{Paths: a.Paths, DiscKey: identity.DiscKeyFile(identity.DiscKeyPath(file))}
	}
	return identity.Roots{Paths: a.Paths, DiscKey: func() ([]byte, error) {
		l, err := a.open(context.Background())
		if err != nil {
			return nil, err
		}
		return l.DiscKey()
	}}
}
