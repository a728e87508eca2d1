package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/carry"
	"mediagate/internal/catalog"
	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/identity"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/server"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// Standalone hosts (单机): enrolment, policy and log carried by file. The host side
// is `host enroll --request/--response`, `policy import`, `log export`, `log ack`;
// the office side `server host enroll-file`, `policy export`, `log import`. Every
// file is checked before anything changes; a refused one is one line in the reader's
// language, exit status 1, and an audit row where a register is open.

// writeOut writes a file for the officer to carry: through a temporary file and a
// rename, so that a stick pulled out midway leaves no half file under the name.
func writeOut(path string, b []byte) error {
	if path == "" {
		return usageMsg("usage.required", "output")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mediagate-carry-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// fileRefusal is the one-line refusal of a carried file: the reason's text in the
// reader's language and the file's name (the details go to the audit row).
func fileRefusal(path, reason string, err error) error {
	key := "err.carry." + reason
	if reason == "" || !catalog.Has(key) {
		return lerr("err.carry.other", path, err.Error())
	}
	return lerr(key, path)
}

// recordHostRefusal writes a carry.refused row to this host's register, if it has
// one.
func recordHostRefusal(ctx context.Context, app *App, typ string, file []byte, host, reason string, err error) {
	if reason == "" {
		reason = "error"
	}
	l, oerr := app.open(ctx)
	if oerr != nil {
		return
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if rerr := l.Service.RecordCarry(context.WithoutCancel(ctx), event.CarryRefused{Error: msg, File: carry.Digest(file),
		Host: host, Reason: reason, Type: typ}); rerr != nil {
		fmt.Fprintln(app.Err, "mediagate:", rerr)
	}
}

// ---- the host: enrolment by file

func runHostEnrollRequest(ctx context.Context, app *App, o enrollOptions) error {
	dir := app.officeDir()
	if hostclient.Enrolled(dir) && !o.Force {
		e, _ := hostclient.ReadEnrolment(dir)
		return usageMsg("usage.enrolled-twice", enrolledWhere(e))
	}
	host, baseline, err := enrollHostAndBaseline(ctx, app, o.Host)
	if err != nil {
		return err
	}
	b, err := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir, Host: host, Token: o.Token, Baseline: baseline,
		Force: o.Force, Now: app.Now})
	if err != nil {
		return err
	}
	if err := writeOut(o.Output, b); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]string{"host": host, "file": o.Output, "sha256": carry.Digest(b)})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-request", host, o.Output, carry.Digest(b)[:16]))
	return nil
}

func runHostEnrollResponse(ctx context.Context, app *App, o enrollOptions) error {
	dir := app.officeDir()
	if hostclient.Enrolled(dir) && !o.Force {
		e, _ := hostclient.ReadEnrolment(dir)
		return usageMsg("usage.enrolled-twice", enrolledWhere(e))
	}
	if o.Fingerprint == "" {
		return usageMsg("usage.required", "ca-fingerprint")
	}
	b, err := carry.ReadFile(o.Response, carry.KindEnrollResponse)
	if err == nil {
		var res *hostclient.EnrollResult
		res, err = hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: b, Fingerprint: o.Fingerprint,
			Force: o.Force, Now: app.Now})
		if err == nil {
			return printEnrolledByFile(app, res, dir)
		}
	}
	if errors.Is(err, hostclient.ErrNoPending) {
		return lerr("err.carry.no-pending", o.Response)
	}
	reason := carry.Reason(err)
	switch {
	case errors.Is(err, hostclient.ErrFingerprint):
		reason = "fingerprint"
	case errors.Is(err, hostclient.ErrEnrollAnswer):
		reason = "answer"
	case errors.Is(err, hostclient.ErrAlreadyEnrolled):
		return usageMsg("usage.enrolled-twice", "-")
	}
	recordHostRefusal(ctx, app, carry.KindEnrollResponse, b, "", reason, err)
	return fileRefusal(o.Response, reason, err)
}

func printEnrolledByFile(app *App, res *hostclient.EnrollResult, dir string) error {
	if app.JSON {
		out := struct {
			hostclient.Enrolment
			Standalone    bool   `json:"standalone"`
			PolicyVersion uint64 `json:"policy_version"`
		}{Enrolment: res.State.Enrolment, Standalone: true}
		if res.Policy != nil {
			out.PolicyVersion = res.Policy.Document.Version
		}
		return printJSON(app.Out, out)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enrolled-file", res.State.Host, dir))
	if res.Policy != nil {
		fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-policy", res.Policy.Document.Version, len(res.Policy.Document.Media)))
	} else {
		fmt.Fprintln(app.Err, T(app.Lang, "out.enroll-file-no-policy"))
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-restart"))
	return nil
}

func enrolledWhere(e hostclient.Enrolment) string {
	if e.Standalone() {
		return "file"
	}
	return e.Server
}

// enrollHostAndBaseline is the host number to enrol (the flag, else the local
// profile's) and the internal disks, as network enrolment takes them.
func enrollHostAndBaseline(ctx context.Context, app *App, host string) (string, []string, error) {
	if host == "" {
		if l, err := app.open(ctx); err == nil { // the local profile, never the server's
			if h, err := l.Service.Host(ctx); err == nil {
				host = h.Number
			}
		}
		if host == "" {
			return "", nil, usageMsg("usage.enroll-host")
		}
	}
	var baseline []string
	disks, err := identity.InternalDisks(app.roots())
	if err != nil && len(disks) == 0 {
		return "", nil, fmt.Errorf("list internal disks: %w", err)
	}
	for _, d := range disks {
		baseline = append(baseline, identity.BaselineKey(d))
	}
	return host, baseline, nil
}

// ---- the office: enrolment by file

type enrollFileOptions struct {
	Dir, Output    string
	Approve, Again bool
}

func newServerHostEnrollFileCommand(app *App, dir *string) *cobra.Command {
	var o enrollFileOptions
	cmd := &cobra.Command{
		Use: "enroll-file NUMBER REQUEST -o ANSWER",
		Example: `  mediagate server host enroll-file HOST-09 /media/transfer/HOST-09.request -o /media/transfer/HOST-09.answer
  mediagate server host enroll-file HOST-09 HOST-09.request -o HOST-09.answer --approve`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = *dir
			useServerDB(cmd, app, o.Dir)
			return runServerEnrollFile(cmd.Context(), app, args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "file to write the answer to (carry it back to the host) (required)")
	f.BoolVar(&o.Approve, "approve", false, "enrol a host whose request carries no token, on the officer's own say-so")
	f.BoolVar(&o.Again, "again", false, "with --approve: replace the certificate of a host enrolled before")
	cmd.MarkFlagRequired("output")
	return cmd
}

// officeFiles opens the office's register and keys for a carried file.
func officeFiles(ctx context.Context, app *App, dir string) (*server.Files, *service.Service, *pki.Office, error) {
	keys, err := pki.Load(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	api, err := app.Service(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := localService(api)
	if err != nil {
		return nil, nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: slog.LevelError}))
	return server.NewFiles(svc, keys, app.Now, log), svc, keys, nil
}

func runServerEnrollFile(ctx context.Context, app *App, host, path string, o enrollFileOptions) error {
	files, _, _, err := officeFiles(ctx, app, o.Dir)
	if err != nil {
		return err
	}
	b, err := carry.ReadFile(path, carry.KindEnrollRequest)
	var ans []byte
	if err == nil {
		ans, _, err = files.EnrollFile(ctx, b, server.EnrollOptions{Host: host, Approve: o.Approve, Again: o.Again})
	}
	if err != nil {
		var se *service.StoreError
		if errors.As(err, &se) && !errors.Is(err, service.ErrBadToken) {
			return err // a rule of the register (no such host…): its own message
		}
		files.Refused(ctx, carry.KindEnrollRequest, b, host, err)
		reason := server.FileReason(err)
		if reason == "bad-token" && errors.As(err, &se) {
			return lerr("err.carry.bad-token", path, se)
		}
		return fileRefusal(path, reason, err)
	}
	if err := writeOut(o.Output, ans); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]string{"host": host, "file": o.Output, "sha256": carry.Digest(ans)})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.enroll-answer", host, o.Output))
	return nil
}

// ---- policy by file

func newPolicyCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "policy"}
	cmd.AddCommand(newPolicyExportCommand(app), newPolicyImportCommand(app))
	return cmd
}

type policyExportOptions struct {
	Dir, Host, Output string
}

func newPolicyExportCommand(app *App) *cobra.Command {
	var o policyExportOptions
	cmd := &cobra.Command{
		Use:     "export --host NUMBER -o FILE",
		Example: "  mediagate policy export --host HOST-09 -o /media/transfer/HOST-09.policy",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, o.Dir)
			return runPolicyExport(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", DefaultServerDir, "the office server's directory: keys, certificates and (unless --db) the register office.db")
	f.StringVar(&o.Host, "host", "", "the host whose policy to write (required)")
	f.StringVarP(&o.Output, "output", "o", "", "file to write the signed policy to (required)")
	cmd.MarkFlagRequired("host")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runPolicyExport(ctx context.Context, app *App, o policyExportOptions) error {
	files, _, _, err := officeFiles(ctx, app, o.Dir)
	if err != nil {
		return err
	}
	env, version, err := files.ExportPolicy(ctx, o.Host)
	if errors.Is(err, server.ErrNoPolicy) {
		return lerr("err.no-office-host", o.Host)
	}
	if err != nil {
		return err
	}
	if err := writeOut(o.Output, env); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]any{"host": o.Host, "version": version, "file": o.Output, "sha256": carry.Digest(env)})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.policy-exported", o.Host, version, o.Output))
	return nil
}

func newPolicyImportCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "import FILE",
		Example: "  mediagate policy import /media/transfer/HOST-09.policy",
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runPolicyImport(cmd.Context(), app, args[0]) },
	}
}

func runPolicyImport(ctx context.Context, app *App, path string) error {
	st, err := hostclient.Load(app.officeDir())
	if errors.Is(err, hostclient.ErrNotEnrolled) {
		return usageMsg("usage.carry-not-enrolled")
	}
	if err != nil {
		return err
	}
	l, err := app.open(ctx)
	if err != nil {
		return err
	}
	b, err := readPolicyFile(path)
	if err != nil {
		return err
	}
	hw, err := policyHighWater(ctx, app, st)
	if err != nil {
		return err
	}
	record := func(ctx context.Context, _ event.Kind, details any) error { return l.Service.RecordCarry(ctx, details) }
	p, prev, err := hostclient.ImportPolicy(ctx, st, b, hw, record)
	if err != nil {
		reason := policydoc.Reason(err)
		if reason == "" {
			return err
		}
		return fileRefusal(path, "policy-"+reason, err)
	}
	if app.JSON {
		return printJSON(app.Out, map[string]any{"host": st.Host, "version": p.Document.Version, "previous": prev,
			"media": len(p.Document.Media)})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.policy-imported", p.Document.Version, prev, len(p.Document.Media)))
	return nil
}

func readPolicyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := policydoc.ReadEnvelope(f)
	if err != nil {
		return nil, fileRefusal(path, "policy-too-large", err)
	}
	return b, nil
}

// ---- the log by file

type logExportOptions struct{ Output string }

func newLogExportCommand(app *App) *cobra.Command {
	var o logExportOptions
	cmd := &cobra.Command{
		Use:     "export -o FILE",
		Example: "  mediagate log export -o /media/transfer/HOST-09.log",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runLogExport(cmd.Context(), app, o) },
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "file to write the rows since the last acknowledgement to (required)")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runLogExport(ctx context.Context, app *App, o logExportOptions) error {
	st, err := hostclient.Load(app.officeDir())
	if errors.Is(err, hostclient.ErrNotEnrolled) {
		return usageMsg("usage.carry-not-enrolled")
	}
	if err != nil {
		return err
	}
	ack, _, err := anchor.Load(anchor.File(app.DBPath))
	if err != nil {
		return exitError{code: ExitBroken, err: lerr("err.ack-unreadable", err.Error())}
	}
	l, err := app.open(ctx)
	if err != nil {
		return err
	}
	rows, err := l.Service.Events(ctx, service.EventFilter{AfterSeq: ack.Seq})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		if app.JSON {
			return printJSON(app.Out, map[string]any{"host": st.Host, "rows": 0, "acknowledged": ack.Seq})
		}
		fmt.Fprintln(app.Out, T(app.Lang, "out.log-export-none", ack.Seq))
		return nil
	}
	more := len(rows) > carry.MaxLogRows
	if more {
		rows = rows[:carry.MaxLogRows]
	}
	b, batch, err := st.SealLog(ack.Seq, rows, app.Now())
	if err != nil {
		return err
	}
	if err := writeOut(o.Output, b); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]any{"host": st.Host, "first": batch.First, "last": batch.Last, "rows": len(rows),
			"more": more, "file": o.Output, "sha256": carry.Digest(b)})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.log-exported", batch.First, batch.Last, st.Host, o.Output))
	if more {
		fmt.Fprintln(app.Out, T(app.Lang, "out.log-export-more"))
	}
	return nil
}

type logImportOptions struct {
	Dir, Output string
	AckAgain    bool
}

func newLogImportCommand(app *App) *cobra.Command {
	var o logImportOptions
	cmd := &cobra.Command{
		Use:     "import FILE -o ACK",
		Example: "  mediagate log import /media/transfer/HOST-09.log -o /media/transfer/HOST-09.ack",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			useServerDB(cmd, app, o.Dir)
			return runLogImport(cmd.Context(), app, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", DefaultServerDir, "the office server's directory: keys, certificates and (unless --db) the register office.db")
	f.StringVarP(&o.Output, "output", "o", "", "file to write the office's acknowledgement to (carry it back to the host) (required)")
	f.BoolVar(&o.AckAgain, "ack-again", false, "a file whose rows the office already holds: write its acknowledgement again (the host never got it)")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runLogImport(ctx context.Context, app *App, path string, o logImportOptions) error {
	files, svc, keys, err := officeFiles(ctx, app, o.Dir)
	if err != nil {
		return err
	}
	recv, err := officeLedger(app, svc, keys)
	if err != nil {
		return err
	}
	b, err := carry.ReadFile(path, carry.KindLog)
	var imp server.LogImport
	if err == nil {
		imp, err = files.ImportLog(ctx, b, recv, o.AckAgain)
	}
	if err != nil {
		reason := server.FileReason(err)
		files.Refused(ctx, carry.KindLog, b, imp.Host, err)
		if reason == "replay" {
			return lerr("err.carry.log-replay", path, imp.Held)
		}
		return fileRefusal(path, reason, err)
	}
	if err := writeOut(o.Output, imp.Ack.Marshal()); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]any{"host": imp.Host, "first": imp.Batch.First, "last": imp.Batch.Last,
			"rows": len(imp.Batch.Rows), "ack_seq": imp.Ack.Seq, "file": o.Output})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.log-imported", imp.Batch.First, imp.Batch.Last, imp.Host, imp.Ack.Seq, o.Output))
	return nil
}

func newLogAckCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "ack FILE",
		Example: "  mediagate log ack /media/transfer/HOST-09.ack",
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runLogAck(cmd.Context(), app, args[0]) },
	}
}

// runLogAck stores the office's acknowledgement carried back: signed with the
// office's key (the policy key of the enrolment), for this host's register, newer
// than the one held, and of a row this host's log holds with that very hash.
func runLogAck(ctx context.Context, app *App, path string) error {
	st, err := hostclient.Load(app.officeDir())
	if errors.Is(err, hostclient.ErrNotEnrolled) {
		return usageMsg("usage.carry-not-enrolled")
	}
	if err != nil {
		return err
	}
	l, err := app.open(ctx)
	if err != nil {
		return err
	}
	raw, err := readAckFile(path)
	if err != nil {
		return err
	}
	cur, _, curErr := anchor.Load(anchor.File(app.DBPath))
	a, reason, err := checkAck(ctx, l.Service, st, raw, cur)
	if err == nil && curErr != nil {
		// The acknowledgement held does not read: someone changed it. A new one
		// replaces it only through audit verify's eyes, not silently.
		err, reason = curErr, "held-unreadable"
	}
	if err != nil {
		recordHostRefusal(ctx, app, "ack", raw, st.Host, reason, err)
		return fileRefusal(path, reason, err)
	}
	if err := anchor.Save(anchor.File(app.DBPath), a); err != nil {
		return err
	}
	if err := l.Service.RecordCarry(ctx, event.CarryAck{File: carry.Digest(raw), Hash: a.Hash, Host: st.Host, Previous: cur.Seq, Seq: a.Seq}); err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, map[string]any{"host": st.Host, "seq": a.Seq, "hash": a.Hash, "previous": cur.Seq})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.log-acked", a.Seq, anchor.File(app.DBPath)))
	return nil
}

func checkAck(ctx context.Context, svc *service.Service, st *hostclient.State, raw []byte, cur anchor.Ack) (anchor.Ack, string, error) {
	a, err := anchor.Parse(raw)
	if err != nil {
		return a, "malformed", err
	}
	if err := a.Verify(st.PolicyKey); err != nil {
		return a, "bad-signature", err
	}
	switch {
	case a.Seq < cur.Seq:
		return a, "old", fmt.Errorf("%w: acknowledges row %d, row %d is acknowledged already", carry.ErrOld, a.Seq, cur.Seq)
	case a.Seq == cur.Seq && a.Hash == cur.Hash && a.Host == cur.Host:
		return a, "ack-replay", fmt.Errorf("%w: row %d is acknowledged already", carry.ErrReplay, a.Seq)
	}
	rows, err := svc.Events(ctx, service.EventFilter{AfterSeq: a.Seq - 1, Limit: 0})
	if err != nil {
		return a, "", err
	}
	var row *audit.Event
	for _, e := range rows {
		if e.Seq == a.Seq {
			row = e
			break
		}
	}
	switch {
	case row == nil:
		return a, "ack-not-held", fmt.Errorf("acknowledgement of row %d: this host's log has no such row", a.Seq)
	case row.HostID != a.Host:
		return a, "other-host", fmt.Errorf("%w: acknowledgement of register %s, this host's is %s", carry.ErrOtherHost, a.Host, row.HostID)
	case row.Hash != a.Hash:
		return a, "ack-not-held", fmt.Errorf("acknowledgement of row %d with another hash than this host's log holds", a.Seq)
	}
	return a, "", nil
}

// officeLedger is the office's ledger of the hosts' logs, which log import hands the
// rows of a file to: the same ledger the server's endpoint uses.
func officeLedger(app *App, svc *service.Service, keys *pki.Office) (server.Receiver, error) {
	st, ok := svc.Store().(ledger.Store)
	if !ok {
		return nil, lerr("err.carry.no-ledger")
	}
	return ledger.New(ledger.Config{Store: st, Key: keys.PolicyKey, Now: app.Now,
		Log: slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: slog.LevelError}))})
}

// readAckFile reads an acknowledgement file, at most a little more than
// anchor.Parse accepts (it refuses the rest as too long).
func readAckFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 8<<10))
}
