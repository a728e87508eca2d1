package checkin

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/media"
)

//go:embed sheet.html
var sheetHTML string

// Translate returns the text of a message key in the sheet's language, formatted
// with args. The caller's message catalogue provides it (keys "sheet.*", "state.*",
// and the names "level.*", "kind.*", "status.*").
type Translate func(key string, args ...any) string

// SheetOptions say how a sheet is printed.
type SheetOptions struct {
	Lang     string         // "zh" (zh-CN) or "en"
	Location *time.Location // where times are shown (default time.Local)
	Unit     string         // the unit's name at the head of every page ("" leaves it out)
}

// WriteHTML writes the report as a printable A4 checklist an inspector accepts: the
// unit's name, the classification marking (the highest level listed) and "page x of
// y" on every page; a summary whose counts add up to the expected total; one section
// per group listing every expected medium with its serial and brand/model and a box
// to tick, and signature lines for the custodian (on a department's sheet, one per
// custodian of the department); the incidents of the campaign (media lost, destroyed
// or retired during it, media missing at its close); and signature lines for the
// security officer and the inspector.
func WriteHTML(w io.Writer, r Report, o SheetOptions, tr Translate) error {
	loc, lang := o.Location, o.Lang
	if loc == nil {
		loc = time.Local
	}
	funcs := template.FuncMap{
		"t":      func(key string, args ...any) string { return tr(key, args...) },
		"level":  func(l media.Level) string { return tr("level." + l.String()) },
		"kind":   func(k media.Kind) string { return tr("kind." + string(k)) },
		"status": func(s media.Status) string { return tr("status." + string(s)) },
		"state":  func(s State) string { return tr("state." + string(s)) },
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
		"ticked": func(s State) bool { return s == StateCheckedIn || s == StateManual },
		// custodians lists the custodians of a group's lines, each once, by handle.
		"custodians": func(lines []Line) []Line {
			seen := map[string]bool{}
			var out []Line
			for _, l := range lines {
				if !seen[l.Custodian] {
					seen[l.Custodian] = true
					out = append(out, l)
				}
			}
			slices.SortFunc(out, func(a, b Line) int { return cmp.Compare(a.Custodian, b.Custodian) })
			return out
		},
	}
	tmpl, err := template.New("sheet").Funcs(funcs).Parse(sheetHTML)
	if err != nil {
		return fmt.Errorf("report sheet template: %w", err)
	}
	htmlLang := "en"
	if lang == "zh" {
		htmlLang = "zh-CN"
	}
	var incidents []Line
	marking := media.Level(-1)
	for _, g := range r.Groups {
		for _, l := range g.Lines {
			if l.State == StateWithdrawn || l.State == StateMissing {
				incidents = append(incidents, l)
			}
			marking = max(marking, l.Level)
		}
	}
	slices.SortFunc(incidents, byNumber)
	mark := ""
	if marking >= 0 {
		mark = tr("level." + marking.String())
	}
	return tmpl.Execute(w, struct {
		Report
		Lang, Unit, Marking string
		Page                template.CSS
		Incidents           []Line
	}{r, htmlLang, o.Unit, mark, pageCounter(tr("sheet.page")), incidents})
}

// pageCounter makes the CSS content of "page x of y" from its text, whose two %d
// are the page and the page count ("Page %d of %d", "第 %d 页 共 %d 页").
func pageCounter(text string) template.CSS {
	parts := strings.SplitN(text, "%d", 3)
	if len(parts) != 3 {
		return `counter(page) " / " counter(pages)`
	}
	q := func(s string) string { return strconv.Quote(s) } // ASCII-safe CSS string for our own catalogue texts
	return template.CSS(q(parts[0]) + " counter(page) " + q(parts[1]) + " counter(pages) " + q(parts[2]))
}
