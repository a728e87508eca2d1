package checkin

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"mediagate/internal/media"
)

//go:embed sheet.html
var sheetHTML string

// Translate returns the text of a message key in the sheet's language, formatted
// with args. The caller's message catalogue provides it (keys "sheet.*", "state.*",
// and the names "level.*", "kind.*", "status.*").
type Translate func(key string, args ...any) string

// WriteHTML writes the report as a printable A4 checklist: a summary, then one
// section per group listing every expected medium with a box to tick, and signature
// lines for the custodian (or the department's representative) and the security
// officer. lang is "zh" (zh-CN) or "en". Times are shown in loc.
func WriteHTML(w io.Writer, r Report, lang string, loc *time.Location, tr Translate) error {
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
	}
	tmpl, err := template.New("sheet").Funcs(funcs).Parse(sheetHTML)
	if err != nil {
		return fmt.Errorf("report sheet template: %w", err)
	}
	htmlLang := "en"
	if lang == "zh" {
		htmlLang = "zh-CN"
	}
	return tmpl.Execute(w, struct {
		Report
		Lang string
	}{r, htmlLang})
}
