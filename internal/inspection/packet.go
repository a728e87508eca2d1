// Package inspection writes the inspection packet (保密检查) of an office: the host
// register, the media register (台账), each medium's history, the mount log extract,
// the year-end check-in result, the open incidents and the verification of every
// audit chain — as a printable A4 HTML page in Chinese or English and as JSON, with a
// MANIFEST of the SHA-256 of every file signed with the office's ed25519 key; and
// checks such a packet (Verify).
//
// Every section is streamed from one read-only snapshot of the register
// (registry.InspectionReader): a packet of 100,000 media and ten million collected
// rows is written without holding the rows in memory. What the packet holds at that
// size is in docs/office.md ("The inspection packet").
package inspection

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/media"
	"mediagate/internal/policydoc"
	"mediagate/internal/registry"
)

//go:embed packet.html
var packetHTML string

// The files of a packet.
const (
	HTMLFile = "inspection.html"
	JSONFile = "inspection.json"
	PDFFile  = "inspection.pdf"
)

// Format names the JSON file's layout.
const Format = "mediagate-inspection/1"

// Register is the register a packet is read from (*registry.Store).
type Register interface {
	ReadForInspection(ctx context.Context, fn func(*registry.InspectionReader) error) error
}

// Translate returns the text of a catalogue key in the packet's language.
type Translate func(key string, args ...any) string

// Options say what a packet covers and how it is written.
type Options struct {
	Year       int
	Department string // "" for the whole office
	Lang       string // "zh" or "en"
	Office     string // the office's name, at the head of every page
	Location   *time.Location
	Now        time.Time
	Key        ed25519.PrivateKey // the office's signing key
	Translate  Translate
	// Describe names an audit row's kind and summarises its details in the packet's
	// language (as `mediagate log` shows them).
	Describe func(e *audit.Event) (kind, summary string)
	// Checkin is the year's check-in campaign report grouped by department (nil when
	// the year had no campaign).
	Checkin *checkin.Report
	// PDF prints the HTML file to a PDF file (headless Chromium); nil writes none.
	PDF func(ctx context.Context, htmlPath, pdfPath string) error
}

// Errors of Write.
var (
	ErrUnknownDepartment = errors.New("unknown department")
	ErrYear              = errors.New("year out of range")
	ErrNotEmpty          = errors.New("directory not empty")
)

// Summary is the cover of a packet: what it holds, in counts.
type Summary struct {
	Hosts        int            `json:"hosts"`
	Media        int64          `json:"media"`
	Chains       int            `json:"chains"`
	ChainsBroken int            `json:"chains_broken"`
	Lost         int            `json:"lost"`
	Overdue      int            `json:"overdue_loans"`
	Violations   int64          `json:"violations"`
	Checkin      checkin.Totals `json:"checkin"`
	HasCampaign  bool           `json:"campaign"`
	HistoryRows  int64          `json:"history_rows"`
	MountRows    int64          `json:"mount_media"` // media with mounts in the year
}

// Result is what Write did.
type Result struct {
	Dir      string   `json:"dir"`
	Files    []File   `json:"files"`
	Summary  Summary  `json:"summary"`
	Manifest Manifest `json:"manifest"`
}

// Overdue is a loan past its due date.
type Overdue struct {
	media.Medium
	DaysOverdue int `json:"days_overdue"`
}

// Checkin is the year-end check-in as the packet holds it: the totals and every
// medium not checked in (outstanding, overdue, missing), by number.
type Checkin struct {
	Campaign *checkin.Campaign `json:"campaign"`
	Totals   checkin.Totals    `json:"totals"`
	Open     []checkin.Line    `json:"not_checked_in"`
}

// Scope returns the UTC bounds of a year in loc.
func Scope(year int, dept string, loc *time.Location) registry.InspectionScope {
	return registry.InspectionScope{Since: time.Date(year, 1, 1, 0, 0, 0, 0, loc).UTC(),
		Until: time.Date(year+1, 1, 1, 0, 0, 0, 0, loc).UTC(), Department: dept}
}

// PrepareDir makes dir ready for a packet: created when absent, else it must be
// empty — or, with force, hold an earlier packet only (the files its manifest lists
// and the manifest), which are removed. Nothing else is ever removed.
func PrepareDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	ours := map[string]bool{ManifestFile: true, HTMLFile: true, JSONFile: true, PDFFile: true}
	for _, e := range entries {
		if !ours[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("%w: %s holds %s, which is not part of a packet", ErrNotEmpty, dir, e.Name())
		}
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Write writes the packet of o into dir (which PrepareDir made ready) and signs its
// manifest.
func Write(ctx context.Context, reg Register, dir string, o Options) (res Result, err error) {
	if o.Year < 2000 || o.Year > o.Now.In(o.loc()).Year() {
		return Result{}, fmt.Errorf("%w: %d", ErrYear, o.Year)
	}
	defer func() {
		if err != nil { // no half packet: what was written goes (the manifest is written last)
			for _, name := range []string{HTMLFile, JSONFile, PDFFile, ManifestFile} {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}()
	res = Result{Dir: dir}
	err = reg.ReadForInspection(ctx, func(r *registry.InspectionReader) error {
		if o.Department != "" {
			depts, err := r.Departments(ctx)
			if err != nil {
				return err
			}
			if !slices.Contains(depts, o.Department) {
				return fmt.Errorf("%w %q", ErrUnknownDepartment, o.Department)
			}
		}
		var err error
		res.Summary, err = write(ctx, r, dir, o)
		return err
	})
	if err != nil {
		return res, err
	}
	if o.PDF != nil {
		if err := o.PDF(ctx, filepath.Join(dir, HTMLFile), filepath.Join(dir, PDFFile)); err != nil {
			return res, fmt.Errorf("print %s to PDF: %w", HTMLFile, err)
		}
	}
	m := Manifest{Office: oneLine(o.Office), Year: o.Year, Department: oneLine(o.Department), Lang: o.Lang, Created: o.Now.UTC().Truncate(time.Second)}
	for _, name := range []string{HTMLFile, JSONFile, PDFFile} {
		size, sum, err := hashFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name == PDFFile {
			continue
		}
		if err != nil {
			return res, err
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: sum})
	}
	signed := m.Sign(o.Key)
	m.KeyID = policydoc.KeyID(o.Key.Public().(ed25519.PublicKey))
	if err := writeFile(filepath.Join(dir, ManifestFile), signed); err != nil {
		return res, err
	}
	res.Files, res.Manifest = m.Files, m
	return res, nil
}

func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

// oneLine keeps a manifest field on its line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// out is one file of the packet being written.
type out struct {
	f *os.File
	w *bufio.Writer
}

func create(path string) (*out, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &out{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (o *out) close() error {
	if err := o.w.Flush(); err != nil {
		o.f.Close()
		return err
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return err
	}
	return o.f.Close()
}

// jsonOut writes the JSON file as a stream: an object whose members are written one
// after the other, arrays element by element.
type jsonOut struct {
	w       io.Writer
	err     error
	members int
	elems   int
}

func (j *jsonOut) raw(s string) {
	if j.err == nil {
		_, j.err = io.WriteString(j.w, s)
	}
}

func (j *jsonOut) value(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(b)
}

func (j *jsonOut) key(k string) {
	if j.members > 0 {
		j.raw(",\n")
	}
	j.members++
	j.value(k)
	j.raw(":")
}

func (j *jsonOut) member(k string, v any) { j.key(k); j.value(v) }

func (j *jsonOut) beginArray(k string) { j.key(k); j.raw("["); j.elems = 0 }

func (j *jsonOut) elem(v any) {
	if j.elems > 0 {
		j.raw(",\n")
	} else {
		j.raw("\n")
	}
	j.elems++
	j.value(v)
}

func (j *jsonOut) endArray() { j.raw("]") }

// MediumRow is a line of the media register: the medium, its check-in state in the
// year's campaign ("" when it was not expected or there was none) and whether it is
// an open incident.
type MediumRow struct {
	media.Medium
	Checkin checkin.State `json:"checkin,omitempty"`
}

// MediumMounts is a medium's line of the mount log extract: its mounts in the year
// on every host, and on each.
type MediumMounts struct {
	Medium string       `json:"medium"`
	Mounts int64        `json:"mounts"`
	First  time.Time    `json:"first"`
	Last   time.Time    `json:"last"`
	Hosts  []HostMounts `json:"hosts"`
}

// HostMounts is a medium's mounts on one host in the year.
type HostMounts struct {
	Host   string    `json:"host"`
	Mounts int64     `json:"mounts"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

// maxHostsShown is how many hosts a line of the printed extract names; the JSON
// has them all.
const maxHostsShown = 8

// HistoryRow is a row of a medium's history.
type HistoryRow struct {
	*audit.Event
}

// write writes the HTML and JSON files from one snapshot.
func write(ctx context.Context, r *registry.InspectionReader, dir string, o Options) (Summary, error) {
	var sum Summary
	sc := Scope(o.Year, o.Department, o.loc())

	// What the cover needs is read first: the hosts and their chains, the counts and
	// the incidents that are lists of media.
	hosts, err := r.OfficeHosts(ctx, o.Department)
	if err != nil {
		return sum, err
	}
	sum.Hosts = len(hosts)
	own, err := r.VerifyOwnLog(ctx)
	if err != nil {
		return sum, err
	}
	chains := []registry.ChainCheck{own}
	for _, h := range hosts {
		c, err := r.VerifyHostChain(ctx, h)
		if err != nil {
			return sum, err
		}
		chains = append(chains, c)
	}
	var broken []registry.ChainCheck
	for _, c := range chains {
		if !c.OK {
			broken = append(broken, c)
		}
	}
	sum.Chains, sum.ChainsBroken = len(chains), len(broken)
	if sum.Media, err = r.CountMedia(ctx, o.Department); err != nil {
		return sum, err
	}
	lost, err := r.MediaOf(ctx, o.Department, media.StatusLost)
	if err != nil {
		return sum, err
	}
	lent, err := r.MediaOf(ctx, o.Department, media.StatusLent)
	if err != nil {
		return sum, err
	}
	var overdue []Overdue
	for _, m := range lent {
		if !m.DueAt.IsZero() && m.DueAt.Before(o.Now) {
			overdue = append(overdue, Overdue{Medium: m, DaysOverdue: int(o.Now.Sub(m.DueAt).Hours() / 24)})
		}
	}
	sum.Lost, sum.Overdue = len(lost), len(overdue)
	if sum.Violations, err = r.CountViolations(ctx, sc); err != nil {
		return sum, err
	}
	ci := checkinOf(o.Checkin, o.Department)
	if ci.Campaign != nil {
		sum.HasCampaign, sum.Checkin = true, ci.Totals
	}
	states := map[string]checkin.State{}
	if o.Checkin != nil {
		for _, g := range o.Checkin.Groups {
			if o.Department == "" || g.Key == o.Department {
				for _, l := range g.Lines {
					states[l.Number] = l.State
				}
			}
		}
	}
	marking := media.Level(-1)
	for _, h := range hosts {
		marking = max(marking, h.Level)
	}
	if l, err := r.MaxLevel(ctx, o.Department); err != nil {
		return sum, err
	} else {
		marking = max(marking, l)
	}

	tmpl, err := template.New("packet").Funcs(funcs(o)).Parse(packetHTML)
	if err != nil {
		return sum, fmt.Errorf("packet template: %w", err)
	}
	hf, err := create(filepath.Join(dir, HTMLFile))
	if err != nil {
		return sum, err
	}
	defer hf.f.Close()
	jf, err := create(filepath.Join(dir, JSONFile))
	if err != nil {
		return sum, err
	}
	defer jf.f.Close()
	j := &jsonOut{w: jf.w}
	page := struct {
		Lang, Office, Department, Marking, KeyID string
		Year                                     int
		Now                                      time.Time
		Page                                     template.CSS
		Summary                                  *Summary
		Hosts                                    []registry.OfficeHost
		Chains, Broken                           []registry.ChainCheck
		Lost                                     []media.Medium
		Overdue                                  []Overdue
		Checkin                                  Checkin
	}{Lang: htmlLang(o.Lang), Office: o.Office, Department: o.Department, KeyID: policydoc.KeyID(o.Key.Public().(ed25519.PublicKey)),
		Year: o.Year, Now: o.Now, Page: pageCounter(o.Translate("insp.page")), Summary: &sum, Hosts: hosts,
		Chains: chains, Broken: broken, Lost: lost, Overdue: overdue, Checkin: ci}
	if marking >= 0 {
		page.Marking = o.Translate("level." + marking.String())
	}
	exec := func(name string, data any) error {
		if err := tmpl.ExecuteTemplate(hf.w, name, data); err != nil {
			return fmt.Errorf("packet %s: %w", name, err)
		}
		return nil
	}

	if err := exec("head", page); err != nil {
		return sum, err
	}
	j.raw("{")
	j.member("format", Format)
	j.member("office", o.Office)
	j.member("year", o.Year)
	j.member("department", o.Department)
	j.member("lang", o.Lang)
	j.member("created", o.Now.UTC())
	j.member("since", sc.Since)
	j.member("until", sc.Until)
	j.member("key_id", page.KeyID)
	j.member("hosts", nonNil(hosts))
	j.member("chains", chains)
	j.member("lost", nonNil(lost))
	j.member("overdue_loans", nonNil(overdue))
	j.member("broken_chains", nonNil(broken))
	j.member("checkin", ci)

	j.beginArray("violations")
	var nv int64
	err = r.EachViolation(ctx, sc, func(e registry.HostEvent) error {
		nv++
		j.elem(e)
		return exec("violation", row(o, e.Host, e.Event))
	})
	if err != nil {
		return sum, err
	}
	j.endArray()
	if err := exec("after-violations", page); err != nil {
		return sum, err
	}

	j.beginArray("media")
	err = r.EachMedium(ctx, o.Department, func(m media.Medium) error {
		mr := MediumRow{Medium: m, Checkin: states[m.Number]}
		j.elem(mr)
		return exec("medium", mr)
	})
	if err != nil {
		return sum, err
	}
	j.endArray()
	if err := exec("after-media", page); err != nil {
		return sum, err
	}

	j.beginArray("history")
	err = r.EachMediumEvent(ctx, sc, func(e *audit.Event) error {
		sum.HistoryRows++
		j.elem(e)
		return exec("event", row(o, "", e))
	})
	if err != nil {
		return sum, err
	}
	j.endArray()
	if err := exec("after-history", page); err != nil {
		return sum, err
	}

	// The (medium, host) lines come ordered by medium: each medium's are gathered
	// into its one line of the extract, then written and let go.
	j.beginArray("mounts")
	var cur *MediumMounts
	flush := func() error {
		if cur == nil {
			return nil
		}
		sum.MountRows++
		j.elem(cur)
		err := exec("mount", cur)
		cur = nil
		return err
	}
	err = r.EachMountSummary(ctx, sc, func(m registry.MountSummary) error {
		if cur != nil && cur.Medium != m.Medium {
			if err := flush(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &MediumMounts{Medium: m.Medium, First: m.First, Last: m.Last}
		}
		cur.Mounts += m.Mounts
		if m.First.Before(cur.First) {
			cur.First = m.First
		}
		if m.Last.After(cur.Last) {
			cur.Last = m.Last
		}
		cur.Hosts = append(cur.Hosts, HostMounts{Host: m.Host, Mounts: m.Mounts, First: m.First, Last: m.Last})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return sum, err
	}
	j.endArray()
	if nv != sum.Violations {
		return sum, fmt.Errorf("packet: %d violations counted, %d listed", sum.Violations, nv)
	}
	if err := exec("tail", page); err != nil {
		return sum, err
	}
	j.member("summary", sum)
	j.raw("}\n")
	if j.err != nil {
		return sum, fmt.Errorf("write %s: %w", JSONFile, j.err)
	}
	if err := hf.close(); err != nil {
		return sum, err
	}
	return sum, jf.close()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// eventRow is an audit row as the HTML shows it.
type eventRow struct {
	Host          string
	Seq           int64
	Time          time.Time
	Medium        string
	Kind, Summary string
	Actor         string
}

func row(o Options, host string, e *audit.Event) eventRow {
	kind, summary := string(e.Kind), string(e.Details)
	if o.Describe != nil {
		kind, summary = o.Describe(e)
	}
	return eventRow{Host: host, Seq: e.Seq, Time: e.Time, Medium: e.Medium, Kind: kind, Summary: summary, Actor: e.Actor.String()}
}

// checkinOf takes the department's part of a campaign report (all of it without one).
func checkinOf(r *checkin.Report, dept string) Checkin {
	ci := Checkin{Open: []checkin.Line{}}
	if r == nil {
		return ci
	}
	c := r.Campaign
	ci.Campaign = &c
	for _, g := range r.Groups {
		if dept != "" && g.Key != dept {
			continue
		}
		addTotals(&ci.Totals, g.Totals)
		for _, l := range g.Lines {
			if l.State.Pending() || l.State == checkin.StateMissing {
				ci.Open = append(ci.Open, l)
			}
		}
	}
	slices.SortFunc(ci.Open, func(a, b checkin.Line) int { return cmp.Compare(a.Number, b.Number) })
	return ci
}

func addTotals(t *checkin.Totals, g checkin.Totals) {
	t.Expected += g.Expected
	t.CheckedIn += g.CheckedIn
	t.Plugged += g.Plugged
	t.Manual += g.Manual
	t.Away += g.Away
	t.Outstanding += g.Outstanding
	t.Overdue += g.Overdue
	t.Missing += g.Missing
	t.Withdrawn += g.Withdrawn
}

func htmlLang(lang string) string {
	if lang == "zh" {
		return "zh-CN"
	}
	return "en"
}

func funcs(o Options) template.FuncMap {
	loc := o.loc()
	tr := o.Translate
	return template.FuncMap{
		"t":      func(key string, args ...any) string { return tr(key, args...) },
		"level":  func(l media.Level) string { return tr("level." + l.String()) },
		"kind":   func(k media.Kind) string { return tr("kind." + string(k)) },
		"status": func(s media.Status) string { return tr("status." + string(s)) },
		"state": func(s checkin.State) string {
			if s == "" {
				return ""
			}
			return tr("state." + string(s))
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"stamp": func(s string) string {
			t, err := time.Parse(audit.TimeLayout, s)
			if err != nil {
				return s
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"chainName": func(c registry.ChainCheck) string {
			if c.Host == "" {
				return tr("insp.office-log")
			}
			return c.Host
		},
		// problem says what is wrong with a chain in the packet's language (the
		// verifier's own words when it has no code for it).
		"problem": func(c registry.ChainCheck) string {
			if c.ProblemCode == "" {
				return c.Problem
			}
			return tr("insp.problem." + c.ProblemCode)
		},
		// hosts names a medium's hosts in the extract, with its mounts on each, the
		// first maxHostsShown of them.
		"hosts": func(hs []HostMounts) string {
			var parts []string
			for i, h := range hs {
				if i == maxHostsShown {
					parts = append(parts, tr("insp.more-hosts", len(hs)-maxHostsShown))
					break
				}
				parts = append(parts, tr("insp.host-mounts", h.Host, h.Mounts))
			}
			return strings.Join(parts, tr("insp.list-sep"))
		},
		"short": func(s string) string {
			if len(s) > 16 {
				return s[:16] + "…"
			}
			return s
		},
	}
}

// pageCounter makes the CSS content of "page x of y" from its text, whose two %d
// are the page and the page count.
func pageCounter(text string) template.CSS {
	parts := strings.SplitN(text, "%d", 3)
	if len(parts) != 3 {
		return `counter(page) " / " counter(pages)`
	}
	return template.CSS(strconv.Quote(parts[0]) + " counter(page) " + strconv.Quote(parts[1]) + " counter(pages) " + strconv.Quote(parts[2]))
}
