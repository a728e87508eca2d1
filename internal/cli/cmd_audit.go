package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"mediagate/internal/anchor"
	"mediagate/internal/hostclient"
	"mediagate/internal/replay"
	"mediagate/internal/service"
)

type auditVerifyOptions struct {
	AckFile   string // "" for anchor.File(db)
	OfficeKey string // "" for anchor.KeyFile(db)
}

func newAuditCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "audit",
	}
	var o auditVerifyOptions
	verify := &cobra.Command{
		Use:     "verify",
		Example: "  mediagate audit verify\n  mediagate audit verify --json\n  mediagate audit verify --office-key /etc/mediagate/office.pub",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), app, o)
		},
	}
	verify.Flags().StringVar(&o.AckFile, "ack", "", "the office's latest acknowledgement of this host's log (default: the register's file name + .ack)")
	verify.Flags().StringVar(&o.OfficeKey, "office-key", "", "the office's ed25519 public key, hex or base64 (default: office.pub next to the register)")
	cmd.AddCommand(verify)
	return cmd
}

type verifyResult struct {
	Intact   bool   `json:"intact"`
	Rows     int64  `json:"rows"`
	Head     string `json:"head,omitempty"`
	FirstBad int64  `json:"first_bad_row,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Register is the check of the register's tables against the log (absent when the
	// chain is broken).
	Register *registerResult `json:"register,omitempty"`
	// Ack is the office's acknowledgement checked against the log; absent when the
	// host has none.
	Ack *ackResult `json:"acknowledgement,omitempty"`
}

type registerResult struct {
	Matches      bool                  `json:"matches"`
	Findings     []replay.Finding      `json:"findings"`
	Unverifiable []replay.Unverifiable `json:"unverifiable,omitempty"`
}

type ackResult struct {
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Signature string `json:"signature"` // "verified" or "not-checked"
	InLog     bool   `json:"in_log"`
}

// loadAck reads the office's acknowledgement and checks its signature when the office
// key is there. An acknowledgement that cannot be read or does not verify is an error
// of exit status 3: someone changed it.
func loadAck(app *App, o auditVerifyOptions) (*anchor.Ack, *ackResult, string, error) {
	ackFile, keyFile := o.AckFile, o.OfficeKey
	if ackFile == "" {
		ackFile = anchor.File(app.DBPath)
	}
	if keyFile == "" {
		keyFile = anchor.KeyFile(app.DBPath)
	}
	a, ok, err := anchor.Load(ackFile)
	if err != nil {
		return nil, nil, "", exitError{code: ExitBroken, err: lerr("err.ack-unreadable", err.Error())}
	}
	if !ok {
		return nil, nil, "", nil
	}
	res := &ackResult{Seq: a.Seq, Hash: a.Hash, Signature: "not-checked"}
	var key ed25519.PublicKey
	key, haveKey, err := anchor.LoadPublicKey(keyFile)
	if err != nil {
		return nil, nil, "", err
	}
	if !haveKey && o.OfficeKey == "" {
		// An enrolled host checks with the office key of its enrolment (the office
		// signs acknowledgements with its policy key).
		if st, err := hostclient.Load(app.officeDir()); err == nil {
			key, haveKey, keyFile = st.PolicyKey, true, filepath.Join(st.Dir, hostclient.FilePolicyKey)
		}
	}
	if !haveKey {
		return &a, res, keyFile, nil
	}
	if err := a.Verify(key); err != nil {
		return nil, nil, "", exitError{code: ExitBroken, err: lerr("err.ack-signature", ackFile, keyFile)}
	}
	res.Signature = "verified"
	return &a, res, "", nil
}

func runAuditVerify(ctx context.Context, app *App, o auditVerifyOptions) error {
	api, err := app.Service(ctx)
	if err != nil {
		return err
	}
	s, err := localService(api)
	if err != nil {
		return err
	}
	ack, ackRes, noKey, err := loadAck(app, o)
	if err != nil {
		return err
	}
	rep, err := replay.Verify(ctx, s, replay.Options{Ack: ack})
	if errors.Is(err, service.ErrCannotReadRegister) {
		return lerr("err.cannot-read-register")
	}
	if err != nil {
		return err
	}
	res := verifyResult{Intact: rep.Intact(), Rows: rep.Rows, Head: rep.Head.Hash, Ack: ackRes}
	if be := rep.Broken; be != nil {
		res.Head, res.FirstBad, res.Reason = "", be.Seq, be.Reason
		if app.JSON {
			if err := printJSON(app.Out, res); err != nil {
				return err
			}
		}
		return exitError{code: ExitBroken, err: be}
	}
	res.Register = &registerResult{Matches: true, Findings: []replay.Finding{}, Unverifiable: rep.Unverifiable}
	for _, f := range rep.Findings {
		if f.Table == "acknowledgement" {
			continue
		}
		res.Register.Matches = false
		res.Register.Findings = append(res.Register.Findings, f)
	}
	if ackRes != nil {
		ackRes.InLog = rep.Anchored
	}
	if app.JSON {
		if err := printJSON(app.Out, res); err != nil {
			return err
		}
	} else {
		printVerify(app, rep, res, noKey)
	}
	if !rep.Intact() {
		return exitError{code: ExitBroken, err: lerr("err.register-tampered", len(rep.Findings))}
	}
	return nil
}

func printVerify(app *App, rep replay.Report, res verifyResult, noKey string) {
	l := app.Lang
	fmt.Fprintln(app.Out, T(l, "out.audit-ok", rep.Rows, rep.Head.Hash))
	for _, f := range rep.Findings {
		fmt.Fprintln(app.Out, findingText(l, f))
	}
	if res.Register.Matches {
		fmt.Fprintln(app.Out, T(l, "out.register-ok", rep.People, rep.Media, rep.Campaigns))
	}
	for _, u := range rep.Unverifiable {
		fmt.Fprintln(app.Out, T(l, "out.verify-unverifiable", u.Release, u.Table, u.Field, u.Row))
	}
	if res.Ack == nil {
		fmt.Fprintln(app.Out, T(l, "out.ack-none"))
		return
	}
	if noKey != "" {
		fmt.Fprintln(app.Out, T(l, "out.ack-unsigned", noKey))
	}
	if rep.Anchored {
		fmt.Fprintln(app.Out, T(l, "out.ack-ok", res.Ack.Seq, res.Ack.Hash))
	}
}

// findingText is one finding as a line in the reader's language.
func findingText(l string, f replay.Finding) string {
	switch f.Problem {
	case replay.ProblemNotInLog:
		return T(l, "out.verify-not-in-log", f.Table, f.Key, f.Register)
	case replay.ProblemMissing:
		return T(l, "out.verify-missing", f.Table, f.Key, f.Log, f.Row)
	case replay.ProblemLog:
		return T(l, "out.verify-log", f.Table, f.Key, f.Field, f.Log)
	case replay.ProblemAnchor:
		switch f.Field {
		case "host":
			return T(l, "out.verify-anchor-host", f.Row, f.Log, f.Register)
		case "hash":
			return T(l, "out.verify-anchor-hash", f.Row, f.Log, f.Register)
		}
		return T(l, "out.verify-anchor-missing", f.Row, f.Register)
	}
	return T(l, "out.verify-differs", f.Table, f.Key, f.Field, f.Register, f.Log, f.Row)
}
