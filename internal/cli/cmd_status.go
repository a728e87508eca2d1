package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/checkin"
	"mediagate/internal/control"
	"mediagate/internal/daemon"
)

type statusOptions struct {
	Recent int
	Rescan bool
}

func newStatusCommand(app *App) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use: "status",
		Example: `  mediagate status
  mediagate status --json
  sudo mediagate status --rescan`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runStatus(cmd.Context(), app, o) },
	}
	cmd.Flags().IntVar(&o.Recent, "recent", 10, "how many recent decisions to show")
	cmd.Flags().BoolVar(&o.Rescan, "rescan", false, "decide every present device again first (root or officer group)")
	return cmd
}

func runStatus(ctx context.Context, app *App, o statusOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lang := app.Lang
	if o.Rescan {
		if _, err := app.callDaemon(ctx, control.Request{Op: control.OpRescan}); err != nil {
			return fmt.Errorf("%s", T(lang, "err.daemon-call", app.Paths.ControlSocket(), err))
		}
	}
	resp, err := app.callDaemon(ctx, control.Request{Op: control.OpStatus})
	if err != nil {
		return fmt.Errorf("%s", T(lang, "err.daemon-call", app.Paths.ControlSocket(), err))
	}
	st := new(daemon.Status)
	if err := resp.DecodeStatus(st); err != nil {
		return fmt.Errorf("%s", T(lang, "err.daemon-call", app.Paths.ControlSocket(), err))
	}
	// An open check-in campaign shows here too (from the registry, not the daemon).
	var campaign *checkinSummary
	if s, err := app.Service(ctx); err == nil {
		if c, err := s.OpenCampaignNow(ctx); err == nil {
			if r, err := campaignReport(ctx, app, c.Year, checkin.ByCustodian); err == nil {
				campaign = &checkinSummary{Year: c.Year, Deadline: c.Deadline, Totals: r.Totals}
			}
		}
	}
	if app.JSON {
		return printJSON(app.Out, struct {
			*daemon.Status
			Checkin *checkinSummary `json:"checkin,omitempty"`
		}{st, campaign})
	}
	w := app.Out
	field(w, lang, "field.daemon-state", st.State)
	field(w, lang, "field.daemon-since", st.Started.Local().Format("2006-01-02 15:04:05"))
	field(w, lang, "field.host", strings.TrimSpace(st.Host+" "+st.HostLevel))
	field(w, lang, "field.mode", st.Mode)
	field(w, lang, "field.source", st.Source)
	field(w, lang, "field.locked-hubs", strings.Join(st.LockedHubs, ", "))
	field(w, lang, "field.counts", T(lang, "out.daemon-counts", st.Counts.Events, st.Counts.Decisions,
		st.Counts.Allowed, st.Counts.Blocked, st.Counts.Errors))
	if m := st.Memory; m != nil && m.RSSKiB > 0 {
		mb := func(kib int64) float64 { return float64(kib) / 1024 }
		line := T(lang, "out.daemon-memory", mb(m.RSSKiB), mb(m.AnonKiB), mb(m.FileKiB),
			mb(m.GoHeapKiB), mb(m.GoLiveKiB), mb(m.GoStacksKiB))
		if m.SQLiteKiB > 0 {
			line += T(lang, "out.sqlite-memory", mb(m.SQLiteKiB))
		}
		field(w, lang, "field.memory", line)
	}
	if c := campaign; c != nil {
		field(w, lang, "field.ci-campaign", T(lang, "out.status-campaign", c.Year, localTime(c.Deadline),
			c.Totals.CheckedIn, c.Totals.Expected, c.Totals.Outstanding))
	}
	if o := st.Office; o != nil {
		server, version := officeLine(lang, o)
		field(w, lang, "field.office", server)
		if version != "" {
			field(w, lang, "field.office-policy", version)
		}
		if !o.RefusedAt.IsZero() {
			field(w, lang, "field.office-refused", T(lang, "out.office-refused", localTimeOrDash(o.RefusedAt), o.RefusedSource, o.RefusedReason))
		}
		if l := o.Log; l != nil {
			field(w, lang, "field.office-log", logShipLine(lang, l))
		}
		if o.CheckInsQueued > 0 {
			field(w, lang, "field.office-checkins", T(lang, "out.office-checkins-queued", o.CheckInsQueued))
		}
	}
	for _, p := range st.Problems {
		field(w, lang, "field.problem", p)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, T(lang, "out.daemon-present"))
	t := newTable(w, T(lang, "hdr.decisions"))
	for _, r := range st.Present {
		t.row(r.Time.Local().Format("01-02 15:04:05"), r.Name, r.Stage, string(r.Effective), string(r.Decision.Reason), r.Decision.Medium, r.Identity.Key)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, T(lang, "out.daemon-recent"))
	recent := st.Recent
	if o.Recent >= 0 && len(recent) > o.Recent {
		recent = recent[len(recent)-o.Recent:]
	}
	for _, r := range recent {
		fmt.Fprintf(w, "%s  %s  %s  %s\n", r.Time.Local().Format("01-02 15:04:05"), safe(r.Name), r.Effective,
			safe(catalog.Decision(lang, r.Decision)))
	}
	return nil
}

// checkinSummary is the open campaign as `status` shows it.
type checkinSummary struct {
	Year     int            `json:"year"`
	Deadline time.Time      `json:"deadline"`
	Totals   checkin.Totals `json:"totals"`
}

// logShipLine is the status line about the office's collection of this host's log.
func logShipLine(lang string, l *daemon.LogShipStatus) string {
	switch {
	case l.BrokenSeq != 0:
		return T(lang, "out.office-log-broken", l.BrokenSeq, l.BrokenReason)
	case l.LastError != "":
		return T(lang, "out.office-log-waiting", l.Acked, l.Head, l.LastError)
	}
	return T(lang, "out.office-log", l.Acked, l.Head, localTimeOrDash(l.AckedAt))
}
