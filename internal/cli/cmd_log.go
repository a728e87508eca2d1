package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/registry"
)

type logOptions struct {
	Medium, Since, Until, Kind string
	Limit                      int
	CSV                        bool
}

func newLogCommand(app *App) *cobra.Command {
	var o logOptions
	cmd := &cobra.Command{
		Use:   "log [--medium N] [--since T] [--until T] [--kind K]",
		Short: "Show the audit log",
		Long: `Show the audit log: every registration change (and later every device event), oldest
first. --kind takes an exact kind (medium.handover) or a prefix ending in a dot (medium.).
Times are YYYY-MM-DD, "YYYY-MM-DD HH:MM" (local time) or RFC 3339.`,
		Example: `  mediagate log --medium S-2026-0001
  mediagate log --since 2026-12-01 --kind medium.
  mediagate log --since 2026-01-01 --until 2027-01-01 --csv > log-2026.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runLog(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Medium, "medium", "", "only rows about this medium number")
	f.StringVar(&o.Since, "since", "", "only rows at or after this time")
	f.StringVar(&o.Until, "until", "", "only rows before this time (a date means the end of that day)")
	f.StringVar(&o.Kind, "kind", "", "only rows of this kind, or kinds with this prefix ending in '.'")
	f.IntVar(&o.Limit, "limit", 0, "only the newest N rows")
	f.BoolVar(&o.CSV, "csv", false, "print CSV")
	return cmd
}

func runLog(ctx context.Context, app *App, o logOptions) error {
	f := registry.EventFilter{Medium: o.Medium, Kind: o.Kind, Limit: o.Limit}
	var err error
	if o.Since != "" {
		if f.Since, err = parseTime(o.Since, false); err != nil {
			return err
		}
	}
	if o.Until != "" {
		if f.Until, err = parseTime(o.Until, true); err != nil {
			return err
		}
	}
	if o.Limit < 0 {
		return usagef("--limit must not be negative")
	}
	if o.CSV && app.JSON {
		return usagef("choose one of --json and --csv")
	}
	s, err := app.Store(ctx)
	if err != nil {
		return err
	}
	events, err := s.Events(ctx, f)
	if err != nil {
		return err
	}
	switch {
	case app.JSON:
		if events == nil {
			events = []*audit.Event{}
		}
		return printJSON(app.Out, events)
	case o.CSV:
		w := csv.NewWriter(app.Out)
		w.Write([]string{"seq", "id", "time", "host_id", "kind", "medium", "actor_uid", "actor_user", "actor_sudo", "details", "prev_hash", "hash"})
		for _, e := range events {
			w.Write([]string{fmt.Sprint(e.Seq), e.ID, e.Time.UTC().Format(audit.TimeLayout), e.HostID, e.Kind, csvSafe(e.Medium),
				fmt.Sprint(e.Actor.UID), csvSafe(e.Actor.User), csvSafe(e.Actor.SudoUser), csvSafe(string(e.Details)), e.PrevHash, e.Hash})
		}
		w.Flush()
		return w.Error()
	}
	return printEvents(app, events)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
