package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/service"
)

type logOptions struct {
	Medium, Since, Until, Kind string
	Custodian, Person, Host    string
	Limit                      int
	CSV                        bool
}

func newLogCommand(app *App) *cobra.Command {
	var o logOptions
	cmd := &cobra.Command{
		Use: "log [--medium N] [--custodian H] [--person P] [--host H] [--since T] [--until T] [--kind K]",
		Example: `  mediagate log --medium S-2026-0001
  mediagate log --since 2026-12-01 --kind medium.
  mediagate log --kind mount. --person alice
  mediagate log --custodian zhang --host VM-01 --json
  mediagate log --since 2026-01-01 --until 2027-01-01 --csv > log-2026.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runLog(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Medium, "medium", "", "only rows about this medium number")
	f.StringVar(&o.Since, "since", "", "only rows at or after this time")
	f.StringVar(&o.Until, "until", "", "only rows before this time (a date means the end of that day)")
	f.StringVar(&o.Kind, "kind", "", "only rows of this kind, or kinds with this prefix ending in '.'")
	f.StringVar(&o.Custodian, "custodian", "", "only rows about media of this custodian (handle)")
	f.StringVar(&o.Person, "person", "", "only rows where this person (handle or user name) acted, mounted, holds or is custodian")
	f.StringVar(&o.Host, "host", "", "only rows of this host (number, id or host name)")
	f.IntVar(&o.Limit, "limit", 0, "only the newest N rows")
	f.BoolVar(&o.CSV, "csv", false, "print CSV")
	return cmd
}

func runLog(ctx context.Context, app *App, o logOptions) error {
	q := service.EventQuery{EventFilter: service.EventFilter{Medium: o.Medium, Kind: o.Kind, Limit: o.Limit},
		Custodian: o.Custodian, Person: o.Person, Host: o.Host}
	f := &q.EventFilter
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
		return usageMsg("usage.limit")
	}
	if o.CSV && app.JSON {
		return usageMsg("usage.json-csv")
	}
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	events, err := s.SearchEvents(ctx, q)
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
		w.Write([]string{"seq", "id", "time", "host_id", "kind", "medium", "actor_uid", "actor_user", "actor_login", "details", "prev_hash", "hash"})
		for _, e := range events {
			w.Write([]string{fmt.Sprint(e.Seq), e.ID, e.Time.UTC().Format(audit.TimeLayout), e.HostID, csvSafe(string(e.Kind)), csvSafe(e.Medium),
				fmt.Sprint(e.Actor.UID), csvSafe(e.Actor.User), csvSafe(e.Actor.Login), csvSafe(string(e.Details)), e.PrevHash, e.Hash})
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
