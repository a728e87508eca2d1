package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/checkin"
	"mediagate/internal/identity"
	"mediagate/internal/service"
)

func newCheckinCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "checkin",
		Example: `  mediagate checkin open --year 2026 --deadline 2026-12-31
  mediagate checkin plug --from-device /dev/sdb --cabinet A --slot 3
  mediagate checkin mark S-2026-0007 --reason "disc cracked" --by zhangsan --cabinet A --slot 4
  mediagate checkin report --by department --format html --lang zh > 清点表.html
  mediagate checkin close`,
	}
	cmd.AddCommand(newCheckinOpenCommand(app), newCheckinMarkCommand(app), newCheckinPlugCommand(app),
		newCheckinStatusCommand(app), newCheckinReportCommand(app), newCheckinCloseCommand(app), newCheckinWatchCommand(app))
	return cmd
}

func newCheckinOpenCommand(app *App) *cobra.Command {
	var year int
	var deadline string
	cmd := &cobra.Command{
		Use:     "open --year YEAR [--deadline DATE]",
		Example: "  mediagate checkin open --year 2026\n  mediagate checkin open --year 2026 --deadline 2026-12-20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheckinOpen(cmd.Context(), app, year, deadline)
		},
	}
	cmd.Flags().IntVar(&year, "year", 0, "the year whose media are handed in (default: this year)")
	cmd.Flags().StringVar(&deadline, "deadline", "", "last day to hand in, YYYY-MM-DD (end of that day) or RFC 3339")
	return cmd
}

func runCheckinOpen(ctx context.Context, app *App, year int, deadline string) error {
	var dl time.Time
	if deadline != "" {
		var err error
		if dl, err = parseTime(deadline, true); err != nil {
			return err
		}
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.OpenCampaign(ctx, service.OpenCampaignRequest{Year: year, Deadline: dl})
	if err != nil {
		return err
	}
	c, n := res.Campaign, res.Expected
	if app.JSON {
		return printJSON(app.Out, struct {
			checkin.Campaign
			Expected int `json:"expected"`
		}{c, n})
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.ci-opened", c.Year, n, localTime(c.Deadline)))
	return nil
}

type markOptions struct {
	Numbers                   []string
	Reason, By, Cabinet, Slot string
	Away                      bool
}

func newCheckinMarkCommand(app *App) *cobra.Command {
	var o markOptions
	cmd := &cobra.Command{
		Use: "mark NUMBER... --reason TEXT --by PERSON [--cabinet C --slot S] [--away]",
		Example: `  mediagate checkin mark S-2026-0007 --reason "disc cracked, kept in sleeve" --by zhangsan --cabinet A --slot 4
  mediagate checkin mark C-2026-0002 --reason "at the repairer, approval 2026-31" --by wangwu --away
  mediagate checkin mark S-2026-0011 S-2026-0012 S-2026-0013 --reason "no reader at the station" --by lisi --cabinet B`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Numbers = args
			return runCheckinMark(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Reason, "reason", "", "why it is checked in by hand (required)")
	f.StringVar(&o.By, "by", "", "who handed it in (required)")
	f.StringVar(&o.Cabinet, "cabinet", "", "cabinet it is kept in")
	f.StringVar(&o.Slot, "slot", "", "slot in the cabinet")
	f.BoolVar(&o.Away, "away", false, "a medium in repair that stays at the repairer")
	cmd.MarkFlagRequired("reason")
	cmd.MarkFlagRequired("by")
	return cmd
}

// runCheckinMark checks in each number given, one after the other: a number that is
// refused is reported on stderr and the others are still checked in; the command
// then fails (exit 1) naming how many were refused. A number given twice is a usage
// error before anything is checked in.
func runCheckinMark(ctx context.Context, app *App, o markOptions) error {
	seen := map[string]bool{}
	for _, n := range o.Numbers {
		if seen[n] {
			return usageMsg("usage.number-twice", n)
		}
		seen[n] = true
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	var done []service.CheckInResult
	failed := 0
	for _, n := range o.Numbers {
		res, err := svc.CheckInManual(ctx, service.ManualCheckIn{Number: n, Reason: o.Reason, By: o.By, Cabinet: o.Cabinet, Slot: o.Slot, Away: o.Away})
		if err != nil {
			if len(o.Numbers) == 1 || ctx.Err() != nil {
				return err
			}
			failed++
			fmt.Fprintln(app.Err, "mediagate: "+safe(n)+": "+describe(err, app.Lang))
			continue
		}
		done = append(done, res)
		if !app.JSON {
			if err := printCheckIn(app, res); err != nil {
				return err
			}
		}
	}
	if app.JSON {
		if len(o.Numbers) == 1 {
			return printCheckIn(app, done[0])
		}
		type line struct {
			checkin.CheckIn
			Left          int `json:"left"`
			LeftCustodian int `json:"left_custodian"`
		}
		out := []line{}
		for _, r := range done {
			out = append(out, line{r.CheckIn, r.Left, r.LeftCustodian})
		}
		if err := printJSON(app.Out, out); err != nil {
			return err
		}
	}
	if failed > 0 {
		return lerr("err.batch-failed", failed, len(o.Numbers))
	}
	return nil
}

// printCheckIn prints one check-in with what is left, as `plug`, `mark` and `watch` do.
func printCheckIn(app *App, res service.CheckInResult) error {
	ci, total, ofCust := res.CheckIn, res.Left, res.LeftCustodian
	if app.JSON {
		return printJSON(app.Out, struct {
			checkin.CheckIn
			Left          int `json:"left"`
			LeftCustodian int `json:"left_custodian"`
		}{ci, total, ofCust})
	}
	fmt.Fprintln(app.Out, checkInLine(app.Lang, ci, total, ofCust))
	return nil
}

func checkInLine(l string, ci checkin.CheckIn, total, ofCust int) string {
	what := ""
	if ci.Cabinet != "" || ci.Slot != "" {
		what += T(l, "out.ci-place", ci.Cabinet, ci.Slot)
	}
	if ci.Manual {
		what += T(l, "out.ci-manual", ci.Reason, ci.By)
	}
	if ci.Away {
		what += T(l, "out.ci-away")
	}
	return safe(T(l, "out.ci-in", ci.Number, ci.Custodian, what, ci.Custodian, ofCust, total))
}

type plugOptions struct {
	Number, Device, Cabinet, Slot string
}

func newCheckinPlugCommand(app *App) *cobra.Command {
	var o plugOptions
	cmd := &cobra.Command{
		Use:     "plug [NUMBER] [--from-device DEV] [--cabinet C --slot S]",
		Example: "  mediagate checkin plug --from-device /dev/sdb --cabinet A --slot 3\n  mediagate checkin plug S-2026-0001",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Number = args[0]
			}
			return runCheckinPlug(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Device, "from-device", "", "the plugged-in device (/dev/sdX, /dev/sr0, usb:PORT)")
	f.StringVar(&o.Cabinet, "cabinet", "", "cabinet it is kept in")
	f.StringVar(&o.Slot, "slot", "", "slot in the cabinet")
	return cmd
}

func runCheckinPlug(ctx context.Context, app *App, o plugOptions) error {
	if o.Number == "" && o.Device == "" {
		return usageError{lerr("err.ci-plug-args")}
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	if _, err := svc.OpenCampaignNow(ctx); err != nil {
		return err
	}
	ref := o.Device
	if ref == "" {
		m, err := svc.Medium(ctx, o.Number)
		if err != nil {
			return err
		}
		devs, scanErr := identity.Scan(app.roots())
		for _, d := range devs {
			if d.Identity.Key != "" && d.Identity.Key == m.Identity.Key {
				ref = deviceRef(d)
				break
			}
		}
		if ref == "" {
			if scanErr != nil {
				return fmt.Errorf("list devices: %w", scanErr)
			}
			return lerr("err.ci-not-attached", o.Number)
		}
	}
	seen, _, err := identityFromDevice(app, ref, "")
	if err != nil {
		return err
	}
	res, err := svc.CheckInPlug(ctx, service.PlugRequest{Seen: seen, Device: ref, Number: o.Number, Cabinet: o.Cabinet, Slot: o.Slot})
	if err != nil {
		return err
	}
	return printCheckIn(app, res.CheckInResult)
}

// campaignReport loads a campaign (the open one, else the latest, or the year's) and
// builds its report.
func campaignReport(ctx context.Context, app *App, year int, by checkin.GroupBy) (checkin.Report, error) {
	svc, err := app.Service(ctx)
	if err != nil {
		return checkin.Report{}, err
	}
	r, err := svc.CampaignReport(ctx, year, by)
	if err != nil {
		return checkin.Report{}, err
	}
	return r, nil
}

func newCheckinStatusCommand(app *App) *cobra.Command {
	var year int
	cmd := &cobra.Command{
		Use:     "status [--year YEAR]",
		Example: "  mediagate checkin status\n  mediagate checkin status --year 2025 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheckinStatus(cmd.Context(), app, year)
		},
	}
	cmd.Flags().IntVar(&year, "year", 0, "the campaign of this year (default: the open one, else the latest)")
	return cmd
}

func runCheckinStatus(ctx context.Context, app *App, year int) error {
	r, err := campaignReport(ctx, app, year, checkin.ByCustodian)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, struct {
			Campaign checkin.Campaign `json:"campaign"`
			AsOf     time.Time        `json:"as_of"`
			Totals   checkin.Totals   `json:"totals"`
		}{r.Campaign, r.AsOf, r.Totals})
	}
	l, w, c, t := app.Lang, app.Out, r.Campaign, r.Totals
	state := T(l, "ci.open")
	if !c.IsOpen() {
		state = T(l, "ci.closed")
	}
	field(w, l, "field.ci-campaign", fmt.Sprintf("%d (%s)", c.Year, state))
	field(w, l, "field.ci-opened", localTime(c.Opened))
	field(w, l, "field.ci-deadline", localTime(c.Deadline))
	field(w, l, "field.ci-closed", localTime(c.Closed))
	field(w, l, "field.ci-expected", strconv.Itoa(t.Expected))
	field(w, l, "field.ci-checked-in", T(l, "out.ci-of-manual", t.CheckedIn, t.Manual))
	field(w, l, "field.ci-away", strconv.Itoa(t.Away))
	field(w, l, "field.ci-outstanding", T(l, "out.ci-of-overdue", t.Outstanding, t.Overdue))
	field(w, l, "field.ci-missing", strconv.Itoa(t.Missing))
	field(w, l, "field.ci-withdrawn", strconv.Itoa(t.Withdrawn))
	field(w, l, "field.ci-sha", c.ReportSHA256)
	return nil
}

type reportOptions struct {
	Year             int
	By, Format, Unit string
	Saved, OnlyTo    bool
}

func newCheckinReportCommand(app *App) *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use: "report [--by custodian|department] [--format text|csv|json|html] [--year YEAR]",
		Example: `  mediagate checkin report
  mediagate checkin report --outstanding
  mediagate checkin report --by department --format csv > 2026.csv
  mediagate --lang zh checkin report --format html > 清点表.html
  mediagate checkin report --year 2026 --saved | sha256sum`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if app.JSON && cmd.Flags().Changed("format") && o.Format != "json" {
				return usageMsg("usage.json-format", o.Format)
			}
			return runCheckinReport(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Year, "year", 0, "the campaign of this year (default: the open one, else the latest)")
	f.StringVar(&o.By, "by", "custodian", "group by custodian or department")
	f.StringVar(&o.Format, "format", "text", "text, csv, json or html")
	f.BoolVar(&o.Saved, "saved", false, "print the final report saved at close")
	f.BoolVar(&o.OnlyTo, "outstanding", false, "list only media still to be handed in (text and csv)")
	f.StringVar(&o.Unit, "unit", "", "the unit's name at the head of every page of the html sheet")
	return cmd
}

func runCheckinReport(ctx context.Context, app *App, o reportOptions) error {
	by, err := checkin.ParseGroupBy(o.By)
	if err != nil {
		return usageError{lerr("err.ci-by", o.By)}
	}
	format := o.Format
	if app.JSON {
		format = "json"
	}
	switch format {
	case "text", "csv", "json", "html":
	default:
		return usageError{lerr("err.ci-format", o.Format)}
	}
	if o.Saved {
		svc, err := app.Service(ctx)
		if err != nil {
			return err
		}
		b, _, err := svc.FinalReport(ctx, o.Year)
		if err != nil {
			return err
		}
		_, err = app.Out.Write(b)
		return err
	}
	r, err := campaignReport(ctx, app, o.Year, by)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		return printJSON(app.Out, r)
	case "html":
		return checkin.WriteHTML(app.Out, r, checkin.SheetOptions{Lang: app.Lang, Location: time.Local, Unit: o.Unit},
			func(key string, args ...any) string { return T(app.Lang, key, args...) })
	case "csv":
		return writeReportCSV(app, r, o.OnlyTo)
	}
	return writeReportText(app, r, o.OnlyTo)
}

func writeReportText(app *App, r checkin.Report, onlyPending bool) error {
	l, w, t := app.Lang, app.Out, r.Totals
	fmt.Fprintln(w, T(l, "out.ci-head", r.Campaign.Year, localTime(r.AsOf), localTime(r.Campaign.Deadline)))
	fmt.Fprintln(w, T(l, "out.ci-summary", t.Expected, t.CheckedIn, t.Manual, t.Away, t.Outstanding, t.Overdue, t.Missing))
	if t.Withdrawn > 0 {
		fmt.Fprintln(w, T(l, "out.ci-withdrawn", t.Withdrawn))
	}
	for _, g := range r.Groups {
		if onlyPending && g.Totals.Outstanding == 0 {
			continue
		}
		name := g.Key
		if g.Name != "" {
			name += " " + g.Name
		}
		if name == "" {
			name = T(l, "sheet.no-department")
		}
		fmt.Fprintf(w, "\n%s\n", safe(T(l, "out.ci-group", name, g.Totals.Expected, g.Totals.Outstanding)))
		tb := newTable(w, T(l, "hdr.ci"))
		for _, ln := range g.Lines {
			if onlyPending && !ln.State.Pending() {
				continue
			}
			state := T(l, "state."+string(ln.State))
			if ln.DaysOverdue > 0 {
				state += " " + T(l, "sheet.days-overdue", ln.DaysOverdue)
			}
			at, place, remarks := "", "", ""
			if ci := ln.CheckIn; ci != nil {
				at = localTime(ci.At)
				place = strings.Trim(ci.Cabinet+"/"+ci.Slot, "/")
				if ci.Manual {
					remarks = T(l, "sheet.manual-by", ci.By) + ": " + ci.Reason
				}
			}
			if r.By == checkin.ByDepartment {
				remarks = strings.TrimSpace(ln.Custodian + " " + remarks)
			}
			tb.row(ln.Number, catalog.Kind(l, ln.Kind), catalog.Level(l, ln.Level), catalog.Status(l, ln.Status), state, at, place, remarks)
		}
		if err := tb.flush(); err != nil {
			return err
		}
	}
	return nil
}

func writeReportCSV(app *App, r checkin.Report, onlyPending bool) error {
	// In English the header and the values are the register's keys (for scripts); in
	// Chinese they are the words an officer reads, with a byte order mark so that a
	// spreadsheet opens the file as UTF-8.
	zh := app.Lang == catalog.ZH
	if zh {
		if _, err := io.WriteString(app.Out, "\ufeff"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(app.Out)
	cw.Write(strings.Split(T(app.Lang, "hdr.ci-csv"), "\t"))
	for _, g := range r.Groups {
		for _, ln := range g.Lines {
			if onlyPending && !ln.State.Pending() {
				continue
			}
			kind, level, status, state := string(ln.Kind), ln.Level.String(), string(ln.Status), string(ln.State)
			if zh {
				kind, level, status, state = catalog.Kind(app.Lang, ln.Kind), catalog.Level(app.Lang, ln.Level), catalog.Status(app.Lang, ln.Status), T(app.Lang, "state."+state)
			}
			rec := []string{g.Key, ln.Number, kind, level, ln.Serial, ln.Custodian, ln.CustodianName, ln.Department,
				status, state, strconv.Itoa(ln.DaysOverdue), "", "", "", "", "", "", ""}
			if ci := ln.CheckIn; ci != nil {
				source, manual := string(ci.Source), strconv.FormatBool(ci.Manual)
				if zh {
					source, manual = T(app.Lang, "source."+source), catalog.YesNo(app.Lang, ci.Manual)
				}
				copy(rec[11:], []string{ci.At.UTC().Format(time.RFC3339), source, manual, ci.By, ci.Reason, ci.Cabinet, ci.Slot})
			}
			for i, v := range rec {
				rec[i] = csvSafe(v)
			}
			cw.Write(rec)
		}
	}
	cw.Flush()
	return cw.Error()
}

type closeOptions struct {
	Yes, DryRun bool
}

func newCheckinCloseCommand(app *App) *cobra.Command {
	var o closeOptions
	cmd := &cobra.Command{
		Use:     "close [--dry-run] [--yes]",
		Example: "  mediagate checkin close --dry-run\n  mediagate checkin close\n  mediagate checkin close --yes   # before the deadline, from a script",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runCheckinClose(cmd.Context(), app, o) },
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "say what closing now would do, and change nothing")
	cmd.Flags().BoolVar(&o.Yes, "yes", false, "close before the deadline without asking")
	return cmd
}

func runCheckinClose(ctx context.Context, app *App, o closeOptions) error {
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	plan, err := svc.PlanClose(ctx)
	if err != nil {
		return err
	}
	l := app.Lang
	if o.DryRun {
		if app.JSON {
			return printJSON(app.Out, struct {
				Campaign       checkin.Campaign `json:"campaign"`
				BeforeDeadline bool             `json:"before_deadline"`
				Vault          int              `json:"vault"`
				Away           int              `json:"away"`
				Missing        int              `json:"missing"`
				Withdrawn      int              `json:"withdrawn"`
				MissingMedia   []checkin.Item   `json:"missing_media"`
			}{plan.Campaign, plan.BeforeDeadline, plan.Vault, plan.Away, plan.Missing, plan.Withdrawn, nonNil(plan.MissingItems)})
		}
		fmt.Fprintln(app.Out, T(l, "out.ci-would-close", plan.Campaign.Year, plan.Vault, plan.Away, plan.Missing, plan.Withdrawn))
		if plan.BeforeDeadline {
			fmt.Fprintln(app.Out, T(l, "out.ci-before-deadline", localTime(plan.Campaign.Deadline)))
		}
		for _, it := range plan.MissingItems {
			fmt.Fprintln(app.Out, safe(T(l, "out.ci-missing", it.Number, it.Custodian)))
		}
		return nil
	}
	if plan.BeforeDeadline && !o.Yes {
		if err := confirm(ctx, app, "out.ci-close-confirm", plan.Campaign.Year, localTime(plan.Campaign.Deadline), plan.Missing); err != nil {
			return err
		}
	}
	res, err := svc.CloseCampaign(ctx, service.CloseRequest{Early: plan.BeforeDeadline})
	if err != nil {
		return err
	}
	final := res.Final
	if app.JSON {
		return printJSON(app.Out, struct {
			Campaign  checkin.Campaign `json:"campaign"`
			Vault     int              `json:"vault"`
			Away      int              `json:"away"`
			Missing   int              `json:"missing"`
			Withdrawn int              `json:"withdrawn"`
		}{res.Campaign, res.Vault, res.Away, res.Missing, res.Withdrawn})
	}
	fmt.Fprintln(app.Out, T(l, "out.ci-closed", res.Campaign.Year, res.Vault, res.Away, res.Missing, res.Withdrawn))
	for _, g := range final.Groups {
		for _, ln := range g.Lines {
			if ln.State == checkin.StateMissing {
				fmt.Fprintln(app.Out, safe(T(l, "out.ci-missing", ln.Number, ln.Custodian)))
			}
		}
	}
	fmt.Fprintln(app.Out, T(l, "out.ci-sha", res.Campaign.ReportSHA256))
	return nil
}

func newCheckinWatchCommand(app *App) *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:     "watch",
		Example: "  mediagate checkin watch\n  mediagate checkin watch --json   # one object per line",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheckinWatch(cmd.Context(), app, interval)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often to look for new check-ins")
	cmd.Flags().MarkHidden("interval")
	return cmd
}

func runCheckinWatch(ctx context.Context, app *App, interval time.Duration) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	c, err := s.OpenCampaignNow(ctx)
	if err != nil {
		return err
	}
	seen, err := s.CheckInsSince(ctx, c.ID, 0)
	if err != nil {
		return err
	}
	var seq int64
	if len(seen) > 0 {
		seq = seen[len(seen)-1].Seq
	}
	total, _, err := s.Outstanding(ctx, c.ID, "")
	if err != nil {
		return err
	}
	l := app.Lang
	// With --json every line is one object: "start", each "checkin", then "all-in" or
	// "closed".
	enc := json.NewEncoder(app.Out)
	type watchLine struct {
		Event string `json:"event"`
		Year  int    `json:"year"`
		Left  int    `json:"left"`
		*checkin.CheckIn
		LeftCustodian *int `json:"left_custodian,omitempty"`
	}
	if app.JSON {
		if err := enc.Encode(watchLine{Event: "start", Year: c.Year, Left: total}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(app.Out, T(l, "out.ci-watch", c.Year, total))
	}
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if total == 0 {
			if app.JSON {
				return enc.Encode(watchLine{Event: "all-in", Year: c.Year})
			}
			fmt.Fprintln(app.Out, T(l, "out.ci-all-in"))
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// Count what is left before reading the new check-ins: every check-in this
		// count misses is then in the list, so "all in" is never said before the last
		// check-in was printed.
		left, _, err := s.Outstanding(ctx, c.ID, "")
		if err != nil {
			return err
		}
		list, err := s.CheckInsSince(ctx, c.ID, seq)
		if err != nil {
			return err
		}
		for _, ci := range list {
			seq = ci.Seq
			total, ofCust, err := s.Outstanding(ctx, c.ID, ci.Custodian)
			if err != nil {
				return err
			}
			if app.JSON {
				if err := enc.Encode(watchLine{Event: "checkin", Year: c.Year, Left: total, CheckIn: &ci, LeftCustodian: &ofCust}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(app.Out, localTime(ci.At)+"  "+checkInLine(l, ci, total, ofCust))
		}
		if now, err := s.Campaign(ctx, c.Year); err != nil {
			return err
		} else if !now.IsOpen() {
			if app.JSON {
				return enc.Encode(watchLine{Event: "closed", Year: c.Year, Left: total})
			}
			fmt.Fprintln(app.Out, T(l, "out.ci-watch-closed"))
			return nil
		}
		total = left // the loop ends on this count, which every printed check-in is in
	}
}
