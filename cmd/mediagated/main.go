// Command mediagated is mediagate's enforcement daemon as a binary of its own: the same
// daemon as `mediagate daemon` (internal/daemonrun), without the command-line front
// ends, the office server, the PostgreSQL driver and the spreadsheet library, so that
// the resident service stays small in memory (docs/performance.md). mediagate.service
// runs it; scripts/install.sh installs it next to mediagate.
//
// Build it with the tag mediagate_daemon (scripts/install.sh does):
//
//	go build -tags mediagate_daemon -o mediagated ./cmd/mediagated
//
// A host enrolled with an office server, or a register on PostgreSQL, needs what only
// the full binary has: there mediagated hands over to `mediagate daemon` (exec, same
// process, same arguments).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"mediagate/internal/daemonrun"
	"mediagate/internal/service"
	"mediagate/internal/sysfs"
)

// defaultDB is where the register lives unless --db or MEDIAGATE_DB says otherwise
// (as for mediagate).
const defaultDB = "/var/lib/mediagate/mediagate.db"

func main() {
	// Before anything else: a process that had huge pages on is replaced here by one
	// that never had them (daemonrun.RestartWithoutHugePages); Run says so if they stay.
	_ = daemonrun.RestartWithoutHugePages(os.Args, os.Environ())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the default way
	}()
	code := run(ctx, os.Args[1:], os.Stderr, os.Getenv, execFull)
	stop()
	os.Exit(code)
}

// options are mediagated's command line: `mediagate daemon`'s flags and the root
// command's path flags, with the same names.
type options struct {
	db    string
	paths sysfs.Paths
	run   daemonrun.Config
}

func parse(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	def := sysfs.DefaultPaths()
	o := options{paths: def}
	fs := flag.NewFlagSet("mediagated", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := getenv("MEDIAGATE_DB")
	if db == "" {
		db = defaultDB
	}
	fs.StringVar(&o.db, "db", db, "registry: a database file, or a postgres:// URL (env MEDIAGATE_DB)")
	fs.StringVar(&o.paths.Socket, "socket", getenv("MEDIAGATE_SOCKET"), "control socket (env MEDIAGATE_SOCKET; default <run-dir>/control.sock)")
	fs.StringVar(&o.paths.Sys, "sysfs-root", def.Sys, "sysfs root (for tests)")
	fs.StringVar(&o.paths.UdevData, "udev-root", def.UdevData, "udev database directory (for tests)")
	fs.StringVar(&o.paths.Dev, "dev-root", def.Dev, "device node directory (for tests)")
	fs.StringVar(&o.paths.Proc, "proc-root", def.Proc, "procfs root (for tests)")
	fs.StringVar(&o.paths.Run, "run-dir", def.Run, "run directory")
	fs.StringVar(&o.run.Source, "source", "", "event source: udev or kernel (default udev when udevd runs)")
	fs.StringVar(&o.run.OfficerGroup, "officer-group", "", "group whose members may change the running daemon besides root")
	fs.BoolVar(&o.run.Debug, "debug", false, "log debug messages")
	fs.BoolVar(&o.run.NoNotify, "no-notify", false, "do not tell desktop users when a medium is blocked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mediagated [flags]\n\nmediagate's enforcement daemon (see 'mediagate daemon --help'; 'man mediagate').")
		fs.PrintDefaults()
	}
	if err := fs.Parse(trimDaemon(args)); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.run.DBPath, o.run.Paths, o.run.Getenv, o.run.Err = o.db, o.paths, getenv, stderr
	return o, nil
}

// trimDaemon drops a leading "daemon": `mediagated daemon …` is accepted too, as a
// unit written for the full binary says it.
func trimDaemon(args []string) []string {
	if len(args) > 0 && args[0] == "daemon" {
		return args[1:]
	}
	return args
}

// needsFull tells why a host needs the full binary's daemon, or "".
func needsFull(db string) string {
	if _, file := service.SQLiteFile(db); !file {
		return "the register is not an SQLite file"
	}
	if _, err := os.Lstat(enrolmentFile(db)); err == nil {
		return "the host is enrolled with an office server"
	}
	return ""
}

// enrolmentFile is where an enrolled host keeps its enrolment (hostclient.Dir and
// hostclient.FileEnrolment; a test keeps the two the same). mediagated does not link
// the office client.
func enrolmentFile(db string) string {
	return filepath.Join(filepath.Dir(db), "office", "enrolment.json")
}

func run(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, full func(args []string) error) int {
	o, err := parse(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mediagated:", err)
		return 2
	}
	if why := needsFull(o.db); why != "" {
		fmt.Fprintf(stderr, "mediagated: %s: running 'mediagate daemon'\n", why)
		if err := full(append([]string{"daemon"}, trimDaemon(args)...)); err != nil {
			fmt.Fprintln(stderr, "mediagated:", err)
			return 1
		}
		return 0
	}
	// MEDIAGATED_CPUPROFILE=FILE writes a CPU profile of the whole run to FILE, in a
	// binary built with the tag mediagated_profile (profile.go).
	defer startProfile(getenv("MEDIAGATED_CPUPROFILE"), stderr)()
	if err := daemonrun.Run(ctx, o.run); err != nil {
		fmt.Fprintln(stderr, "mediagated:", err)
		return 1
	}
	return 0
}

// execFull replaces this process with the full binary: mediagate next to this one,
// else the one on PATH.
func execFull(args []string) error {
	bin := ""
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), "mediagate"); isFile(p) {
			bin = p
		}
	}
	if bin == "" {
		for _, dir := range strings.Split(os.Getenv("PATH"), ":") {
			if p := filepath.Join(dir, "mediagate"); dir != "" && isFile(p) {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		return errors.New("mediagate (the full binary) not found next to mediagated or on PATH")
	}
	return syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
