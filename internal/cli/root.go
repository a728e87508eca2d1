// Package cli holds mediagate's cobra commands, one file per command group. Each
// command's logic is a run function taking an options struct and the App, testable
// without cobra; the cobra wrappers only bind flags.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/daemon"
	"mediagate/internal/identity"
	"mediagate/internal/registry"
)

// DefaultDB is where the registry lives unless --db or MEDIAGATE_DB says otherwise.
const DefaultDB = "/var/lib/mediagate/mediagate.db"

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1 // the command failed; the message says why
	ExitUsage  = 2 // bad flags or arguments
	ExitBroken = 3 // audit verify found a broken log
)

// App is the state shared by all commands of one invocation.
type App struct {
	DBPath string
	JSON   bool
	Lang   string // "en" or "zh"

	// Roots are where device information is read: sysfs, the udev database, /dev.
	// Hidden flags --sysfs-root, --udev-root and --dev-root change them, for tests.
	Roots identity.Roots

	Out, Err io.Writer
	Now      func() time.Time
	Actor    audit.Actor
	Getenv   func(string) string

	store *registry.Store
}

// Store opens the registry on first use.
func (a *App) Store(ctx context.Context) (*registry.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	s, err := registry.Open(ctx, a.DBPath, registry.WithClock(a.Now), registry.WithActor(a.Actor))
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

func (a *App) close() {
	if a.store != nil {
		a.store.Close()
		a.store = nil
	}
}

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a specific exit code with an already printed or given message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// CurrentActor is the real invoking user, with SUDO_USER when present.
func CurrentActor(getenv func(string) string) audit.Actor {
	uid := os.Getuid()
	a := audit.Actor{UID: uid, User: strconv.Itoa(uid), SudoUser: getenv("SUDO_USER")}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		a.User = u.Username
	}
	return a
}

// DetectLang picks the language: MEDIAGATE_LANG, then LC_ALL, LC_MESSAGES, LANG.
func DetectLang(getenv func(string) string) string {
	for _, k := range []string{"MEDIAGATE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return "zh"
			}
			return "en"
		}
	}
	return "en"
}

// NewRootCommand builds the command tree around app.
func NewRootCommand(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "mediagate",
		Short: "Control removable storage media on classified hosts",
		Long: `mediagate keeps the register of classified storage media (USB sticks, disks,
SD cards, optical discs), lets only registered media work on this host, and
logs every change tamper-evidently.

The registry is an SQLite file: --db, or MEDIAGATE_DB, or ` + DefaultDB + `.`,
		Example: `  mediagate host init --number HOST-01 --level secret
  mediagate person add zhangsan --name 张三 --department 办公室
  mediagate media register --kind usb-disk --vendor 0781 --product 5567 --serial 4C530001 --level secret --custodian zhangsan
  mediagate media list
  mediagate audit verify`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if app.Lang != "en" && app.Lang != "zh" {
				return usageMsg("usage.lang", app.Lang)
			}
			if app.Roots.DiscKey == nil {
				// Optical discs are identified under the register's sample key, read
				// (or created) only when a disc is read.
				app.Roots.DiscKey = identity.DiscKeyFile(identity.DiscKeyPath(app.DBPath))
			}
			return nil
		},
	}
	getenv := app.Getenv
	dbDefault := getenv("MEDIAGATE_DB")
	if dbDefault == "" {
		dbDefault = DefaultDB
	}
	root.PersistentFlags().StringVar(&app.DBPath, "db", dbDefault, "registry database file (env MEDIAGATE_DB)")
	root.PersistentFlags().BoolVar(&app.JSON, "json", false, "print machine-readable JSON")
	root.PersistentFlags().StringVar(&app.Lang, "lang", DetectLang(getenv), "language of messages: en or zh (env MEDIAGATE_LANG)")
	roots := identity.DefaultRoots()
	root.PersistentFlags().StringVar(&app.Roots.Sys, "sysfs-root", roots.Sys, "sysfs root (for tests)")
	root.PersistentFlags().StringVar(&app.Roots.UdevData, "udev-root", roots.UdevData, "udev database directory (for tests)")
	root.PersistentFlags().StringVar(&app.Roots.Dev, "dev-root", roots.Dev, "device node directory (for tests)")
	for _, f := range []string{"sysfs-root", "udev-root", "dev-root"} {
		root.PersistentFlags().MarkHidden(f)
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(newPersonCommand(app), newHostCommand(app), newMediaCommand(app), newDevicesCommand(app), newNumberingCommand(app),
		newLogCommand(app), newAuditCommand(app), newVersionCommand(app))
	root.AddCommand(newDaemonCommand(app), newStatusCommand(app))
	root.AddCommand(newCheckinCommand(app))
	markGroups(root)
	for _, path := range [][]string{{"media"}, {"host", "init"}, {"checkin", "close"}, {"checkin", "plug"}} {
		c, _, err := root.Find(path)
		if err != nil {
			continue
		}
		if len(path) == 1 {
			rescanAfter(c.Commands()...) // every media sub-command but list and show
			for _, ro := range []string{"list", "show"} {
				if sub, _, err := c.Find([]string{ro}); err == nil && sub != c {
					delete(sub.Annotations, annotRescan)
				}
			}
			continue
		}
		rescanAfter(c)
	}
	return root
}

// annotRescan marks commands whose change can alter the daemon's decision about a
// medium already plugged in (a registration, a status change, the host profile).
const annotRescan = "mediagate/rescan"

func rescanAfter(cmds ...*cobra.Command) {
	for _, c := range cmds {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[annotRescan] = "yes"
	}
}

// nudgeDaemon asks a running daemon, best effort, to decide every present device
// again, so that the change just made applies to media already plugged in. No daemon,
// or a caller the daemon does not let rescan, is not an error: the next plug decides.
func nudgeDaemon(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = daemon.Call(ctx, daemon.DefaultSocket, daemon.Request{Op: daemon.OpRescan})
}

// markGroups makes every command that only groups sub-commands refuse unknown
// sub-commands with a usage error instead of printing help and succeeding.
func markGroups(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		markGroups(c)
	}
	if cmd.HasParent() && cmd.HasSubCommands() && cmd.RunE == nil && cmd.Run == nil {
		cmd.Args = cobra.NoArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
}

// Version is set at build time with -ldflags "-X mediagate/internal/cli.Version=…".
var Version = "dev"

func newVersionCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the mediagate version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(app.Out, "mediagate", Version)
			return nil
		},
	}
}

// Main runs mediagate with args and returns the exit code. It is all that main calls.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return Run(ctx, &App{Out: stdout, Err: stderr, Now: time.Now, Getenv: getenv, Actor: CurrentActor(getenv)}, args)
}

// Run runs one command line with a prepared App and returns the exit code.
func Run(ctx context.Context, app *App, args []string) int {
	defer app.close()
	stdout, stderr := app.Out, app.Err
	root := NewRootCommand(app)
	lang := langFromArgs(args)
	if lang == "" {
		lang = DetectLang(app.Getenv)
	}
	if lang == "zh" {
		localizeHelp(root)
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		if cmd != nil && cmd.Annotations[annotRescan] != "" {
			nudgeDaemon(ctx)
		}
		return ExitOK
	}
	if errors.Is(err, context.Canceled) {
		return ExitOK // a cancelled context at shutdown is a clean stop
	}
	lang = app.Lang
	if lang != "zh" {
		lang = "en"
	}
	fmt.Fprintln(stderr, "mediagate: "+describe(err, lang))
	var ee exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case isUsage(err):
		return ExitUsage
	}
	return ExitError
}

func isUsage(err error) bool {
	var ue usageError
	if errors.As(err, &ue) {
		return true
	}
	// cobra's own argument and command errors
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
