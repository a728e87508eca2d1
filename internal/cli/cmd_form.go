package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/event"
	"mediagate/internal/forms"
	"mediagate/internal/service"
)

func newMediaFormCommand(app *App) *cobra.Command {
	var unit string
	cmd := &cobra.Command{
		Use: "form KIND NUMBER [--unit NAME]",
		Example: `  mediagate --lang zh media form destroy S-2026-0001 --unit 某某单位 > 销毁登记表.html
  mediagate media form handover S-2026-0001 > handover.html
  chromium --headless --no-pdf-header-footer --print-to-pdf=form.pdf handover.html`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				var kinds []string
				for _, k := range service.FormKinds() {
					kinds = append(kinds, string(k))
				}
				return kinds, cobra.ShellCompDirectiveNoFileComp
			}
			return completer(app, completeNumber)(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMediaForm(cmd.Context(), app, service.FormKind(args[0]), args[1], unit)
		},
	}
	cmd.Flags().StringVar(&unit, "unit", "", "the unit's name at the head of the form")
	refuseJSON(cmd) // it prints a page to sign; the record itself is in 'log --json'
	return cmd
}

// runMediaForm prints the paper form of one record as A4 HTML in the --lang language.
func runMediaForm(ctx context.Context, app *App, kind service.FormKind, number, unit string) error {
	api, err := app.Service(ctx)
	if err != nil {
		return err
	}
	// The form is printed from the register's own audit rows: through an office
	// server's client it is not offered yet.
	svc, ok := api.(*service.Service)
	if !ok {
		return lerr("err.form-remote")
	}
	rec, err := svc.FormRecord(ctx, kind, number)
	if err != nil {
		return err
	}
	return forms.WriteHTML(app.Out, buildForm(app.Lang, rec, unit))
}

// buildForm lays out a form: the medium, the fields of its record, and one signature
// line per person the record names.
func buildForm(l string, rec service.FormRecord, unit string) forms.Form {
	m, e := rec.Medium, rec.Record
	person := func(h string) string {
		if h == "" {
			return ""
		}
		if n := rec.Names[h]; n != "" {
			return T(l, "sheet.person", n, h)
		}
		return h
	}
	f := forms.Form{Lang: l, Unit: unit, Marking: catalog.Level(l, m.Level), Title: T(l, "form.title."+string(rec.Kind)),
		SignDate: T(l, "form.sign-date"), Page: T(l, "sheet.page")}
	add := func(key, value string) {
		if value != "" {
			f.Fields = append(f.Fields, forms.Field{Label: T(l, key), Value: value})
		}
	}
	sign := func(role, who string) {
		label := T(l, role)
		if who != "" {
			label += T(l, "sheet.reason-sep") + who
		}
		f.Signatures = append(f.Signatures, label)
	}
	add("field.number", m.Number)
	add("field.kind", catalog.Kind(l, m.Kind))
	add("field.level", catalog.Level(l, m.Level))
	add("field.brand-model", m.Model)
	add("field.serial", m.Identity.Serial)
	add("field.identity", m.Identity.Key)
	add("field.capacity", humanBytes(m.Identity.Capacity))
	add("form.record-time", localTime(e.Time))
	switch d := rec.Details.(type) {
	case event.MediumRegister:
		add("field.custodian", person(d.Custodian))
		add("field.department", d.Department)
		add("field.access", catalog.Access(l, d.Access))
		add("field.allowed-hosts", strings.Join(d.AllowedHosts, ", "))
		add("field.note", d.Note)
		sign("role.custodian", person(d.Custodian))
		sign("form.officer", "")
	case event.MediumHandover:
		add("form.from", person(d.FromCustodian))
		add("form.to", person(d.ToCustodian))
		add("role.witness-handover", person(d.Witness))
		add("field.note", d.Note)
		sign("form.from", person(d.FromCustodian))
		sign("form.to", person(d.ToCustodian))
		sign("role.witness-handover", person(d.Witness))
	case event.MediumLend:
		due, _ := time.Parse(audit.TimeLayout, d.Due)
		add("field.custodian", person(d.Custodian))
		add("role.borrower", person(d.Holder))
		add("field.due", localTime(due))
		add("role.approver", person(d.ApprovedBy))
		add("field.note", d.Note)
		sign("role.borrower", person(d.Holder))
		sign("role.approver", person(d.ApprovedBy))
		sign("role.custodian", person(d.Custodian))
	case event.MediumStatus:
		add("field.custodian", person(d.Custodian))
		add("role.approver", person(d.ApprovedBy))
		if rec.Kind == service.FormRepair {
			add("form.repairer", d.Repairer)
			add("form.place", d.Place)
			add("field.note", d.Note)
			sign("role.approver", person(d.ApprovedBy))
			sign("form.sender", person(d.Custodian))
			sign("form.repairer", d.Repairer)
		} else {
			add("form.method", d.Method)
			add("role.witness", person(d.Witness))
			add("field.note", d.Note)
			sign("role.approver", person(d.ApprovedBy))
			sign("role.witness", person(d.Witness))
			sign("form.destroyer", "")
		}
	}
	f.Footer = T(l, "form.footer", strconv.FormatInt(e.Seq, 10), string(e.Kind), e.Hash)
	return f
}
