package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/media"
)

func newSummaryCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "summary",
		Example: "  mediagate summary\n  mediagate --lang zh summary\n  mediagate summary --json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runSummary(cmd.Context(), app) },
	}
}

func runSummary(ctx context.Context, app *App) error {
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	sum, err := svc.Summary(ctx)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, sum)
	}
	l, w := app.Lang, app.Out
	fmt.Fprintln(w, T(l, "out.summary-head", sum.Total, localTime(sum.AsOf)))
	t := newTable(w, T(l, "hdr.summary"))
	for _, c := range sum.Counts {
		dept := c.Department
		if dept == "" {
			dept = T(l, "sheet.no-department")
		}
		t.row(catalog.Level(l, c.Level), catalog.Status(l, c.Status), dept, strconv.Itoa(c.Count))
	}
	if err := t.flush(); err != nil {
		return err
	}
	list := func(key string, ms []media.Medium, what func(media.Medium) string) {
		fmt.Fprintf(w, "\n%s\n", T(l, key, len(ms)))
		for _, m := range ms {
			fmt.Fprintln(w, "  "+safe(strings.TrimSpace(m.Number+"  "+catalog.Level(l, m.Level)+"  "+m.Custodian+"  "+what(m))))
		}
	}
	list("out.summary-overdue", sum.Overdue, func(m media.Medium) string {
		return T(l, "out.summary-loan", m.Holder, localTime(m.DueAt))
	})
	list("out.summary-lost", sum.Lost, func(media.Medium) string { return "" })
	list("out.summary-repair", sum.InRepair, func(media.Medium) string { return "" })
	fmt.Fprintln(w)
	if c := sum.Campaign; c != nil {
		fmt.Fprintln(w, T(l, "out.summary-campaign", c.Year, localTime(c.Deadline), c.Totals.Expected, c.Totals.CheckedIn, c.Totals.Outstanding, c.Totals.Overdue))
	} else {
		fmt.Fprintln(w, T(l, "out.summary-no-campaign"))
	}
	return nil
}
