package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/sheet"
)

// ImportRequest imports the office's register from a spreadsheet already read and
// mapped (package sheet).
type ImportRequest struct {
	File    string // the file's name, for the summary row
	SHA256  string // of the file's bytes
	Table   *sheet.Table
	Columns sheet.Columns
	// CreatePeople adds custodians the register does not know (handle = their name);
	// without it an unknown custodian is an error of the row.
	CreatePeople bool
	// DryRun decides every row and changes nothing.
	DryRun bool
}

// ImportAction is what import does with a row.
type ImportAction string

// What import does with a row.
const (
	ImportRegister ImportAction = "register" // registered with its identity
	ImportPending  ImportAction = "pending"  // registered with its identity pending
	ImportExists   ImportAction = "exists"   // already registered: left as it is
	ImportFailed   ImportAction = "error"    // refused: the import as a whole is refused
)

// ImportProblem is why a row is refused, naming the column ("F (序列号)"; empty for
// the row as a whole). Err is a coded refusal (catalog renders it).
type ImportProblem struct {
	Column string
	Err    error
}

// ImportLine is the decision about one row.
type ImportLine struct {
	Line          int // the spreadsheet's row number
	Number        string
	Action        ImportAction
	Level         media.Level
	Kind          media.Kind
	Status        media.Status
	Custodian     string // handle
	CustodianName string
	NewPerson     bool // the custodian is added by this import
	// ExistsAs is the number under which an already registered medium was found (by
	// number, identity or serial); Differs names fields whose values differ from it.
	ExistsAs string
	Differs  []string
	Problems []ImportProblem
}

// ImportReport is what an import did (or, dry, would do), row by row.
type ImportReport struct {
	File, Format, SHA256 string
	HeaderRow            int
	Ignored              []string // header texts of columns mapped to no field
	Lines                []ImportLine
	People               []media.Person // custodians added
	Registered, Pending  int
	Exists, Errors       int
	// Media are the registered media (after a real import).
	Media   []media.Medium
	Applied bool
}

// ErrImportRefused is wrapped by the error of an import refused for its rows' errors.
var ErrImportRefused = errors.New("import refused")

// Import decides every row of an imported register and, unless DryRun, registers
// all of them in one transaction: one medium.register row per medium (pending ones
// flagged), a person.add row per custodian added, and one medium.import summary row.
// Any row in error refuses the whole import (nothing is written); a row already
// registered is left as it is, so importing the same file again changes nothing.
func (s *Service) Import(ctx context.Context, r ImportRequest) (ImportReport, error) {
	rep := ImportReport{File: filepath.Base(r.File), SHA256: r.SHA256, HeaderRow: r.Columns.HeaderRow, Ignored: r.Columns.Ignored}
	if r.Table == nil {
		return rep, badRequest("usage.required", "file")
	}
	rep.Format = r.Table.Format
	if _, ok := r.Columns.Of[sheet.Level]; !ok {
		return rep, refused("err.import-column", string(sheet.Level))
	}
	if _, ok := r.Columns.Of[sheet.Custodian]; !ok {
		return rep, refused("err.import-column", string(sheet.Custodian))
	}
	people, err := s.store.ListPeople(ctx, true)
	if err != nil {
		return rep, err
	}
	imp := &importer{s: s, cols: r.Columns, create: r.CreatePeople, people: people,
		numbers: map[string]int{}, serials: map[string]int{}, keys: map[string]int{}, added: map[string]*media.Person{}}
	var regs []Registration
	var regLine []int // index in rep.Lines of each registration
	for _, rec := range sheet.Records(r.Table, r.Columns) {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		line, reg, err := imp.row(ctx, rec)
		if err != nil {
			return rep, err
		}
		switch line.Action {
		case ImportRegister:
			rep.Registered++
		case ImportPending:
			rep.Pending++
		case ImportExists:
			rep.Exists++
		case ImportFailed:
			rep.Errors++
		}
		if line.Action == ImportRegister || line.Action == ImportPending {
			regs = append(regs, reg)
			regLine = append(regLine, len(rep.Lines))
		}
		rep.Lines = append(rep.Lines, line)
	}
	for _, h := range imp.order {
		rep.People = append(rep.People, *imp.added[h])
	}
	if r.DryRun {
		return rep, nil
	}
	if rep.Errors > 0 {
		return rep, &Error{Kind: ErrRefused, Code: "err.import-errors", Args: []any{rep.Errors}}
	}
	if len(regs) == 0 {
		return rep, nil // everything is registered already: nothing to write
	}
	// Numbers the file gives are registered first, so that a generated number never
	// takes one a later row holds.
	order := make([]int, len(regs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return boolCmp(regs[a].Number == "", regs[b].Number == "")
	})
	batch := ImportBatch{People: rep.People, Summary: event.MediumImport{File: rep.File, Format: rep.Format,
		Media: rep.Registered + rep.Pending, Pending: rep.Pending, People: len(rep.People), Rows: len(rep.Lines),
		SHA256: r.SHA256, Skipped: rep.Exists}}
	for _, i := range order {
		batch.Media = append(batch.Media, regs[i])
	}
	ms, err := s.store.Import(ctx, batch)
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(order) {
			li := regLine[order[ie.Index]]
			rep.Lines[li].Action = ImportFailed
			rep.Lines[li].Problems = append(rep.Lines[li].Problems, ImportProblem{Err: ie.Err})
			rep.Errors++
			return rep, fmt.Errorf("row %d: %w", rep.Lines[li].Line, ie.Err)
		}
		return rep, err
	}
	for k, i := range order {
		rep.Lines[regLine[i]].Number = ms[k].Number
	}
	rep.Media, rep.Applied = ms, true
	s.changed(ctx)
	return rep, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// importer decides rows, remembering what earlier rows of the file hold.
type importer struct {
	s      *Service
	cols   sheet.Columns
	create bool
	people []media.Person
	// numbers, serials and identity keys of earlier rows, with their row numbers
	numbers, serials, keys map[string]int
	added                  map[string]*media.Person // custodians to add, by handle
	order                  []string
}

func (im *importer) problem(line *ImportLine, f sheet.Field, err error) {
	line.Action = ImportFailed
	line.Problems = append(line.Problems, ImportProblem{Column: im.cols.Name(f), Err: err})
}

// row decides one record. A problem of the row is in the line; err is a failure of
// the store.
func (im *importer) row(ctx context.Context, rec sheet.Record) (ImportLine, Registration, error) {
	line := ImportLine{Line: rec.Line, Number: rec.Get(sheet.Number), Status: media.StatusActive}
	var reg Registration
	for _, f := range sheet.Fields() {
		if r, bad := media.UnsafeRune(rec.Get(f)); bad {
			im.problem(&line, f, refused("err.import-control-char", r))
			return line, reg, nil
		}
	}
	// Number
	if n := line.Number; n != "" {
		if len(n) > 64 || strings.ContainsAny(n, " \t/\\{}") {
			im.problem(&line, sheet.Number, refused("err.import-number", n))
		} else if prev, dup := im.numbers[n]; dup {
			im.problem(&line, sheet.Number, refused("err.import-dup-number", n, prev))
		} else {
			im.numbers[n] = rec.Line
		}
	}
	// A number already registered: the register holds the medium, and the row is
	// left as it is (an exported register imports back without a change).
	if n := line.Number; n != "" && len(line.Problems) == 0 {
		m, err := im.s.store.Medium(ctx, n)
		if err == nil {
			im.existsLine(&line, m, rec)
			return line, reg, nil
		} else if !errors.Is(err, ErrNotFound) {
			return line, reg, err
		}
	}
	// Level
	if v := rec.Get(sheet.Level); v == "" {
		im.problem(&line, sheet.Level, refused("err.import-required"))
	} else if l, err := media.ParseLevel(strings.TrimRight(v, "★*☆ ")); err != nil {
		im.problem(&line, sheet.Level, refused("err.import-level", v))
	} else {
		line.Level = l
	}
	// Kind
	line.Kind = media.KindOther
	if v := rec.Get(sheet.Kind); v != "" {
		k, ok := parseKindText(v)
		if !ok {
			im.problem(&line, sheet.Kind, refused("err.import-kind", v))
		}
		line.Kind = k
	}
	// Status
	if v := rec.Get(sheet.Status); v != "" {
		st, ok := parseStatusText(v)
		switch {
		case !ok:
			im.problem(&line, sheet.Status, refused("err.import-status", v))
		case st == media.StatusLent:
			im.problem(&line, sheet.Status, refused("err.import-lent"))
		default:
			line.Status = st
		}
	}
	// Custodian
	var cust media.Person
	if v := rec.Get(sheet.Custodian); v == "" {
		im.problem(&line, sheet.Custodian, refused("err.import-required"))
	} else if p, err := im.custodian(v, rec.Get(sheet.Department)); err != nil {
		im.problem(&line, sheet.Custodian, err)
	} else {
		cust = p
		line.Custodian, line.CustodianName = p.Handle, p.Name
		line.NewPerson = im.added[p.Handle] != nil
	}
	// Date put into service
	inService := ""
	if v := rec.Get(sheet.InService); v != "" {
		d, ok := parseDate(v)
		if !ok {
			im.problem(&line, sheet.InService, refused("err.import-date", v))
		}
		inService = d
	}
	for _, f := range []struct {
		f   sheet.Field
		max int
	}{{sheet.Model, 200}, {sheet.Capacity, 64}, {sheet.Purpose, 500}, {sheet.Note, 2000}, {sheet.Department, 200}, {sheet.Serial, 256}} {
		if len(rec.Get(f.f)) > f.max {
			im.problem(&line, f.f, refused("err.import-too-long", f.max))
		}
	}
	// Identity: complete when the row names one the daemon can match, else pending.
	serial := identity.TrimSerial(rec.Get(sheet.Serial))
	var id media.Identity
	pending := true
	if rec.Get(sheet.Vendor) != "" || rec.Get(sheet.Product) != "" || rec.Get(sheet.WWN) != "" || rec.Get(sheet.Key) != "" {
		var err error
		id, err = IdentityFromFields(IdentityFields{Kind: string(line.Kind), Serial: serial, Vendor: rec.Get(sheet.Vendor),
			Product: rec.Get(sheet.Product), WWN: rec.Get(sheet.WWN), Key: rec.Get(sheet.Key)})
		if err != nil {
			f := sheet.Vendor
			switch {
			case rec.Get(sheet.Key) != "":
				f = sheet.Key
			case rec.Get(sheet.WWN) != "":
				f = sheet.WWN
			}
			im.problem(&line, f, err)
		} else {
			pending = false
		}
	} else {
		id = media.Identity{Kind: line.Kind, Serial: serial}
	}
	if line.Number == "" && serial == "" && pending {
		im.problem(&line, sheet.Number, refused("err.import-unrecognisable"))
	}
	if line.Action == ImportFailed {
		return line, reg, nil
	}
	// Already registered? By number, then by identity, then by serial.
	existing, err := im.existing(ctx, line.Number, id, pending)
	if err != nil {
		return line, reg, err
	}
	if existing != nil {
		if line.Number != "" && existing.Number != line.Number {
			im.problem(&line, sheet.Serial, refused("err.import-registered-as", existing.Number))
			return line, reg, nil
		}
		line.Action, line.ExistsAs = ImportExists, existing.Number
		line.Number = existing.Number
		if existing.Level != line.Level {
			line.Differs = append(line.Differs, string(sheet.Level))
		}
		if existing.Custodian != line.Custodian {
			line.Differs = append(line.Differs, string(sheet.Custodian))
		}
		if existing.Status != line.Status {
			line.Differs = append(line.Differs, string(sheet.Status))
		}
		return line, reg, nil
	}
	// Serial rules, as registration applies them; and no serial twice in the file.
	if serial != "" {
		fold := strings.ToUpper(serial)
		if prev, dup := im.serials[fold]; dup {
			im.problem(&line, sheet.Serial, refused("err.import-dup-serial", serial, prev))
			return line, reg, nil
		}
		im.serials[fold] = rec.Line
	}
	if pending {
		if serial != "" {
			if q := identity.CheckSerial(serial); !q.Good {
				im.problem(&line, sheet.Serial, refused("err.import-weak-serial", serial, q))
				return line, reg, nil
			}
			other, err := im.s.store.SerialInUse(ctx, serial, "")
			if err != nil {
				return line, reg, err
			}
			if other != "" {
				im.problem(&line, sheet.Serial, refused("err.import-serial-known", serial, other))
				return line, reg, nil
			}
		}
		line.Action = ImportPending
	} else {
		if prev, dup := im.keys[id.Key]; dup {
			im.problem(&line, sheet.Serial, refused("err.import-dup-identity", id.Key, prev))
			return line, reg, nil
		}
		im.keys[id.Key] = rec.Line
		if _, err := im.s.serialRule(ctx, id, ""); err != nil {
			var se *Error
			if !errors.As(err, &se) {
				return line, reg, err
			}
			im.problem(&line, sheet.Serial, err)
			return line, reg, nil
		}
		line.Action = ImportRegister
	}
	dept := rec.Get(sheet.Department)
	if dept == cust.Department {
		dept = "" // the medium follows its custodian's department
	}
	reg = Registration{Number: line.Number, Identity: id, Level: line.Level, Custodian: cust.Handle, Department: dept,
		Note: rec.Get(sheet.Note), Model: rec.Get(sheet.Model), CapacityText: rec.Get(sheet.Capacity),
		Purpose: rec.Get(sheet.Purpose), InService: inService, Pending: pending, Status: line.Status}
	if !pending {
		reg.Identity.Kind = line.Kind
	}
	return line, reg, nil
}

// existsLine records that a row is a medium already registered, with the fields the
// row states otherwise.
func (im *importer) existsLine(line *ImportLine, m media.Medium, rec sheet.Record) {
	line.Action, line.ExistsAs, line.Number = ImportExists, m.Number, m.Number
	line.Level, line.Kind, line.Status = m.Level, m.Kind, m.Status
	line.Custodian, line.CustodianName = m.Custodian, m.CustodianName
	if l, err := media.ParseLevel(strings.TrimRight(rec.Get(sheet.Level), "★*☆ ")); err != nil || l != m.Level {
		line.Differs = append(line.Differs, string(sheet.Level))
	}
	if c := rec.Get(sheet.Custodian); c != m.Custodian && c != m.CustodianName {
		line.Differs = append(line.Differs, string(sheet.Custodian))
	}
	st, _, _ := strings.Cut(rec.Get(sheet.Status), " → ")
	if v, ok := parseStatusText(st); st != "" && (!ok || v != m.Status) {
		line.Differs = append(line.Differs, string(sheet.Status))
	}
}

// existing finds a registered medium the row describes: by its number, its identity
// key, or (pending rows without a number) its serial.
func (im *importer) existing(ctx context.Context, number string, id media.Identity, pending bool) (*media.Medium, error) {
	if number != "" {
		m, err := im.s.store.Medium(ctx, number)
		if err == nil {
			return &m, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if !pending {
		m, err := im.s.store.MediumByIdentity(ctx, id.Key)
		if err == nil {
			return &m, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if number == "" && id.Serial != "" {
		other, err := im.s.store.SerialInUse(ctx, id.Serial, id.Key)
		if err != nil || other == "" {
			return nil, err
		}
		m, err := im.s.store.Medium(ctx, other)
		if err != nil {
			return nil, err
		}
		return &m, nil
	}
	return nil, nil
}

// custodian finds the custodian a cell names: a person's handle, else the one active
// person of that full name; with create, a person not found is added (handle = the
// name) with the row's department.
func (im *importer) custodian(v, department string) (media.Person, error) {
	for _, p := range im.people {
		if p.Handle == v {
			if !p.Active {
				return p, refused("err.inactive", v)
			}
			return p, nil
		}
	}
	var found []media.Person
	for _, p := range im.people {
		if p.Name == v && p.Active {
			found = append(found, p)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		var hs []string
		for _, p := range found {
			hs = append(hs, p.Handle)
		}
		return media.Person{}, refused("err.import-ambiguous-person", v, strings.Join(hs, ", "))
	}
	if p, ok := im.added[v]; ok {
		return *p, nil
	}
	if !im.create {
		return media.Person{}, refused("err.import-unknown-person", v)
	}
	if !registry.ValidHandle(v) || len(v) > 64 {
		return media.Person{}, refused("err.import-person-handle", v)
	}
	if len(department) > 200 {
		department = ""
	}
	p := &media.Person{Handle: v, Name: v, Department: department, Active: true}
	im.added[v] = p
	im.order = append(im.order, v)
	return *p, nil
}

// parseKindText reads the kind of medium as registers write it.
func parseKindText(v string) (media.Kind, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
	switch n {
	case "u盘", "u盘/移动硬盘", "优盘", "移动u盘", "usb盘", "usb闪存盘", "闪存盘", "移动硬盘", "usb硬盘", "移动存储", "移动存储介质":
		return media.KindUSBDisk, true
	case "硬盘", "磁盘", "固态硬盘", "机械硬盘":
		return media.KindDisk, true
	case "光盘", "刻录光盘", "cd光盘", "dvd光盘", "cd-r", "dvd-r", "dvd+r", "bd-r":
		return media.KindOpticalDisc, true
	case "sd卡", "tf卡", "存储卡", "内存卡", "闪存卡", "sd", "tf":
		return media.KindSD, true
	case "其他", "其它":
		return media.KindOther, true
	}
	k, err := media.ParseKind(n)
	return k, err == nil
}

// parseStatusText reads a status as registers write it.
func parseStatusText(v string) (media.Status, bool) {
	switch strings.TrimSpace(v) {
	case "正常", "使用中", "在用中", "在库":
		return media.StatusActive, true
	case "入柜", "封存", "入库保存", "已入柜":
		return media.StatusInVault, true
	case "维修", "维修中", "送修中":
		return media.StatusRepair, true
	case "遗失", "已丢失":
		return media.StatusLost, true
	case "销毁", "已销毁", "报销":
		return media.StatusDestroyed, true
	case "停用", "报废", "已报废", "已停用":
		return media.StatusRetired, true
	case "借用", "外借":
		return media.StatusLent, true
	}
	st, err := media.ParseStatus(v)
	return st, err == nil
}

// dateLayouts are the ways registers write a date.
var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102", "01-02-06", "1/2/06",
	"2006-01-02 15:04:05", "2006/1/2 15:04"}

// parseDate reads a date put into service; a number is a spreadsheet's day count.
func parseDate(v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil && t.Year() >= 1980 && t.Year() <= 2100 {
			return t.Format("2006-01-02"), true
		}
	}
	if n, err := strconv.Atoi(v); err == nil && n > 29221 && n < 73051 { // 1980 … 2100
		return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n).Format("2006-01-02"), true
	}
	return "", false
}
