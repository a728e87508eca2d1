package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/server"
	"mediagate/internal/service"
)

// DefaultServerDir is where `mediagate server` keeps its keys and register.
const DefaultServerDir = "/var/lib/mediagate-server"

// serverDBName is the register of the office in its directory.
const serverDBName = "office.db"

func newServerCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "server"}
	var dir string
	cmd.PersistentFlags().StringVar(&dir, "dir", DefaultServerDir, "the office server's directory: keys, certificates and (unless --db) the register office.db")
	host := &cobra.Command{Use: "host"}
	host.AddCommand(newServerHostAddCommand(app, &dir), newServerHostListCommand(app, &dir), newServerHostShowCommand(app, &dir),
		newServerHostRevokeCommand(app, &dir), newServerHostTokenCommand(app, &dir), newServerHostSetCommand(app, &dir),
		newServerHostFreezeCommand(app, &dir, true), newServerHostFreezeCommand(app, &dir, false),
		newServerHostEnrollFileCommand(app, &dir))
	req := newServerRequestsCommand(app, &dir)
	req.AddCommand(newServerApproveCommand(app, &dir), newServerRejectCommand(app, &dir))
	officer := &cobra.Command{Use: "officer"}
	officer.AddCommand(newServerOfficerAddCommand(app, &dir))
	cmd.AddCommand(newServerInitCommand(app, &dir), newServerRunCommand(app, &dir), host, req, officer, newServerReportCommand(app, &dir))
	return cmd
}

// useServerDB points the register at the office's (DIR/office.db) unless --db or
// MEDIAGATE_DB chose one.
func useServerDB(cmd *cobra.Command, app *App, dir string) {
	if f := cmd.Flags().Lookup("db"); f != nil && f.Changed {
		return
	}
	if app.Getenv != nil && app.Getenv("MEDIAGATE_DB") != "" {
		return
	}
	app.DBPath = filepath.Join(dir, serverDBName)
}

type serverInitOptions struct {
	Dir     string
	Name    string
	Addrs   []string
	Officer string
}

func newServerInitCommand(app *App, dir *string) *cobra.Command {
	var o serverInitOptions
	cmd := &cobra.Command{
		Use:     "init --name NAME --officer HANDLE",
		Example: "  mediagate server init --name office.example --addr 10.1.2.3 --officer wangwu",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = *dir
			useServerDB(cmd, app, o.Dir)
			return runServerInit(cmd.Context(), app, o)
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "the server's DNS name (also the office's name in the CA)")
	cmd.Flags().StringSliceVar(&o.Addrs, "addr", nil, "further names or IP addresses hosts reach the server by (repeatable)")
	cmd.Flags().StringVar(&o.Officer, "officer", "", "handle of the first officer (a person of the register), who gets a client certificate")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("officer")
	return cmd
}

func runServerInit(ctx context.Context, app *App, o serverInitOptions) error {
	if !service.ValidHandle(o.Officer) {
		return usageMsg("usage.officer-handle", o.Officer)
	}
	app.createRegister = true // the office's register starts here, as a host's starts at host init
	ca, err := pki.Init(pki.InitOptions{Dir: o.Dir, Name: o.Name, Addrs: o.Addrs, Now: app.Now()})
	if errors.Is(err, pki.ErrExists) {
		return lerr("err.office-exists", o.Dir)
	}
	if err != nil {
		return err
	}
	offDir, err := issueOfficer(ctx, app, ca, o.Dir, o.Officer)
	if err != nil {
		return err
	}
	fp := pki.Fingerprint(ca.Cert)
	if app.JSON {
		return printJSON(app.Out, map[string]string{"dir": o.Dir, "ca_fingerprint": fp, "officer_dir": offDir})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.server-init", o.Dir, fp, o.Officer, offDir))
	return nil
}

// issueOfficer makes an officer's certificate and key in DIR/officers/HANDLE and
// records the certificate's serial in the register.
func issueOfficer(ctx context.Context, app *App, ca *pki.CA, dir, handle string) (string, error) {
	out := filepath.Join(dir, "officers", handle)
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", err
	}
	certPEM, keyPEM, serial, err := ca.IssueOfficer(handle, app.Now())
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{officerKey, keyPEM, 0o600}, {officerCert, certPEM, 0o644}, {officerCA, ca.PEM, 0o644}} {
		if err := pki.WriteNew(filepath.Join(out, f.name), f.data, f.mode); err != nil {
			if errors.Is(err, pki.ErrExists) {
				return "", lerr("err.office-exists", filepath.Join(out, f.name))
			}
			return "", err
		}
	}
	l, err := app.open(ctx)
	if err != nil {
		return "", err
	}
	if _, err := l.Service.AddOfficer(ctx, handle, serial); err != nil {
		return "", err
	}
	return out, nil
}

func newServerOfficerAddCommand(app *App, dir *string) *cobra.Command {
	return &cobra.Command{
		Use:     "add HANDLE",
		Example: "  mediagate server officer add lisi",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			if !service.ValidHandle(args[0]) {
				return usageMsg("usage.officer-handle", args[0])
			}
			o, err := pki.Load(*dir)
			if err != nil {
				return err
			}
			out, err := issueOfficer(cmd.Context(), app, o.CA, *dir, args[0])
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, map[string]string{"officer": args[0], "officer_dir": out})
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.officer-added", args[0], out))
			return nil
		},
	}
}

type serverRunOptions struct {
	Dir, Listen string
	MaxConns    int
}

func newServerRunCommand(app *App, dir *string) *cobra.Command {
	var o serverRunOptions
	cmd := &cobra.Command{
		Use:     "run",
		Example: "  mediagate server run --listen :8443\n  mediagate server run --dir /var/lib/mediagate-server --db postgres://mediagate@db/office",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = *dir
			useServerDB(cmd, app, o.Dir)
			return runServer(cmd.Context(), app, o)
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", ":8443", "address to listen on")
	cmd.Flags().IntVar(&o.MaxConns, "max-conns", server.DefaultMaxConns, "most connections open at once")
	refuseJSON(cmd) // it logs, as text for the journal
	return cmd
}

func runServer(ctx context.Context, app *App, o serverRunOptions) error {
	keys, err := pki.Load(o.Dir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", "server")
	var srv *server.Server
	local, err := service.OpenLocal(ctx, app.DBPath, service.LocalOptions{Now: app.Now, Actor: app.Actor,
		Service: service.Config{Changed: func(ctx context.Context) { srv.Changed(ctx) }}})
	if err != nil {
		return err
	}
	defer local.Close()
	lst, ok := local.Service.Store().(ledger.Store)
	if !ok {
		return errors.New("server: the register keeps no copy of the hosts' logs")
	}
	// Acknowledgements are signed with the policy key: an enrolled host checks them with
	// the key it got at enrolment.
	led, err := ledger.New(ledger.Config{Store: lst, Key: keys.PolicyKey, Now: app.Now, Log: log.With("component", "ledger")})
	if err != nil {
		return err
	}
	srv, err = server.New(server.Config{Service: local.Service, Office: keys, Log: log, MaxConns: o.MaxConns, Ledger: led,
		Message: func(code string, args []any) string { return catalog.T(catalog.EN, code, args...) }})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	log.Info("office server listening", "addr", ln.Addr().String(), "db", app.DBPath, "ca_fingerprint", pki.Fingerprint(keys.CA.Cert))
	err = srv.Serve(ctx, ln)
	if err == nil && ctx.Err() != nil {
		return nil // stopped by a signal: a clean stop
	}
	return err
}

type hostAddOptions struct {
	service.AddHostRequest
	Level string
}

func newServerHostAddCommand(app *App, dir *string) *cobra.Command {
	var o hostAddOptions
	cmd := &cobra.Command{
		Use:     "add NUMBER --level LEVEL",
		Example: "  mediagate server host add HOST-07 --level secret --department 办公室 --location \"Room 302\" --custodian zhangsan",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			o.Number = args[0]
			l, err := parseLevel(o.Level)
			if err != nil {
				return err
			}
			o.AddHostRequest.Level = l
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			res, err := s.AddOfficeHost(cmd.Context(), o.AddHostRequest)
			if err != nil {
				return err
			}
			return printToken(app, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Level, "level", "", "classification level of the host")
	f.StringVar(&o.Department, "department", "", "department")
	f.StringVar(&o.Location, "location", "", "where the computer stands")
	f.StringVar(&o.Custodian, "custodian", "", "person responsible for the computer (handle)")
	f.StringVar(&o.Mode, "mode", "enforce", "enforce or audit")
	f.StringVar(&o.LowerMedia, "lower-media", "read-only", "registered media below the host's level: read-only or refuse")
	f.StringSliceVar(&o.AllowClasses, "allow-class", nil, "extra USB peripheral class allowed (repeatable)")
	f.StringSliceVar(&o.AllowDevices, "allow-device", nil, "extra USB peripheral as VID:PID=cc/ss/pp+… (repeatable)")
	f.DurationVar(&o.TokenTTL, "token-ttl", service.DefaultTokenTTL, "how long the enrolment token works")
	f.BoolVar(&o.VaultStation, "vault-station", false, "media plugged into this host are checked in to the office's year-end campaign")
	cmd.MarkFlagRequired("level")
	return cmd
}

func printToken(app *App, res service.AddHostResult) error {
	if app.JSON {
		return printJSON(app.Out, res)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.host-token", res.Host.Number, res.Host.Level, res.Expires.Local().Format("2006-01-02 15:04"), res.Token))
	return nil
}

func newServerHostTokenCommand(app *App, dir *string) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:     "token NUMBER",
		Example: "  mediagate server host token HOST-07",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			res, err := s.NewEnrolToken(cmd.Context(), args[0], ttl)
			if err != nil {
				return err
			}
			return printToken(app, res)
		},
	}
	cmd.Flags().DurationVar(&ttl, "token-ttl", service.DefaultTokenTTL, "how long the enrolment token works")
	return cmd
}

func newServerHostListCommand(app *App, dir *string) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Example: "  mediagate server host list\n  mediagate server host list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			hosts, err := s.OfficeHosts(cmd.Context())
			if err != nil {
				return err
			}
			if app.JSON {
				if hosts == nil {
					hosts = []service.OfficeHost{}
				}
				return printJSON(app.Out, hosts)
			}
			t := newTable(app.Out, T(app.Lang, "hdr.office-hosts"))
			for _, h := range hosts {
				t.row(h.Number, catalog.Level(app.Lang, h.Level), h.Department, h.Location, h.Custodian, hostState(app.Lang, h),
					stamp(h.LastContact), fmt.Sprint(h.PolicyVersion), fmt.Sprint(h.AppliedVersion), h.DaemonState)
			}
			return t.flush()
		},
	}
}

// hostState says whether a host is enrolled, waiting for enrolment, or revoked, and
// whether its log broke or it is frozen.
func hostState(lang string, h service.OfficeHost) string {
	var s string
	switch {
	case !h.Revoked.IsZero():
		s = T(lang, "out.host-revoked-state")
	case h.Enrolled.IsZero():
		s = T(lang, "out.host-not-enrolled")
	default:
		s = T(lang, "out.host-enrolled")
	}
	if h.Log.BrokenSeq != 0 {
		s += ", " + T(lang, "out.host-log-broken-state", h.Log.BrokenSeq)
	}
	if !h.Log.Frozen.IsZero() {
		s += ", " + T(lang, "out.host-frozen-state")
	}
	return s
}

// hostLogLine is the state of the office's copy of a host's log.
func hostLogLine(lang string, h service.OfficeHost) string {
	if h.Log.BrokenSeq != 0 {
		return T(lang, "out.host-log-broken", h.Log.BrokenSeq, stamp(h.Log.BrokenAt), h.Log.BrokenReason, h.Log.Seq)
	}
	return T(lang, "out.host-log", h.Log.Seq, stamp(h.Log.Acked))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func newServerHostShowCommand(app *App, dir *string) *cobra.Command {
	return &cobra.Command{
		Use:     "show NUMBER",
		Example: "  mediagate server host show HOST-07",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			v, err := s.ShowOfficeHost(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if app.JSON {
				if v.Seen == nil {
					v.Seen = []service.Seen{}
				}
				return printJSON(app.Out, v)
			}
			h := v.Host
			l := app.Lang
			kv := newTable(app.Out, T(l, "field.host")+"\t"+h.Number)
			kv.row(T(l, "field.level"), catalog.Level(l, h.Level))
			kv.row(T(l, "field.department"), h.Department)
			kv.row(T(l, "field.location"), h.Location)
			kv.row(T(l, "field.custodian"), h.Custodian)
			kv.row(T(l, "field.mode"), string(h.Mode))
			kv.row(T(l, "field.state"), hostState(l, h))
			kv.row(T(l, "field.enrolled"), stamp(h.Enrolled))
			kv.row(T(l, "field.certificate"), h.CertSerial)
			kv.row(T(l, "field.last-contact"), stamp(h.LastContact))
			kv.row(T(l, "field.policy"), fmt.Sprintf("%d (%s %d)", h.PolicyVersion, T(l, "field.applied"), h.AppliedVersion))
			kv.row(T(l, "field.daemon"), h.DaemonState)
			kv.row(T(l, "field.office-log"), hostLogLine(l, h))
			if !h.Log.Frozen.IsZero() {
				kv.row(T(l, "field.frozen"), stamp(h.Log.Frozen))
			}
			kv.row(T(l, "field.baseline"), strings.Join(h.Baseline, ", "))
			if err := kv.flush(); err != nil {
				return err
			}
			fmt.Fprintln(app.Out)
			fmt.Fprintln(app.Out, T(l, "out.media-seen"))
			t := newTable(app.Out, T(l, "hdr.media-seen"))
			for _, x := range v.Seen {
				t.row(stamp(x.Time), x.Medium, x.Key, x.Decision, x.Reason)
			}
			return t.flush()
		},
	}
}

func newServerHostRevokeCommand(app *App, dir *string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "revoke NUMBER --reason TEXT",
		Example: "  mediagate server host revoke HOST-07 --reason \"computer scrapped\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			h, err := s.RevokeOfficeHost(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, h)
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.host-revoked", h.Number))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log)")
	cmd.MarkFlagRequired("reason")
	return cmd
}

func newServerHostFreezeCommand(app *App, dir *string, freeze bool) *cobra.Command {
	var reason string
	use, example, done := "freeze NUMBER --reason TEXT", "  mediagate server host freeze HOST-07 --reason \"log rolled back\"", "out.host-frozen"
	if !freeze {
		use, example, done = "unfreeze NUMBER --reason TEXT", "  mediagate server host unfreeze HOST-07 --reason \"checked: disk restored from backup\"", "out.host-unfrozen"
	}
	cmd := &cobra.Command{
		Use:     use,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			h, err := s.FreezeOfficeHost(cmd.Context(), args[0], freeze, reason)
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, h)
			}
			fmt.Fprintln(app.Out, T(app.Lang, done, h.Number))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log)")
	cmd.MarkFlagRequired("reason")
	return cmd
}

func newServerHostSetCommand(app *App, dir *string) *cobra.Command {
	var r service.UpdateHostRequest
	var level, dept, loc, cust string
	var station bool
	cmd := &cobra.Command{
		Use: "set NUMBER",
		Example: "  mediagate server host set HOST-07 --level top-secret\n  mediagate server host set HOST-07 --custodian lisi --location \"Room 305\"\n" +
			"  mediagate server host set HOST-01 --vault-station",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			r.Number = args[0]
			f := cmd.Flags()
			if f.Changed("level") {
				l, err := parseLevel(level)
				if err != nil {
					return err
				}
				r.Level = &l
			}
			if f.Changed("department") {
				r.Department = &dept
			}
			if f.Changed("location") {
				r.Location = &loc
			}
			if f.Changed("custodian") {
				r.Custodian = &cust
			}
			if f.Changed("vault-station") {
				r.VaultStation = &station
			}
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			h, err := s.UpdateOfficeHost(cmd.Context(), r)
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, h)
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.host-updated", h.Number, h.Level))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&level, "level", "", "new classification level")
	f.StringVar(&dept, "department", "", "department")
	f.StringVar(&loc, "location", "", "location")
	f.StringVar(&cust, "custodian", "", "custodian of the computer (handle)")
	f.StringVar(&r.Mode, "mode", "", "enforce or audit")
	f.StringVar(&r.LowerMedia, "lower-media", "", "read-only or refuse")
	f.BoolVar(&station, "vault-station", false, "make the host a vault station (--vault-station=false: no longer one)")
	return cmd
}

func newServerRequestsCommand(app *App, dir *string) *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:     "requests",
		Example: "  mediagate server requests\n  mediagate server requests --state all --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			if state == "all" {
				state = ""
			}
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			reqs, err := s.Requests(cmd.Context(), state)
			if err != nil {
				return err
			}
			if app.JSON {
				if reqs == nil {
					reqs = []service.RegistrationRequest{}
				}
				return printJSON(app.Out, reqs)
			}
			t := newTable(app.Out, T(app.Lang, "hdr.requests"))
			for _, r := range reqs {
				t.row(r.ID, r.Host, catalog.Level(app.Lang, r.Level), r.Identity.Key, r.Requester, r.Purpose, r.State, stamp(r.Created), r.Number)
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "pending", "pending, approved, rejected or all")
	return cmd
}

func newServerApproveCommand(app *App, dir *string) *cobra.Command {
	var r service.ApproveRequest
	cmd := &cobra.Command{
		Use:     "approve ID --custodian HANDLE",
		Example: "  mediagate server requests approve 0b6c… --custodian zhangsan\n  mediagate server requests approve 0b6c… --number S-2026-0042 --custodian zhangsan",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			r.ID = args[0]
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			res, err := s.ApproveRegistration(cmd.Context(), r)
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, res)
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.request-approved", res.Request.ID, res.Medium.Number))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.Number, "number", "", "the medium's number (default: the next of the numbering pattern)")
	f.StringVar(&r.Custodian, "custodian", "", "custodian of the medium (handle)")
	f.StringVar(&r.Department, "department", "", "department (default: the custodian's)")
	f.BoolVar(&r.ReadOnly, "read-only", false, "register the medium read-only")
	f.StringVar(&r.Note, "note", "", "note (default: the request's purpose)")
	cmd.MarkFlagRequired("custodian")
	return cmd
}

func newServerRejectCommand(app *App, dir *string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "reject ID --reason TEXT",
		Example: "  mediagate server requests reject 0b6c… --reason \"private stick\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, *dir)
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			r, err := s.RejectRegistration(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if app.JSON {
				return printJSON(app.Out, r)
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.request-rejected", r.ID))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded and shown to the requester)")
	cmd.MarkFlagRequired("reason")
	return cmd
}
