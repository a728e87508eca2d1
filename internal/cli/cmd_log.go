package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/service"
)

type logOptions struct {
	Medium, Since, Until, Kind string
	Custodian, Person, Host    string
	Limit                      int
	CSV, Follow, AllHosts      bool
	Interval                   time.Duration
}

func newLogCommand(app *App) *cobra.Command {
	var o logOptions
	cmd := &cobra.Command{
		Use: "log [--medium N] [--custodian H] [--person P] [--host H] [--since T] [--until T] [--kind K]",
		Example: `  mediagate log --medium S-2026-0001
  mediagate log --since 2026-12-01 --kind medium.
  mediagate log --kind mount. --person alice
  mediagate log --custodian zhang --host VM-01 --json
  mediagate log --all-hosts --medium S-2026-0001 --since 2026-01-01      # on the office server
  mediagate log --host HOST-07 --kind mount. --csv                       # HOST-07's collected log
  mediagate log --since 2026-01-01 --until 2027-01-01 --csv > log-2026.csv
  mediagate log --follow --kind device.
  mediagate log --follow --json | jq .`,
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
	f.BoolVar(&o.AllHosts, "all-hosts", false, "on the office server: the rows collected from every host too, in time order (--host H searches H's own)")
	f.BoolVar(&o.CSV, "csv", false, "print CSV")
	f.BoolVar(&o.Follow, "follow", false, "keep printing new rows as they are written (checks once a second); with --json one object per line")
	f.DurationVar(&o.Interval, "interval", time.Second, "how often --follow looks for new rows")
	f.MarkHidden("interval")
	// A standalone host's log carried to the office, and the office's
	// acknowledgement carried back (cmd_carry.go).
	cmd.AddCommand(newLogExportCommand(app), newLogImportCommand(app), newLogAckCommand(app))
	return cmd
}

func runLog(ctx context.Context, app *App, o logOptions) error {
	q := service.EventQuery{EventFilter: service.EventFilter{Medium: o.Medium, Kind: o.Kind, Limit: o.Limit},
		Custodian: o.Custodian, Person: o.Person, Host: o.Host, AllHosts: o.AllHosts}
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
	if o.Follow && o.Until != "" {
		return usageMsg("usage.follow-until")
	}
	if o.Follow && o.AllHosts {
		return usageMsg("usage.follow-all-hosts")
	}
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	events, err := s.SearchEvents(ctx, q)
	if err != nil {
		return err
	}
	if o.Follow {
		return followLog(ctx, app, s, q, o, events)
	}
	switch {
	case app.JSON:
		if events == nil {
			events = []*audit.Event{}
		}
		return printJSON(app.Out, events)
	case o.CSV:
		w := csv.NewWriter(app.Out)
		w.Write(logCSVHeader)
		for _, e := range events {
			w.Write(logCSVRecord(e))
		}
		w.Flush()
		return w.Error()
	}
	return printEvents(app, events)
}

var logCSVHeader = []string{"seq", "id", "time", "host_id", "kind", "medium", "actor_uid", "actor_user", "actor_login", "details", "prev_hash", "hash", "origin"}

func logCSVRecord(e *audit.Event) []string {
	return []string{fmt.Sprint(e.Seq), e.ID, e.Time.UTC().Format(audit.TimeLayout), e.HostID, csvSafe(string(e.Kind)), csvSafe(e.Medium),
		fmt.Sprint(e.Actor.UID), csvSafe(e.Actor.User), csvSafe(e.Actor.Login), csvSafe(string(e.Details)), e.PrevHash, e.Hash, csvSafe(e.Origin)}
}

// followLog prints the rows found so far, then every new row that matches as it is
// written, until interrupted. It polls the register (an indexed "seq > last" query)
// every o.Interval, one second by default: the register is a file that other
// processes (the daemon, other CLI runs) write, with nothing to wait on portably.
// --json prints one object per line, --csv the header once.
func followLog(ctx context.Context, app *App, s service.API, q service.EventQuery, o logOptions, events []*audit.Event) error {
	var cw *csv.Writer
	if o.CSV {
		cw = csv.NewWriter(app.Out)
		cw.Write(logCSVHeader)
	}
	header := true
	emit := func(events []*audit.Event) error {
		switch {
		case app.JSON:
			enc := json.NewEncoder(app.Out)
			for _, e := range events {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
		case cw != nil:
			for _, e := range events {
				cw.Write(logCSVRecord(e))
			}
			cw.Flush()
			return cw.Error()
		default:
			if len(events) == 0 && !header {
				return nil
			}
			t := eventTable(app, events)
			if !header {
				t.rows = t.rows[1:]
			}
			header = false
			return t.flush()
		}
		return nil
	}
	if err := emit(events); err != nil {
		return err
	}
	if len(events) > 0 {
		q.AfterSeq = events[len(events)-1].Seq
	} else if last, err := s.SearchEvents(ctx, service.EventQuery{EventFilter: service.EventFilter{Limit: 1}}); err != nil {
		return err
	} else if len(last) > 0 {
		q.AfterSeq = last[0].Seq
	}
	q.Limit = 0
	interval := o.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		events, err := s.SearchEvents(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(events) == 0 {
			continue
		}
		if err := emit(events); err != nil {
			return err
		}
		q.AfterSeq = events[len(events)-1].Seq
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
