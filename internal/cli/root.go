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
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/service"
	"mediagate/internal/sysfs"
)

// DefaultDB is where the registry lives unless --db or MEDIAGATE_DB says otherwise.
const DefaultDB = "/var/lib/mediagate/mediagate.db"

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1 // the command failed; the message says why
	ExitUsage  = 2 // bad flags or arguments
	ExitBroken = 3 // audit verify found a broken log
	// ExitInterrupted: Ctrl-C or SIGTERM stopped the command (128 + SIGINT). A change
	// it was making was not committed.
	ExitInterrupted = 130
)

// App is the state shared by all commands of one invocation.
type App struct {
	DBPath string
	JSON   bool
	Lang   string // "en" or "zh"

	// Paths are where mediagate finds the system: sysfs, /dev, the udev database,
	// /proc, its run directory and the daemon's control socket. One global flag each
	// changes them (see bindPathFlags); a test's App may preset them.
	Paths sysfs.Paths

	Out, Err io.Writer
	// In is where a confirmation is read from (confirm); nil is no input at all.
	In     io.Reader
	Now    func() time.Time
	Actor  audit.Actor
	Getenv func(string) string
	// Changed is called after a committed change that can alter the daemon's decision
	// about a medium already plugged in (service.Config.Changed). Main asks the running
	// daemon to rescan; nil does nothing (tests).
	Changed func(ctx context.Context)

	// Office is where officer commands go (--server, MEDIAGATE_SERVER or the
	// config file's server_url): "" works on the local register.
	Office OfficeConfig

	local  *service.Local
	remote service.API
	// createRegister lets this invocation create a missing register file (host init,
	// and the daemon, which blocks everything until host init); every other command
	// refuses a missing one.
	createRegister bool
	// appended is called after every committed change to the local register (the
	// daemon wakes its log shipper with it).
	appended func()
}

// Service returns the operations of the register: the office server's when one is
// configured (Office.Server), else the local registry's, opened on first use.
func (a *App) Service(ctx context.Context) (service.API, error) {
	if a.Office.Server != "" {
		return a.officeClient()
	}
	l, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	return l.Service, nil
}

func (a *App) open(ctx context.Context) (*service.Local, error) {
	if a.local != nil {
		return a.local, nil
	}
	l, err := service.OpenLocal(ctx, a.DBPath, service.LocalOptions{Now: a.Now, Actor: a.Actor,
		Service: service.Config{Changed: a.Changed}, Create: a.createRegister, Appended: a.appended})
	if err != nil {
		return nil, err
	}
	a.local = l
	return l, nil
}

// Errf writes a message to stderr.
func (a *App) Errf(format string, args ...any) { fmt.Fprintf(a.Err, format, args...) }

func (a *App) close() {
	if a.local != nil {
		a.local.Close()
		a.local = nil
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

// DetectLang picks the language: MEDIAGATE_LANG, then LC_ALL, LC_MESSAGES, LANG.
func DetectLang(getenv func(string) string) string {
	for _, k := range []string{"MEDIAGATE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			return catalog.Lang(v)
		}
	}
	return "en"
}

// NewRootCommand builds the command tree around app.
func NewRootCommand(app *App) *cobra.Command {
	root := &cobra.Command{
		Use: "mediagate",
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
			// --db sqlite:PATH is the file PATH: what lies beside the register (its
			// disc sample key, the office's acknowledgement) lies beside PATH.
			if file, ok := service.SQLiteFile(app.DBPath); ok {
				app.DBPath = file
			}
			if err := checkJSON(app, cmd); err != nil {
				return err
			}
			return checkRequiredFlags(cmd)
		},
	}
	getenv := app.Getenv
	dbDefault := getenv("MEDIAGATE_DB")
	if dbDefault == "" {
		dbDefault = DefaultDB
	}
	root.PersistentFlags().StringVar(&app.DBPath, "db", dbDefault, "registry: a database file, or a postgres:// URL (env MEDIAGATE_DB)")
	root.PersistentFlags().BoolVar(&app.JSON, "json", false, "print machine-readable JSON")
	root.PersistentFlags().StringVar(&app.Lang, "lang", DetectLang(getenv), "language of messages: en or zh (env MEDIAGATE_LANG)")
	bindPathFlags(root.PersistentFlags(), app)
	bindOfficeFlags(root.PersistentFlags(), app)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	// An unknown command under the root is a usage error of its own type.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }

	root.AddCommand(newPersonCommand(app), newHostCommand(app), newMediaCommand(app), newDevicesCommand(app), newNumberingCommand(app),
		newLogCommand(app), newAuditCommand(app), newVersionCommand(app))
	root.AddCommand(newDaemonCommand(app), newStatusCommand(app))
	root.AddCommand(newCheckinCommand(app))
	root.AddCommand(newSummaryCommand(app), newManCommand(app), newServerCommand(app), newReportCommand(app), newPolicyCommand(app))
	markGroups(root)
	markJSONRefusals(root)
	addCompletions(app, root)
	guardEnrolled(root, app)
	typedUsage(root)
	applyHelp(root, catalog.EN)
	return root
}

// typedUsage makes every way cobra refuses a command line return a usageError: the
// argument validators are wrapped, and required flags are checked here (before cobra's
// own check, whose error is untyped).
func typedUsage(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		typedUsage(c)
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return err
				}
				return usageError{err}
			}
			return nil
		}
	}
}

// checkRequiredFlags refuses a command whose flags marked required were not given, as
// cobra would later, but with a usageError.
func checkRequiredFlags(cmd *cobra.Command) error {
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return usageError{err}
	}
	return nil
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
		Use:  "version",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if app.JSON {
				return printJSON(app.Out, struct {
					Version string `json:"version"`
				}{Version})
			}
			fmt.Fprintln(app.Out, "mediagate", Version)
			return nil
		},
	}
}

// Main runs mediagate with args and returns the exit code. It is all that main calls.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	app := &App{Out: stdout, Err: stderr, In: os.Stdin, Now: time.Now, Getenv: getenv, Actor: CurrentActor("/proc")}
	app.Changed = func(ctx context.Context) { nudgeDaemon(ctx, app) }
	return Run(ctx, app, args)
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
	if lang == catalog.ZH {
		applyHelp(root, catalog.ZH)
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK // a command that stops cleanly when cancelled (daemon, watch) succeeded
	}
	lang = app.Lang
	if lang != "zh" {
		lang = "en"
	}
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		// Interrupted: whatever the command was changing was rolled back with its
		// transaction; a script must not take this for success.
		fmt.Fprintln(stderr, "mediagate: "+T(lang, "err.interrupted"))
		return ExitInterrupted
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

// isUsage reports whether err is about how the command was called: a usageError (every
// cobra refusal is wrapped in one at its source), a malformed request the service
// refused, or a value the register refused as such (a bad name, date or numbering
// pattern). Every bad value is a usage error (exit 2); a refusal by a rule of the
// register about a well-formed request is not (exit 1).
func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue) || errors.Is(err, service.ErrBadRequest) || errors.Is(err, service.ErrInvalid) ||
		errors.Is(err, service.ErrBadPattern)
}
