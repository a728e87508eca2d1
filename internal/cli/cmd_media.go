package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

func newMediaCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "media",
	}
	cmd.AddCommand(newMediaRegisterCommand(app), newMediaListCommand(app), newMediaShowCommand(app))
	cmd.AddCommand(newLifecycleCommands(app)...)
	cmd.AddCommand(newMediaIssueCommand(app), newMediaRequestCommand(app))
	cmd.AddCommand(newMediaImportCommand(app), newMediaBindCommand(app), newMediaLabelCommand(app))
	cmd.AddCommand(newMediaFormCommand(app))
	return cmd
}

type registerOptions struct {
	Kind, Serial, Vendor, Product, WWN, Model, Key, DescriptorHash string
	Capacity                                                       int64
	Level, Custodian, Department, Number, Note                     string
	ReadOnly                                                       bool
	AllowedHosts                                                   []string
	FromDevice                                                     string
	// the paper register's fields
	BrandModel, StatedCapacity, Purpose, InService string
}

func newMediaRegisterCommand(app *App) *cobra.Command {
	var o registerOptions
	cmd := &cobra.Command{
		Use: "register (--from-device DEV | --kind K --serial S ... | --kind K --key KEY) --level L --custodian PERSON",
		Example: `  mediagate media register --from-device /dev/sdb --level secret --custodian zhangsan
  mediagate media register --from-device /dev/sr0 --level 秘密 --custodian lisi
  mediagate media register --kind usb-disk --vendor 0781 --product 5567 --serial 4C530001231120109142 \
      --level secret --custodian zhangsan
  mediagate media register --kind disk --wwn 0x5000c500a1b2c3d4 --level 绝密 --custodian lisi --number TS-OLD-7
  mediagate media register --kind usb-disk --vendor 090c --product 1000 --serial 0123456789ABCDEF \
      --capacity 16008609792 --descriptor-hash 3f…e1 --level confidential --custodian zhangsan --read-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMediaRegister(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Kind, "kind", "", "usb-disk, disk, sd, optical-disc or other (required)")
	f.StringVar(&o.Serial, "serial", "", "serial number as the device reports it")
	f.StringVar(&o.Vendor, "vendor", "", "USB vendor id (4 hex digits)")
	f.StringVar(&o.Product, "product", "", "USB product id (4 hex digits)")
	f.StringVar(&o.WWN, "wwn", "", "World Wide Name of a disk")
	f.StringVar(&o.Model, "model", "", "disk model, for disks without WWN")
	f.StringVar(&o.Key, "key", "", "identity key as shown by 'mediagate devices'")
	f.Int64Var(&o.Capacity, "capacity", 0, "capacity in bytes (extra identity)")
	f.StringVar(&o.DescriptorHash, "descriptor-hash", "", "descriptor hash as 'mediagate devices --json' shows it (extra identity)")
	f.StringVar(&o.Level, "level", "", "classification level of what it stores (required)")
	f.StringVar(&o.Custodian, "custodian", "", "handle of the responsible person (required)")
	f.StringVar(&o.Department, "department", "", "department (default: the custodian's)")
	f.StringVar(&o.Number, "number", "", "use this number instead of the next one from the pattern")
	f.BoolVar(&o.ReadOnly, "read-only", false, "the medium may only be read")
	f.StringVar(&o.Note, "note", "", "free text")
	f.StringSliceVar(&o.AllowedHosts, "allowed-host", nil, "limit the medium to these host numbers; repeatable")
	f.StringVar(&o.FromDevice, "from-device", "", "read the identity from this attached device (/dev/sdX, /dev/sr0, usb:PORT)")
	f.StringVar(&o.BrandModel, "brand-model", "", "brand and model for the register (default with --from-device: the device's)")
	f.StringVar(&o.StatedCapacity, "stated-capacity", "", "capacity as the register states it, e.g. 32GB (not identity)")
	f.StringVar(&o.Purpose, "purpose", "", "purpose or scope of use")
	f.StringVar(&o.InService, "in-service", "", "date put into service, YYYY-MM-DD (default: none)")
	cmd.MarkFlagRequired("level")
	cmd.MarkFlagRequired("custodian")
	return cmd
}

// identityFromFlags builds the identity of a medium registered by hand.
func identityFromFlags(o registerOptions) (media.Identity, error) {
	return service.IdentityFromFields(service.IdentityFields{Kind: o.Kind, Serial: o.Serial, Vendor: o.Vendor, Product: o.Product,
		WWN: o.WWN, Model: o.Model, Key: o.Key, DescriptorHash: o.DescriptorHash, Capacity: o.Capacity})
}

func runMediaRegister(ctx context.Context, app *App, o registerOptions) error {
	var id media.Identity
	var err error
	var former string // the device's key under an earlier release, if any
	if o.FromDevice != "" {
		for flag, v := range map[string]string{"--serial": o.Serial, "--vendor": o.Vendor, "--product": o.Product, "--wwn": o.WWN,
			"--model": o.Model, "--key": o.Key, "--descriptor-hash": o.DescriptorHash} {
			if v != "" {
				return usageError{lerr("err.from-device-flags", flag)}
			}
		}
		if o.Capacity != 0 {
			return usageError{lerr("err.from-device-flags", "--capacity")}
		}
		var label string
		id, former, label, err = readDevice(app, o.FromDevice, o.Kind)
		if o.BrandModel == "" {
			o.BrandModel = label
		}
	} else {
		if o.Kind == "" {
			return usageMsg("usage.identity-needed")
		}
		id, err = identityFromFlags(o)
	}
	if err != nil {
		return err
	}
	level, err := parseLevel(o.Level)
	if err != nil {
		return err
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Register(ctx, service.RegisterRequest{Identity: id, Level: level, Custodian: o.Custodian, Department: o.Department,
		Number: o.Number, Note: o.Note, ReadOnly: o.ReadOnly, AllowedHosts: o.AllowedHosts, FormerKey: former,
		Model: o.BrandModel, CapacityText: o.StatedCapacity, Purpose: o.Purpose, InService: o.InService})
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, res.Medium)
	}
	if res.WeakSerial != "" {
		fmt.Fprintln(app.Err, T(app.Lang, "out.weak-bound", id.Serial, res.Weak))
	}
	fmt.Fprintln(app.Out, res.Medium.Number)
	return nil
}

type listOptions struct {
	Status, Custodian, Level, Kind string
	Department                     string
	Pending                        bool
	// Format is text (default), csv, xlsx or html; Output a file to write it to.
	Format, Output string
	// Unit and Marking head the printed register (html).
	Unit, Marking string
	Overdue       bool
}

func newMediaListCommand(app *App) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use: "list [--status S] [--custodian P] [--level L] [--kind K]",
		Example: `  mediagate media list
  mediagate media list --status lent
  mediagate media list --overdue
  mediagate media list --custodian zhangsan --level 机密 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMediaList(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Status, "status", "", "only media in this status")
	f.StringVar(&o.Custodian, "custodian", "", "only media of this custodian")
	f.StringVar(&o.Level, "level", "", "only media of this level")
	f.StringVar(&o.Kind, "kind", "", "only media of this kind")
	f.StringVar(&o.Department, "department", "", "only media of this department")
	f.BoolVar(&o.Pending, "pending", false, "only media whose identity is pending (imported, not yet bound)")
	f.StringVar(&o.Format, "format", "text", "text, csv (UTF-8 with BOM), xlsx or html (the printable A4 register)")
	f.StringVar(&o.Output, "output", "", "write to this file instead of standard output")
	f.StringVar(&o.Unit, "unit", "", "the unit's name on the printed register (default: the host's department)")
	f.StringVar(&o.Marking, "marking", "", "classification marking of the printed register (default: the highest level listed, with ★)")
	f.BoolVar(&o.Overdue, "overdue", false, "only lent media whose return date has passed")
	return cmd
}

func runMediaList(ctx context.Context, app *App, o listOptions) error {
	var f service.MediaFilter
	if o.Status != "" {
		st, err := media.ParseStatus(o.Status)
		if err != nil {
			return usageError{lerr("err.unknown-status", o.Status)}
		}
		f.Status = st
	}
	if o.Level != "" {
		l, err := parseLevel(o.Level)
		if err != nil {
			return err
		}
		f.Level = &l
	}
	if o.Kind != "" {
		k, err := media.ParseKind(o.Kind)
		if err != nil {
			return usageError{lerr("err.unknown-kind", o.Kind)}
		}
		f.Kind = k
	}
	f.Custodian, f.Department, f.Pending = o.Custodian, o.Department, o.Pending
	switch o.Format {
	case "", "text", "csv", "xlsx", "html":
	default:
		return usageMsg("usage.list-format", o.Format)
	}
	if app.JSON && o.Format != "" && o.Format != "text" {
		return usageMsg("usage.json-format", o.Format)
	}
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	var list []media.Medium
	if o.Overdue {
		if o.Status != "" && f.Status != media.StatusLent {
			return usageMsg("usage.overdue-status")
		}
		list, err = svc.OverdueLoans(ctx, f)
	} else {
		list, err = svc.ListMedia(ctx, f)
	}
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, nonNil(list))
	}
	if o.Format != "" && o.Format != "text" {
		return writeRegisterFile(ctx, app, svc, o, list)
	}
	l := app.Lang
	if o.Overdue || f.Status == media.StatusLent {
		return printLoans(app, list)
	}
	t := newTable(app.Out, T(l, "hdr.media-list"))
	for _, m := range list {
		key := m.Identity.Key
		if m.IdentityPending {
			key = T(l, "out.identity-pending")
		}
		t.row(m.Number, catalog.Kind(l, m.Kind), catalog.Level(l, m.Level), personName(l, m), departmentText(l, m),
			catalog.Status(l, m.Status), catalog.Access(l, m.Access), key)
	}
	return t.flush()
}

// printLoans lists lent media with the borrower, the return date and how many days it
// is overdue.
func printLoans(app *App, list []media.Medium) error {
	l := app.Lang
	now := app.Now()
	t := newTable(app.Out, T(l, "hdr.media-lent"))
	for _, m := range list {
		overdue := ""
		if !m.DueAt.IsZero() && m.DueAt.Before(now) {
			overdue = T(l, "sheet.days-overdue", int(now.Sub(m.DueAt).Hours()/24)+1)
		}
		t.row(m.Number, catalog.Kind(l, m.Kind), catalog.Level(l, m.Level), personName(l, m), m.Holder, localTime(m.DueAt), overdue)
	}
	return t.flush()
}

// personName is the custodian as the register shows them: name (handle).
func personName(l string, m media.Medium) string {
	if m.CustodianName == "" || m.CustodianName == m.Custodian {
		return m.Custodian
	}
	if l == catalog.ZH {
		return m.CustodianName + "（" + m.Custodian + "）" // full-width, as Chinese text writes them
	}
	return m.CustodianName + " (" + m.Custodian + ")"
}

// departmentText is a medium's department, marked when it was set for the medium
// rather than followed from its custodian.
func departmentText(l string, m media.Medium) string {
	if m.DepartmentSet {
		return T(l, "out.department-own", m.Department)
	}
	return m.Department
}

func newMediaShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show NUMBER",
		Example: "  mediagate media show S-2026-0001\n  mediagate media show S-2026-0001 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMediaShow(cmd.Context(), app, args[0])
		},
	}
}

func runMediaShow(ctx context.Context, app *App, number string) error {
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	mh, err := svc.ShowMedium(ctx, number)
	if err != nil {
		return err
	}
	m, history := mh.Medium, mh.History
	// In an office: where the medium was last seen (empty on a single host).
	seen, err := svc.SeenWhere(ctx, m.Number)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, struct {
			media.Medium
			History []*audit.Event `json:"history"`
			Mounts  []*audit.Event `json:"host_mounts,omitempty"`
			Seen    []service.Seen `json:"seen,omitempty"`
		}{m, history, mh.Mounts, seen})
	}
	l, w := app.Lang, app.Out
	field(w, l, "field.number", m.Number)
	field(w, l, "field.former-numbers", strings.Join(formerNumbers(history), T(l, "list.sep")))
	field(w, l, "field.kind", catalog.Kind(l, m.Kind))
	field(w, l, "field.level", catalog.Level(l, m.Level))
	field(w, l, "field.custodian", personName(l, m))
	field(w, l, "field.department", departmentText(l, m))
	field(w, l, "field.brand-model", m.Model)
	field(w, l, "field.stated-capacity", m.CapacityText)
	field(w, l, "field.purpose", m.Purpose)
	field(w, l, "field.in-service", m.InService)
	if m.IdentityPending {
		field(w, l, "field.identity-pending", T(l, "out.identity-pending-long"))
	}
	field(w, l, "field.status", catalog.Status(l, m.Status))
	field(w, l, "field.access", catalog.Access(l, m.Access))
	field(w, l, "field.holder", m.Holder)
	field(w, l, "field.due", localTime(m.DueAt))
	field(w, l, "field.identity", m.Identity.Key)
	field(w, l, "field.serial", m.Identity.Serial)
	field(w, l, "field.capacity", humanBytes(m.Identity.Capacity))
	field(w, l, "field.allowed-hosts", strings.Join(m.AllowedHosts, ", "))
	field(w, l, "field.note", m.Note)
	field(w, l, "field.registered", localTime(m.Created))
	if len(seen) > 0 {
		fmt.Fprintf(w, "\n%s\n", T(l, "out.seen-where"))
		t := newTable(w, T(l, "hdr.seen-where"))
		for _, x := range seen {
			t.row(stamp(x.Time), x.Host, x.Decision, x.Reason)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if err := printMounts(app, append(slices.Clone(history), mh.Mounts...)); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", T(l, "field.history"))
	return printEvents(app, history)
}

// formerNumbers are the numbers a medium had before its level was raised, oldest
// first, from its history.
func formerNumbers(history []*audit.Event) []string {
	var out []string
	for _, e := range history {
		if e.Kind != event.KindMediumRelevel {
			continue
		}
		if d, err := event.As[event.MediumRelevel](e.Kind, e.Details); err == nil && d.FromNumber != "" {
			out = append(out, d.FromNumber)
		}
	}
	return out
}

// printMounts prints the mount rows among events, if any, as a section of their own:
// when, what, where, from which device, read-only or not, on which host and who.
func printMounts(app *App, events []*audit.Event) error {
	l := app.Lang
	t := newTable(app.Out, T(l, "hdr.mounts"))
	n := 0
	for _, e := range events {
		if e.Kind.Area() != "mount" {
			continue
		}
		// A mount row of a kind this release does not know is shown by its time and
		// kind only.
		d, _ := event.As[event.Mount](e.Kind, e.Details)
		what := T(l, string(e.Kind))
		if e.Kind == event.KindMountRemount && d.Event != "" {
			what += " (" + d.Event + ")"
		}
		mode := "rw"
		if d.RO {
			mode = "ro"
		}
		who := d.User
		if who == "" && d.UID != nil {
			who = fmt.Sprintf("uid %d", *d.UID)
		}
		if who == "" {
			who = T(l, "mount.user-unknown")
		}
		if d.Command != "" {
			who += " (" + d.Command + ")"
		}
		host := d.Host
		if d.Hostname != "" && d.Hostname != host {
			host = strings.TrimSpace(host + " " + d.Hostname)
		}
		t.row(localTime(e.Time), what, d.MountPoint, d.Device.Source, mode, host, who, d.Attribution)
		n++
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintf(app.Out, "\n%s\n", T(l, "field.mounts"))
	return t.flush()
}

// newLifecycleCommands builds the status-changing commands.
func newLifecycleCommands(app *App) []*cobra.Command {
	var cmds []*cobra.Command

	var hTo, hWitness, hNote string
	handover := &cobra.Command{
		Use:     "handover NUMBER --to PERSON --witness PERSON",
		Example: "  mediagate media handover S-2026-0001 --to lisi --witness wangwu --note 岗位调整",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
				return svc.Handover(cmd.Context(), service.HandoverRequest{Number: args[0], To: hTo, Witness: hWitness, Note: hNote})
			})
		},
	}
	handover.Flags().StringVar(&hTo, "to", "", "the new custodian (required)")
	handover.Flags().StringVar(&hWitness, "witness", "", "the witness, a third person (required)")
	handover.Flags().StringVar(&hNote, "note", "", "reason or remarks")
	handover.MarkFlagRequired("to")
	handover.MarkFlagRequired("witness")
	cmds = append(cmds, handover)

	var lTo, lDue, lApproved, lNote string
	lend := &cobra.Command{
		Use:     "lend NUMBER --to PERSON --due DATE --approved-by PERSON",
		Example: "  mediagate media lend S-2026-0001 --to lisi --due 2026-12-20 --approved-by wangwu",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			due, err := parseTime(lDue, true)
			if err != nil {
				return err
			}
			return runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
				return svc.Lend(cmd.Context(), service.LendRequest{Number: args[0], To: lTo, Due: due, ApprovedBy: lApproved, Note: lNote})
			})
		},
	}
	lend.Flags().StringVar(&lTo, "to", "", "the borrower (required)")
	lend.Flags().StringVar(&lDue, "due", "", "return date, YYYY-MM-DD (end of that day) or RFC 3339 (required)")
	lend.Flags().StringVar(&lApproved, "approved-by", "", "who approved the loan, neither custodian nor borrower (required)")
	lend.Flags().StringVar(&lNote, "note", "", "remarks")
	lend.MarkFlagRequired("to")
	lend.MarkFlagRequired("due")
	lend.MarkFlagRequired("approved-by")
	cmds = append(cmds, lend)

	var rNote string
	ret := &cobra.Command{
		Use:     "return NUMBER",
		Example: "  mediagate media return S-2026-0001",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
				return svc.Return(cmd.Context(), service.ReturnRequest{Number: args[0], Note: rNote})
			})
		},
	}
	ret.Flags().StringVar(&rNote, "note", "", "remarks")
	cmds = append(cmds, ret)

	// Simple status changes (the service knows their target status and what they need);
	// here only the flags.
	simple := []struct {
		use, example      string
		change            service.StatusChange
		approver, witness bool
		method            bool
	}{
		{"lost NUMBER", "  mediagate media lost S-2026-0001 --note 出差途中遗失",
			service.ChangeLost, false, false, false},
		{"found NUMBER", "  mediagate media found S-2026-0001",
			service.ChangeFound, false, false, false},
		{"repair NUMBER --approved-by PERSON --repairer WHO --place WHERE", "  mediagate media repair S-2026-0001 --approved-by wangwu --repairer 某数据恢复中心 --place 本单位保密室 --note 接口松动，已不可逆删除",
			service.ChangeRepair, true, false, false},
		{"repaired NUMBER", "  mediagate media repaired S-2026-0001",
			service.ChangeRepaired, false, false, false},
		{"destroy NUMBER --method M --approved-by PERSON --witness PERSON", "  mediagate media destroy S-2026-0001 --method shredded --approved-by wangwu --witness zhaoliu",
			service.ChangeDestroy, true, true, true},
		{"retire NUMBER", "  mediagate media retire S-2026-0001 --note 容量过小",
			service.ChangeRetire, false, false, false},
	}
	for _, sc := range simple {
		var approver, witness, method, note, repairer, place string
		c := &cobra.Command{
			Use:     sc.use,
			Example: sc.example,
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
					return svc.SetStatus(cmd.Context(), service.StatusRequest{Number: args[0], Change: sc.change,
						ApprovedBy: approver, Witness: witness, Method: method, Note: note, Repairer: repairer, Place: place})
				})
			},
		}
		c.Flags().StringVar(&note, "note", "", "remarks")
		if sc.approver {
			c.Flags().StringVar(&approver, "approved-by", "", "who approved it, not the custodian (required)")
			c.MarkFlagRequired("approved-by")
		}
		if sc.change == service.ChangeRepair {
			c.Flags().StringVar(&repairer, "repairer", "", "who repairs it: company or person (required)")
			c.Flags().StringVar(&place, "place", "", "where it is repaired (required)")
			c.MarkFlagRequired("repairer")
			c.MarkFlagRequired("place")
		}
		if sc.witness {
			c.Flags().StringVar(&witness, "witness", "", "who witnessed it, neither custodian nor approver (required)")
			c.MarkFlagRequired("witness")
		}
		if sc.method {
			c.Flags().StringVar(&method, "method", "", "how it was destroyed, e.g. shredded, degaussed, incinerated (required)")
			c.MarkFlagRequired("method")
		}
		cmds = append(cmds, c)
	}

	var rlLevel, rlNote string
	relevel := &cobra.Command{
		Use:     "relevel NUMBER --level L",
		Example: "  mediagate media relevel C-2026-0003 --level secret",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := parseLevel(rlLevel)
			if err != nil {
				return err
			}
			return runChange(cmd.Context(), app, func(svc service.API) (media.Medium, error) {
				return svc.Relevel(cmd.Context(), service.RelevelRequest{Number: args[0], Level: level, Note: rlNote})
			})
		},
	}
	relevel.Flags().StringVar(&rlLevel, "level", "", "the new, higher level (required)")
	relevel.Flags().StringVar(&rlNote, "note", "", "reason")
	relevel.MarkFlagRequired("level")
	cmds = append(cmds, relevel)
	return cmds
}

// runChange runs one lifecycle change and prints the medium's new state.
func runChange(ctx context.Context, app *App, f func(svc service.API) (media.Medium, error)) error {
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	m, err := f(svc)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, m)
	}
	l := app.Lang
	state := fmt.Sprintf("%s, %s, %s", catalog.Status(l, m.Status), catalog.Level(l, m.Level), m.Custodian)
	if m.Holder != "" {
		state += fmt.Sprintf(" → %s (%s)", m.Holder, localTime(m.DueAt))
	}
	fmt.Fprintln(app.Out, T(l, "out.changed", m.Number, state))
	return nil
}

// printEvents prints audit rows as a table.
func printEvents(app *App, events []*audit.Event) error { return eventTable(app, events).flush() }

// eventTable is the table of audit rows, with its header.
func eventTable(app *App, events []*audit.Event) *table {
	t := newTable(app.Out, T(app.Lang, "hdr.log"))
	for _, e := range events {
		seq := fmt.Sprint(e.Seq)
		if e.Origin != "" {
			seq = e.Origin + ":" + seq // a row of a host's log, collected by the office
		}
		t.row(seq, localTime(e.Time), kindName(app.Lang, e.Kind), e.Medium, e.Actor.String(), summarizeIn(app.Lang, e.Details))
	}
	return t
}

// hiddenDetail are the keys of details that summarize leaves out: ids, and how a
// registration's number was allocated (the number itself is the row's medium).
var hiddenDetail = map[string]bool{"medium_id": true, "person_id": true, "number_seq": true, "number_year": true, "numbered": true}

// summarize shortens event details to one line of key=value pairs.
func summarize(d json.RawMessage) string { return summarizeIn(catalog.EN, d) }

// kindName names an audit kind: the kind itself in English (what --kind takes), its
// name and the kind in Chinese.
func kindName(lang string, k event.Kind) string {
	if lang != catalog.ZH || !catalog.Has("event-kind."+string(k)) {
		return string(k)
	}
	return T(lang, "event-kind."+string(k)) + "（" + string(k) + "）"
}

// detailValue renders a detail's value in lang: a status, level or kind of medium by
// its name; anything else as it is.
func detailValue(lang string, v any) any {
	s, ok := v.(string)
	if !ok || lang != catalog.ZH {
		return v
	}
	for _, prefix := range []string{"status.", "level.", "kind.", "access."} {
		if catalog.Has(prefix + s) {
			return T(lang, prefix+s)
		}
	}
	return v
}

// summarizeIn shortens event details to one line of key=value pairs, the keys and the
// values that are words of the register in lang.
func summarizeIn(lang string, d json.RawMessage) string {
	if len(d) == 0 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(d, &m) != nil {
		return string(d)
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		if hiddenDetail[k] || v == nil || v == "" {
			continue
		}
		if nested, ok := v.(map[string]any); ok {
			if key, ok := nested["key"].(string); ok {
				v = key // an identity: its key says it
			} else {
				b, _ := json.Marshal(v)
				v = string(b)
			}
		}
		key := k
		if lang == catalog.ZH && catalog.Has("detail."+k) {
			key = T(lang, "detail."+k)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", key, detailValue(lang, v)))
	}
	return cutRunes(strings.Join(parts, " "), 160)
}

// cutRunes shortens s to at most n characters (runes, never splitting one), ending
// in "..." when it was cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
