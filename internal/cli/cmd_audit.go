package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/service"
)

func newAuditCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "audit",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "verify",
		Example: "  mediagate audit verify\n  mediagate audit verify --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), app)
		},
	})
	return cmd
}

type verifyResult struct {
	Intact   bool   `json:"intact"`
	Rows     int64  `json:"rows"`
	Head     string `json:"head,omitempty"`
	FirstBad int64  `json:"first_bad_row,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func runAuditVerify(ctx context.Context, app *App) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	n, err := s.VerifyLog(ctx)
	var be *audit.BrokenError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	res := verifyResult{Intact: err == nil, Rows: n}
	if be != nil {
		res.FirstBad, res.Reason = be.Seq, be.Reason
	} else if last, err := s.Events(ctx, service.EventFilter{Limit: 1}); err == nil && len(last) == 1 {
		res.Head = last[0].Hash
	}
	if app.JSON {
		if err := printJSON(app.Out, res); err != nil {
			return err
		}
	} else if be == nil {
		fmt.Fprintln(app.Out, T(app.Lang, "out.audit-ok", n, res.Head))
	}
	if be != nil {
		return exitError{code: ExitBroken, err: be}
	}
	return nil
}
