package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/media"
	"mediagate/internal/printout"
	"mediagate/internal/service"
	"mediagate/internal/sheet"
)

type importOptions struct {
	File         string
	DryRun       bool
	CreatePeople bool
	Map          []string
}

func newMediaImportCommand(app *App) *cobra.Command {
	var o importOptions
	cmd := &cobra.Command{
		Use: "import FILE [--dry-run] [--create-people] [--map COLUMN=FIELD]...",
		Example: `  mediagate media import 台账.xlsx --dry-run
  mediagate media import 台账.csv --create-people
  mediagate media import register.csv --map 介质序号=number --map H=purpose`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return runMediaImport(cmd.Context(), app, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would happen row by row, change nothing")
	f.BoolVar(&o.CreatePeople, "create-people", false, "add custodians the register does not know (handle = their name)")
	f.StringArrayVar(&o.Map, "map", nil, "map a column (header text or letter) to a field, e.g. 介质序号=number; repeatable")
	return cmd
}

func runMediaImport(ctx context.Context, app *App, o importOptions) error {
	over := map[string]string{}
	for _, m := range o.Map {
		k, v, ok := strings.Cut(m, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usageMsg("usage.map", m)
		}
		over[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	data, err := readLimited(o.File, sheet.DefaultLimits.MaxBytes)
	if err != nil {
		return err
	}
	t, err := sheet.Read(data, sheet.DefaultLimits)
	if err != nil {
		return sheetError(err)
	}
	cols, err := sheet.MapColumns(t, over)
	if err != nil {
		return sheetError(err)
	}
	api, err := app.Service(ctx)
	if err != nil {
		return err
	}
	svc, err := localService(api)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	rep, err := svc.Import(ctx, service.ImportRequest{File: o.File, SHA256: hex.EncodeToString(sum[:]), Table: t, Columns: cols,
		CreatePeople: o.CreatePeople, DryRun: o.DryRun})
	if app.JSON && rep.Format != "" {
		if jerr := printJSON(app.Out, importJSON(app.Lang, rep)); jerr != nil {
			return jerr
		}
	} else if rep.Format != "" {
		printImportReport(app.Out, app.Lang, rep, o.DryRun)
	}
	return err
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, lerr("err.import-open", path, err.Error())
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, lerr("err.import-open", path, err.Error())
	}
	return data, nil
}

// sheetError turns a refusal of the file into a message naming its row and column.
func sheetError(err error) error {
	var se *sheet.Error
	if errors.As(err, &se) {
		return sheetLocated{se}
	}
	return err
}

// sheetLocated renders a *sheet.Error with its place.
type sheetLocated struct{ e *sheet.Error }

func (s sheetLocated) Error() string { return s.e.Error() }

// MessageCode names the message: the refusal, prefixed with its row and column.
func (s sheetLocated) MessageCode() (string, []any) {
	switch {
	case s.e.Row > 0 && s.e.Col >= 0:
		return "file.at", []any{s.e.Row, sheet.ColName(s.e.Col), phraseOf{s.e}}
	case s.e.Row > 0:
		return "file.at-row", []any{s.e.Row, phraseOf{s.e}}
	}
	return s.e.MessageCode()
}

// phraseOf is a coded error as an argument of another message.
type phraseOf struct {
	c interface{ MessageCode() (string, []any) }
}

func (p phraseOf) MessageCode() (string, []any) { return p.c.MessageCode() }

// actionText is what the report says a row does.
func actionText(l string, a service.ImportAction) string { return T(l, "import.action."+string(a)) }

// printImportReport prints the decision of every row and the totals.
func printImportReport(w io.Writer, l string, rep service.ImportReport, dry bool) {
	fmt.Fprintln(w, T(l, "import.head", rep.File, rep.Format, rep.HeaderRow))
	if len(rep.Ignored) > 0 {
		fmt.Fprintln(w, T(l, "import.ignored", strings.Join(rep.Ignored, ", ")))
	}
	t := newTable(w, T(l, "hdr.import"))
	for _, ln := range rep.Lines {
		num := ln.Number
		if num == "" {
			num = T(l, "import.new-number")
		}
		who := ln.CustodianName
		if ln.Custodian != "" && ln.Custodian != ln.CustodianName {
			who += " (" + ln.Custodian + ")"
		}
		if ln.NewPerson {
			who += " " + T(l, "import.new-person")
		}
		level := ""
		if ln.Action != service.ImportFailed {
			level = catalog.Level(l, ln.Level)
		}
		detail := ""
		switch {
		case ln.Action == service.ImportExists && len(ln.Differs) > 0:
			var fs []string
			for _, f := range ln.Differs {
				fs = append(fs, T(l, "field-name."+f))
			}
			detail = T(l, "import.differs", strings.Join(fs, ", "))
		case ln.Action == service.ImportRegister || ln.Action == service.ImportPending:
			detail = catalog.Kind(l, ln.Kind)
			if ln.Status != media.StatusActive {
				detail += ", " + catalog.Status(l, ln.Status)
			}
		}
		var probs []string
		for _, p := range ln.Problems {
			msg := catalog.Error(l, p.Err)
			if where := columnText(l, p); where != "" {
				msg = T(l, "import.in-column", where, msg)
			}
			probs = append(probs, msg)
		}
		if len(probs) > 0 {
			detail = strings.Join(probs, "; ")
		}
		t.row(fmt.Sprint(ln.Line), num, actionText(l, ln.Action), level, who, detail)
	}
	t.flush()
	key := "import.total"
	switch {
	case dry:
		key = "import.total-dry"
	case rep.Errors > 0:
		key = "import.total-refused"
	case !rep.Applied:
		key = "import.total-nothing"
	}
	fmt.Fprintln(w, T(l, key, len(rep.Lines), rep.Registered, rep.Pending, rep.Exists, rep.Errors))
	if len(rep.People) > 0 {
		var names []string
		for _, p := range rep.People {
			names = append(names, p.Name)
		}
		k := "import.people"
		if dry || rep.Errors > 0 {
			k = "import.people-dry"
		}
		fmt.Fprintln(w, T(l, k, len(rep.People), strings.Join(names, ", ")))
	}
}

// columnText names a problem's column: "F (序列号)", in Chinese "F 列（序列号）".
func columnText(l string, p service.ImportProblem) string {
	switch {
	case p.Column == "":
		return ""
	case p.Header == "":
		return T(l, "import.column", p.Column)
	}
	return T(l, "import.column-header", p.Column, p.Header)
}

// importJSON is the report as JSON, its problems rendered in the reader's language.
func importJSON(l string, rep service.ImportReport) any {
	type problem struct {
		Column  string `json:"column,omitempty"`
		Message string `json:"message"`
	}
	type line struct {
		Row       int       `json:"row"`
		Number    string    `json:"number,omitempty"`
		Action    string    `json:"action"`
		Level     string    `json:"level,omitempty"`
		Custodian string    `json:"custodian,omitempty"`
		NewPerson bool      `json:"new_person,omitempty"`
		Differs   []string  `json:"differs,omitempty"`
		Problems  []problem `json:"problems,omitempty"`
	}
	out := struct {
		File       string `json:"file"`
		Format     string `json:"format"`
		SHA256     string `json:"sha256"`
		Applied    bool   `json:"applied"`
		Registered int    `json:"registered"`
		Pending    int    `json:"pending"`
		Exists     int    `json:"exists"`
		Errors     int    `json:"errors"`
		Rows       []line `json:"rows"`
	}{File: rep.File, Format: rep.Format, SHA256: rep.SHA256, Applied: rep.Applied, Registered: rep.Registered,
		Pending: rep.Pending, Exists: rep.Exists, Errors: rep.Errors, Rows: []line{}}
	for _, ln := range rep.Lines {
		j := line{Row: ln.Line, Number: ln.Number, Action: string(ln.Action), Custodian: ln.Custodian, NewPerson: ln.NewPerson,
			Differs: ln.Differs}
		if ln.Action != service.ImportFailed {
			j.Level = ln.Level.String()
		}
		for _, p := range ln.Problems {
			j.Problems = append(j.Problems, problem{Column: columnText(l, p), Message: catalog.Error(l, p.Err)})
		}
		out.Rows = append(out.Rows, j)
	}
	return out
}

func newMediaBindCommand(app *App) *cobra.Command {
	var dev string
	cmd := &cobra.Command{
		Use:     "bind NUMBER --from-device DEV",
		Example: "  mediagate media bind S-2019-0007 --from-device /dev/sdb\n  mediagate media list --pending",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMediaBind(cmd.Context(), app, args[0], dev)
		},
	}
	cmd.Flags().StringVar(&dev, "from-device", "", "read the identity from this attached device (/dev/sdX, /dev/sr0, usb:PORT) (required)")
	cmd.MarkFlagRequired("from-device")
	return cmd
}

func runMediaBind(ctx context.Context, app *App, number, dev string) error {
	id, former, label, err := readDevice(app, dev, "")
	if err != nil {
		return err
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	if former != "" {
		if m, err := svc.MediumByIdentity(ctx, former); err == nil {
			return lerr("err.dup-disc-v1", m.Number, former)
		}
	}
	res, err := svc.Bind(ctx, service.BindRequest{Number: number, Identity: id, Model: label})
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, res.Medium)
	}
	if res.WeakSerial != "" {
		fmt.Fprintln(app.Err, T(app.Lang, "out.weak-bound", id.Serial, res.Weak))
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.bound", res.Medium.Number, res.Medium.Identity.Key))
	return nil
}

// registerColumns are the columns of the exported and printed register, in the
// order of the paper register; their names are the ones import reads back.
var registerColumns = []string{"number", "level", "kind", "brand-model", "capacity", "serial", "custodian", "department",
	"in-service", "purpose", "status", "note", "identity"}

// registerRow is a medium as a row of the exported register, in the reader's language.
func registerRow(l string, m media.Medium) []string {
	capacity := m.CapacityText
	if capacity == "" && m.Identity.Capacity > 0 {
		capacity = humanBytes(m.Identity.Capacity)
	}
	cust := m.CustodianName
	if cust == "" {
		cust = m.Custodian
	}
	key := m.Identity.Key
	if m.IdentityPending {
		key = ""
	}
	status := catalog.Status(l, m.Status)
	if m.Status == media.StatusLent && m.Holder != "" {
		status += " → " + m.Holder
	}
	return []string{m.Number, catalog.Level(l, m.Level), catalog.Kind(l, m.Kind), m.Model, capacity, m.Identity.Serial, cust,
		m.Department, m.InService, m.Purpose, status, m.Note, key}
}

func registerHeader(l string) []string {
	var h []string
	for _, c := range registerColumns {
		h = append(h, T(l, "col."+c))
	}
	return h
}

// writeRegisterFile writes the listed media as CSV, XLSX or the printable register.
func writeRegisterFile(ctx context.Context, app *App, svc service.API, o listOptions, list []media.Medium) error {
	l := app.Lang
	var buf bytes.Buffer
	header := registerHeader(l)
	var rows [][]string
	for _, m := range list {
		rows = append(rows, registerRow(l, m))
	}
	switch o.Format {
	case "csv":
		buf.WriteString("\uFEFF") // a byte order mark: spreadsheets then read UTF-8
		cw := csv.NewWriter(&buf)
		cw.UseCRLF = true
		cw.Write(header)
		for _, r := range rows {
			cw.Write(csvSafeRow(r))
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "xlsx":
		if err := sheet.WriteXLSX(&buf, T(l, "register.sheet-name"), header, rows); err != nil {
			return err
		}
	case "html":
		unit := o.Unit
		if unit == "" {
			if h, err := svc.Host(ctx); err == nil {
				unit = h.Department
			}
		}
		marking := o.Marking
		if marking == "" {
			marking = registerMarking(l, list)
		}
		// The printed register is the paper one: no identity key (a device's
		// business, and too wide for the page).
		header = header[:len(header)-1]
		for i := range rows {
			rows[i] = rows[i][:len(rows[i])-1]
		}
		r := printout.Register{Lang: l, Title: T(l, "register.title"), Unit: unit, UnitLabel: T(l, "register.unit"),
			Marking: marking, Date: app.Now().Local().Format("2006-01-02"), DateLabel: T(l, "register.date"),
			Filter: listFilterText(l, o), Total: T(l, "register.total", len(list)), Header: header, Rows: rows,
			NoWrap:     map[int]bool{1: true, 4: true, 8: true}, // level, capacity, date put into service
			Empty:      T(l, "register.empty"),
			Signatures: []string{T(l, "register.sign-officer"), T(l, "register.sign-inspector"), T(l, "register.sign-date")},
			PageOf:     [3]string{T(l, "register.page-before"), T(l, "register.page-between"), T(l, "register.page-after")}}
		if err := printout.WriteRegister(&buf, r); err != nil {
			return err
		}
	}
	return writeOutput(app, o.Output, buf.Bytes())
}

// csvSafeRow keeps a spreadsheet from running a cell as a formula (=, +, -, @ first).
func csvSafeRow(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
}

// registerMarking is the marking of a register listing these media: the highest
// level among them, with a star.
func registerMarking(l string, list []media.Medium) string {
	top := media.Unclassified
	for _, m := range list {
		if m.Level > top {
			top = m.Level
		}
	}
	if top == media.Unclassified {
		return ""
	}
	return catalog.Level(l, top) + "★"
}

// listFilterText says which media a filtered listing holds.
func listFilterText(l string, o listOptions) string {
	var parts []string
	add := func(key, v string) {
		if v != "" {
			parts = append(parts, T(l, key)+v)
		}
	}
	if o.Level != "" {
		if lv, err := media.ParseLevel(o.Level); err == nil {
			add("register.filter-level", catalog.Level(l, lv))
		}
	}
	if o.Status != "" {
		if st, err := media.ParseStatus(o.Status); err == nil {
			add("register.filter-status", catalog.Status(l, st))
		}
	}
	if o.Kind != "" {
		if k, err := media.ParseKind(o.Kind); err == nil {
			add("register.filter-kind", catalog.Kind(l, k))
		}
	}
	add("register.filter-custodian", o.Custodian)
	add("register.filter-department", o.Department)
	if o.Pending {
		parts = append(parts, T(l, "out.identity-pending"))
	}
	return strings.Join(parts, T(l, "register.filter-sep"))
}

// writeOutput writes a file's bytes to --output or to standard output.
func writeOutput(app *App, path string, b []byte) error {
	if path == "" {
		_, err := app.Out.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return lerr("err.write-output", path, err.Error())
	}
	return nil
}

type labelOptions struct {
	All            bool
	Layout, Output string
	Unit           string
}

func newMediaLabelCommand(app *App) *cobra.Command {
	var o labelOptions
	cmd := &cobra.Command{
		Use: "label (NUMBER... | --all) [--layout 3x8|4x10|2x7|3x7] [--output FILE]",
		Example: `  mediagate media label S-2026-0001 S-2026-0002 --output labels.html
  mediagate media label --all --layout 4x10 --output labels.html
  chromium --headless --no-pdf-header-footer --print-to-pdf=labels.pdf labels.html`,
		RunE: func(cmd *cobra.Command, args []string) error { return runMediaLabel(cmd.Context(), app, o, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "every medium in use (active, lent, in the vault, in repair)")
	f.StringVar(&o.Layout, "layout", "3x8", "label sheet: 3x8 (70×37 mm), 4x10 (48.5×25.4 mm), 2x7 (99.1×38.1 mm), 3x7 (63.5×38.1 mm)")
	f.StringVar(&o.Output, "output", "", "write to this file instead of standard output")
	f.StringVar(&o.Unit, "unit", "", "the unit's name on each sticker (default: none)")
	refuseJSON(cmd) // it prints an HTML sheet
	return cmd
}

func runMediaLabel(ctx context.Context, app *App, o labelOptions, numbers []string) error {
	layout, ok := printout.FindLayout(o.Layout)
	if !ok {
		return usageMsg("usage.layout", o.Layout, strings.Join(printout.LayoutNames(), ", "))
	}
	if o.All == (len(numbers) > 0) {
		return usageMsg("usage.label-what")
	}
	if app.JSON {
		return usageMsg("usage.json-labels")
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	var list []media.Medium
	if o.All {
		if list, err = svc.ListMedia(ctx, service.MediaFilter{InUse: true}); err != nil {
			return err
		}
	} else {
		for _, n := range numbers {
			m, err := svc.Medium(ctx, n)
			if err != nil {
				return err
			}
			list = append(list, m)
		}
	}
	l := app.Lang
	s := printout.LabelSheet{Lang: l, Title: T(l, "label.title"), Layout: layout, CustodianLabel: T(l, "label.custodian")}
	for _, m := range list {
		cust := m.CustodianName
		if cust == "" {
			cust = m.Custodian
		}
		s.Labels = append(s.Labels, printout.Label{Number: m.Number, Level: catalog.Level(l, m.Level), Custodian: cust, Unit: o.Unit})
	}
	var buf bytes.Buffer
	if err := printout.WriteLabels(&buf, s); err != nil {
		return err
	}
	return writeOutput(app, o.Output, buf.Bytes())
}
