package cli

import (
	"github.com/spf13/cobra"

	"mediagate/internal/media"
	"mediagate/internal/service"
)

func newMediaIssueCommand(app *App) *cobra.Command {
	var to, note string
	cmd := &cobra.Command{
		Use:     "issue NUMBER --to PERSON",
		Example: "  mediagate media issue S-2026-0001 --to zhangsan\n  mediagate media issue S-2026-0002 --to lisi --note 2027年度发放",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
				return svc.Issue(cmd.Context(), service.IssueRequest{Number: args[0], To: to, Note: note})
			})
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the custodian who receives it (required)")
	cmd.Flags().StringVar(&note, "note", "", "remarks")
	cmd.MarkFlagRequired("to")
	return cmd
}
