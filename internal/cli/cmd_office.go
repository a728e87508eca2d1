package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/anchor"
	"mediagate/internal/daemon"
	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/policy"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// The host side of the office: `host enroll`, `media request`, the daemon's policy
// wiring on an enrolled host, and the refusal of register commands there.

// officeDir is this host's enrolment directory, beside its database.
func (a *App) officeDir() string {
	file, ok := service.SQLiteFile(a.DBPath)
	if !ok {
		return "" // a PostgreSQL register is the office's or an officer's, never an enrolled host's
	}
	return hostclient.Dir(file)
}

// requireHostFile refuses a PostgreSQL register for what only a classified host does
// (its daemon, its enrolment): the host decides devices from a register and files
// (the office's signed policy, its key, the disc key) in a local directory, and never
// waits on the network to decide; a database server would be both. PostgreSQL is for
// the office server's register and the officer's commands.
func (a *App) requireHostFile(command string) error {
	if _, ok := service.SQLiteFile(a.DBPath); !ok {
		return usageMsg("usage.host-db-postgres", command)
	}
	return nil
}

type enrollOptions struct {
	Server, Token, Fingerprint, Host string
	UnitDropIn                       string
	Force                            bool
	// A standalone host enrols by file: Request writes the request to Output;
	// Response takes the office's answer.
	Request          bool
	Output, Response string
}

func newHostEnrollCommand(app *App) *cobra.Command {
	var o enrollOptions
	cmd := &cobra.Command{
		Use: "enroll --server URL --token T --ca-fingerprint F",
		Example: `  mediagate host enroll --server https://office.example:8443 --token 4f0c… --ca-fingerprint 9a1b…
  mediagate host enroll --server https://10.0.0.5:8443 --token 4f0c… --ca-fingerprint 9a1b… --host HOST-07 --force
  mediagate host enroll --request --host HOST-09 -o /media/transfer/HOST-09.request
  mediagate host enroll --response /media/transfer/HOST-09.answer --ca-fingerprint 9a1b…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.Request && o.Response != "":
				return usageMsg("usage.enroll-file-modes")
			case o.Request:
				return runHostEnrollRequest(cmd.Context(), app, o)
			case o.Response != "":
				return runHostEnrollResponse(cmd.Context(), app, o)
			}
			// The office server is the root's --server (also MEDIAGATE_SERVER or the
			// config file's server_url), the same flag officer commands use.
			o.Server = app.Office.Server
			if o.Server == "" {
				return usageMsg("usage.required", "server")
			}
			for _, f := range []string{"token", "ca-fingerprint"} {
				if !cmd.Flags().Changed(f) {
					return usageMsg("usage.required", f)
				}
			}
			return runHostEnroll(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Token, "token", "", "the one-time enrolment token from `server host add` (required to enrol over the network; optional with --request)")
	f.StringVar(&o.Fingerprint, "ca-fingerprint", "", "SHA-256 fingerprint of the office CA, as `server init` printed it (required)")
	f.StringVar(&o.Host, "host", "", "this host's number in the office register (default: the number of its local profile)")
	f.BoolVar(&o.Force, "force", false, "replace this host's enrolment")
	f.StringVar(&o.UnitDropIn, "unit-dropin", hostclient.DefaultUnitDropIn, "systemd drop-in that lets the daemon reach the server (\"\" to write none)")
	f.BoolVar(&o.Request, "request", false, "standalone host: write a signed enrolment request to the -o file instead of calling the server")
	f.StringVarP(&o.Output, "output", "o", "", "with --request: the file to write the request to")
	f.StringVar(&o.Response, "response", "", "standalone host: the office's answer file (server host enroll-file) to enrol with")
	return cmd
}

func runHostEnroll(ctx context.Context, app *App, o enrollOptions) error {
	if err := app.requireHostFile("host enroll"); err != nil {
		return err
	}
	dir := app.officeDir()
	if hostclient.Enrolled(dir) && !o.Force {
		e, _ := hostclient.ReadEnrolment(dir)
		return usageMsg("usage.enrolled-twice", enrolledWhere(e))
	}
	// The number of the local profile, if this host had one before it joined the
	// office; never-initialised hosts must say it.
	host, baseline, err := enrollHostAndBaseline(ctx, app, o.Host)
	if err != nil {
		return err
	}
	res, err := hostclient.Enroll(ctx, hostclient.EnrollOptions{Server: o.Server, Token: o.Token, Fingerprint: o.Fingerprint,
		Host: host, Dir: dir, Force: o.Force, Now: app.Now, Baseline: baseline})
	if err != nil {
		return err
	}
	// The sandboxed unit reaches no IP address: let it reach the server.
	dropIn := ""
	if o.UnitDropIn != "" {
		if _, err := os.Stat(filepath.Dir(filepath.Dir(o.UnitDropIn))); err == nil {
			// The addresses recorded at enrolment (a server given by name), which the
			// daemon dials: the sandbox then needs no name server.
			var ips []net.IP
			for _, a := range res.State.Addresses {
				ips = append(ips, net.ParseIP(a))
			}
			if len(ips) == 0 {
				var err error
				if ips, err = hostclient.ServerAddresses(ctx, res.State.Server); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(filepath.Dir(o.UnitDropIn), 0o755); err != nil {
				return fmt.Errorf("write %s: %w", o.UnitDropIn, err)
			}
			if err := os.WriteFile(o.UnitDropIn, []byte(hostclient.UnitDropIn(res.State.Server, ips)), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", o.UnitDropIn, err)
			}
			dropIn = o.UnitDropIn
		}
	}
	// The running daemon (if any) is still deciding from the local register: it
	// follows the office after a restart.
	if app.JSON {
		out := struct {
			hostclient.Enrolment
			PolicyVersion uint64 `json:"policy_version"`
			PolicyError   string `json:"policy_error,omitempty"`
		}{Enrolment: res.State.Enrolment}
		if res.Policy != nil {
			out.PolicyVersion = res.Policy.Document.Version
		}
		if res.PolicyErr != nil {
			out.PolicyError = res.PolicyErr.Error()
		}
		return printJSON(app.Out, out)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enrolled", res.State.Host, res.State.Server, dir))
	if res.Policy != nil {
		fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-policy", res.Policy.Document.Version, len(res.Policy.Document.Media)))
	} else {
		fmt.Fprintln(app.Err, T(app.Lang, "out.enroll-no-policy", res.PolicyErr))
	}
	if dropIn != "" {
		fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-dropin", dropIn))
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-restart"))
	return nil
}

type requestOptions struct {
	FromDevice, Level, Purpose, Label, Kind string
}

func newMediaRequestCommand(app *App) *cobra.Command {
	var o requestOptions
	cmd := &cobra.Command{
		Use: "request --from-device DEV --level L --purpose TEXT",
		Example: `  mediagate media request --from-device /dev/sdb --level secret --purpose "project files for the audit"
  mediagate media request --from-device /dev/sr0 --level 机密 --purpose 年度报告 --label "report disc"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMediaRequest(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.FromDevice, "from-device", "", "the attached device to register (/dev/sdX, /dev/sr0, usb:PORT) (required)")
	f.StringVar(&o.Level, "level", "", "classification level of what it will store (required)")
	f.StringVar(&o.Purpose, "purpose", "", "what the medium is for (required)")
	f.StringVar(&o.Label, "label", "", "how the requester names it (free text)")
	f.StringVar(&o.Kind, "kind", "", "check that the device is of this kind")
	cmd.MarkFlagRequired("from-device")
	cmd.MarkFlagRequired("level")
	cmd.MarkFlagRequired("purpose")
	return cmd
}

func runMediaRequest(ctx context.Context, app *App, o requestOptions) error {
	level, err := parseLevel(o.Level)
	if err != nil {
		return err
	}
	if strings.TrimSpace(o.Purpose) == "" {
		return usageMsg("usage.required", "purpose")
	}
	st, err := hostclient.Load(app.officeDir())
	if errors.Is(err, hostclient.ErrNotEnrolled) {
		return usageMsg("usage.request-not-enrolled")
	}
	if err != nil {
		return err
	}
	id, _, err := identityFromDevice(app, o.FromDevice, o.Kind)
	if err != nil {
		return err
	}
	requester := app.Actor.Login
	if requester == "" {
		requester = app.Actor.User
	}
	c, err := hostclient.NewClient(st)
	if err != nil {
		return err
	}
	defer c.Close()
	reqID, err := c.Request(ctx, hostclient.Request{Identity: id, Level: level, Purpose: o.Purpose, Requester: requester, Label: o.Label})
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]string{"id": reqID, "server": st.Server, "requester": requester, "key": id.Key})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.request-sent", reqID, st.Server, requester))
	return nil
}

// registerCommands are the commands that read or change the register. On a host
// enrolled with an office server the register is the server's: they refuse there
// with a pointer to it (exit 2).
var registerCommands = []string{
	"person add", "person update", "person deactivate", "person list", "person show",
	"host init",
	"media register", "media list", "media show", "media handover", "media lend", "media return",
	"media relevel", "media issue", "media lost", "media found", "media repair", "media repaired",
	"media destroy", "media retire",
	"numbering set", "numbering show",
	"checkin open", "checkin close", "checkin mark", "checkin plug", "checkin report", "checkin status", "checkin watch",
}

// guardEnrolled makes the register commands refuse on an enrolled host.
func guardEnrolled(root *cobra.Command, app *App) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if !slices.Contains(registerCommands, path) || c.RunE == nil {
			return
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := refuseEnrolled(app, path); err != nil {
				return err
			}
			return run(cmd, args)
		}
	}
	walk(root)
}

// refuseEnrolled returns the refusal of a register command on an enrolled host, nil
// on a host that was never enrolled.
func refuseEnrolled(app *App, command string) error {
	dir := app.officeDir()
	if !hostclient.Enrolled(dir) || app.Office.Server != "" {
		// Never enrolled, or an officer's command that goes to the server (--server).
		return nil
	}
	if app.Office.Server != "" {
		return nil // an officer's command sent to the office server (--server)
	}
	server := "?"
	e, err := hostclient.ReadEnrolment(dir)
	if err == nil && e.Standalone() {
		return usageMsg("usage.enrolled-register-standalone", command)
	}
	if err == nil && e.Server != "" {
		server = e.Server
	}
	hint := "usage.enrolled-register"
	if command == "media register" {
		hint = "usage.enrolled-register-media"
	}
	return usageMsg(hint, command, server)
}

// officeDaemon wires the daemon of an enrolled host: a PolicyStore that serves the
// profile, media and people from the verified policy in force, and the Follower that
// keeps it up to date. A host whose enrolment does not load gets a PolicyStore
// without a policy: every medium is blocked (fail closed) and status says why.
type officeDaemon struct {
	store    *daemon.PolicyStore
	follower *hostclient.Follower
	// shipper sends the local audit log to the office (shipLog sets its source).
	shipper *hostclient.Shipper
	shipCfg hostclient.ShipperConfig
	problem error
	// standalone: enrolled by file, no server to report check-ins to.
	standalone bool
	// daemon is set once the daemon runs: from then on a policy applied is also a
	// rescan (the policy loaded from the cache was in force before anything was
	// decided).
	daemon atomic.Pointer[daemon.Daemon]
}

func wireOffice(ctx context.Context, app *App, local daemon.Store, log *slog.Logger) (*officeDaemon, error) {
	dir := app.officeDir()
	if !hostclient.Enrolled(dir) {
		return nil, nil
	}
	st, err := hostclient.Load(dir)
	if err != nil {
		log.Error("enrolment with the office server does not load: every medium is blocked", "dir", dir, "err", err)
		return &officeDaemon{store: daemon.NewPolicyStore(local, nil), problem: err}, nil
	}
	var client hostclient.PolicyClient // none on a standalone host: its policy comes by file
	var logClient *hostclient.Client   // and its log goes by file (log export)
	if !st.Standalone() {
		c, err := hostclient.NewClient(st)
		if err != nil {
			return &officeDaemon{store: daemon.NewPolicyStore(local, st.Baseline), problem: err}, nil
		}
		client, logClient = c, c
	}
	o := &officeDaemon{store: daemon.NewPolicyStore(local, st.Baseline), standalone: st.Standalone()}
	o.follower = hostclient.NewFollower(hostclient.FollowerConfig{
		State:  st,
		Client: client,
		Apply: func(ctx context.Context, p *policydoc.Policy) {
			o.store.Set(p)
			if d := o.daemon.Load(); d != nil {
				d.Rescan(ctx)
			}
		},
		Record: func(ctx context.Context, kind event.Kind, details any) error {
			_, err := local.RecordEvent(ctx, kind, "", details)
			return err
		},
		HighWater: func(ctx context.Context) (uint64, error) { return policyHighWater(ctx, app, st) },
		Now:       app.Now,
		Log:       log,
		// The server is back: what the log holds that the office has not acknowledged
		// goes now.
		Reachable: func() {
			if o.shipper != nil {
				o.shipper.Wake()
			}
		},
	})
	// The log shipper signs nothing; it checks the office's acknowledgements with the
	// policy key of the enrolment and keeps the latest beside the register.
	if file, isFile := service.SQLiteFile(app.DBPath); isFile && logClient != nil {
		o.shipCfg = hostclient.ShipperConfig{Client: logClient, Key: st.PolicyKey, AckFile: anchor.File(file), Now: app.Now, Log: log}
	}
	if err := o.follower.LoadCache(ctx); err != nil {
		log.Warn("policy cache refused; waiting for the server", "err", err)
	}
	return o, nil
}

// shipLog makes the shipper of the local register's log; nil when the register is not
// a file (the office's acknowledgement is kept beside it).
func (o *officeDaemon) shipLog(local hostclient.LogSource) *hostclient.Shipper {
	if o.shipCfg.Client == nil {
		return nil
	}
	cfg := o.shipCfg
	cfg.Source = local
	o.shipper = hostclient.NewShipper(cfg)
	return o.shipper
}

// status is the daemon's Config.Office.
func (o *officeDaemon) status() *daemon.OfficeStatus {
	if o.follower == nil {
		return &daemon.OfficeStatus{LastError: o.problem.Error()}
	}
	s := o.follower.Status()
	out := &daemon.OfficeStatus{Server: s.Server, Standalone: s.Server == "", PolicyVersion: s.PolicyVersion, PolicyIssued: s.PolicyIssued,
		LastContact: s.LastContact, UnreachableSince: s.UnreachableSince, LastError: s.LastError}
	if r := s.Refused; r != nil {
		out.RefusedAt, out.RefusedSource, out.RefusedReason = r.Time, r.Source, r.Reason
	}
	out.CheckInsQueued = o.follower.PendingCheckIns()
	if o.shipper != nil {
		l := o.shipper.Status()
		out.Log = &daemon.LogShipStatus{Acked: l.Acked, AckedAt: l.AckedAt, Head: l.Head, LastError: l.LastError,
			BrokenSeq: l.BrokenSeq, BrokenReason: l.BrokenReason}
	}
	return out
}

// decided is the daemon's Config.Decided: media seen go into the next report.
func (o *officeDaemon) decided(r daemon.Record) {
	if o.follower == nil || r.Identity.Key == "" {
		return
	}
	decision := "allow"
	if r.Effective == policy.Block {
		decision = "block"
	}
	o.follower.Seen(hostclient.Seen{Medium: r.Decision.Medium, Key: r.Identity.Key, Decision: decision,
		Reason: string(r.Decision.Reason), Time: r.Time.UTC()})
}

// station is the daemon's vault station on an enrolled host whose profile makes it
// one: the campaign is the office's, so each medium plugged in is sent to the server
// with the next report (queued while the server is down) and the server checks it in
// under the service's rules. The host only waits for the block-device stage when the
// policy's record has bound fields not readable yet, as the local station does.
func (o *officeDaemon) station() daemon.VaultStation {
	if o.follower == nil || o.standalone {
		return nil // a standalone host has no server to report to: no vault station
	}
	return officeStation{o}
}

type officeStation struct{ o *officeDaemon }

func (s officeStation) CheckInPlug(ctx context.Context, r service.PlugRequest) (service.PlugResult, error) {
	if r.Seen.Key == "" {
		return service.PlugResult{Dropped: true}, nil
	}
	if rec, err := s.o.store.MediumByIdentity(ctx, r.Seen.Key); err == nil {
		if field, pending := policy.ConfirmIdentity(rec.Identity, r.Seen); field == "" && pending && r.WaitPending {
			return service.PlugResult{Pending: true}, nil
		}
	}
	if r.Claim != nil && !r.Claim() {
		return service.PlugResult{Dropped: true}, nil
	}
	s.o.follower.CheckIn(hostclient.StationCheckIn{Seen: r.Seen, Device: r.Device})
	return service.PlugResult{Queued: true}, nil
}

// run follows the office until ctx ends; every policy applied has the daemon decide
// the present devices again.
func (o *officeDaemon) run(ctx context.Context, d *daemon.Daemon) {
	if o.follower == nil {
		return
	}
	o.daemon.Store(d)
	if o.shipper != nil {
		shipped := make(chan struct{})
		defer func() { <-shipped }()
		go func() { defer close(shipped); o.shipper.Run(ctx) }()
	}
	o.follower.Run(ctx)
}

// officeLine is the status line about the office.
func officeLine(lang string, s *daemon.OfficeStatus) (string, string) {
	if s.Standalone {
		version := T(lang, "out.office-policy", s.PolicyVersion, localTimeOrDash(s.PolicyIssued))
		if s.PolicyVersion == 0 {
			version = T(lang, "out.office-no-policy")
		}
		return T(lang, "out.office-standalone"), version
	}
	if s.Server == "" {
		return T(lang, "out.office-broken", s.LastError), ""
	}
	version := T(lang, "out.office-policy", s.PolicyVersion, localTimeOrDash(s.PolicyIssued))
	if s.PolicyVersion == 0 {
		version = T(lang, "out.office-no-policy")
	}
	if !s.UnreachableSince.IsZero() {
		return T(lang, "out.office-unreachable", s.Server, localTimeOrDash(s.UnreachableSince)), version
	}
	return T(lang, "out.office-reachable", s.Server, localTimeOrDash(s.LastContact)), version
}

func localTimeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// policyHighWater is the highest policy version the host's local audit log records as
// once in force under the enrolled policy key (policy.applied rows): a cache file older
// than that was copied back while the daemon was stopped.
func policyHighWater(ctx context.Context, app *App, st *hostclient.State) (uint64, error) {
	l, err := app.open(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := l.Service.Events(ctx, service.EventFilter{Kind: string(event.KindPolicyApplied)})
	if err != nil {
		return 0, err
	}
	keyID := st.PolicyKeyID
	var hw uint64
	for _, r := range rows {
		d, err := event.As[event.PolicyApplied](r.Kind, r.Details)
		if err != nil {
			return 0, fmt.Errorf("audit row %d: %w", r.Seq, err)
		}
		if d.KeyID == keyID && d.Host == st.Host && d.Version > hw {
			hw = d.Version
		}
	}
	return hw, nil
}
