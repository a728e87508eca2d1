package printout

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Layout is a label sheet: an A4 sheet of Cols×Rows stickers of Width×Height mm,
// the first one Top mm from the top edge and Left mm from the left edge, with
// GapX/GapY mm between stickers.
type Layout struct {
	Name                  string
	Cols, Rows            int
	Width, Height         float64
	Top, Left, GapX, GapY float64
}

// Layouts are common A4 label sheets.
var Layouts = []Layout{
	{Name: "3x8", Cols: 3, Rows: 8, Width: 70, Height: 37, Top: 0.5, Left: 0},
	{Name: "4x10", Cols: 4, Rows: 10, Width: 48.5, Height: 25.4, Top: 21.5, Left: 8},
	{Name: "2x7", Cols: 2, Rows: 7, Width: 99.1, Height: 38.1, Top: 15.15, Left: 4.65, GapX: 2.5},
	{Name: "3x7", Cols: 3, Rows: 7, Width: 63.5, Height: 38.1, Top: 15.15, Left: 7.25, GapX: 2.5},
}

// LayoutNames lists the names of the layouts.
func LayoutNames() []string {
	var out []string
	for _, l := range Layouts {
		out = append(out, l.Name)
	}
	return out
}

// FindLayout returns the layout of a name ("3x8"; "3×8" too).
func FindLayout(name string) (Layout, bool) {
	name = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "×", "x")
	i := slices.IndexFunc(Layouts, func(l Layout) bool { return l.Name == name })
	if i < 0 {
		return Layout{}, false
	}
	return Layouts[i], true
}

// Label is one sticker: what it says, already in the reader's language.
type Label struct {
	Number    string
	Level     string // 机密
	Custodian string // the custodian's name
	Unit      string // the unit's name, may be empty
}

// LabelSheet is the sheet's words and its stickers.
type LabelSheet struct {
	Lang           string // "zh" or "en"
	Title          string
	Layout         Layout
	Labels         []Label
	CustodianLabel string // "责任人：", before the name
}

//go:embed labels.html
var labelsHTML string

type labelCell struct {
	Label
	QR template.HTML
}

// WriteLabels writes the stickers as A4 pages of the layout, in order, one QR code of
// the number on each.
func WriteLabels(w io.Writer, s LabelSheet) error {
	per := s.Layout.Cols * s.Layout.Rows
	if per <= 0 {
		return fmt.Errorf("label layout %q has no stickers", s.Layout.Name)
	}
	var pages [][]labelCell
	for i, l := range s.Labels {
		m, err := QR(l.Number)
		if err != nil {
			return err
		}
		if i%per == 0 {
			pages = append(pages, nil)
		}
		pages[len(pages)-1] = append(pages[len(pages)-1], labelCell{Label: l, QR: qrSVG(m)})
	}
	tmpl, err := template.New("labels").Funcs(template.FuncMap{
		"mm": func(v float64) template.CSS { return template.CSS(fmt.Sprintf("%gmm", v)) },
		"pt": func(v float64) template.CSS { return template.CSS(fmt.Sprintf("%.1fpt", v)) },
	}).Parse(labelsHTML)
	if err != nil {
		return fmt.Errorf("label template: %w", err)
	}
	return tmpl.Execute(w, struct {
		LabelSheet
		HTMLLang string
		Pages    [][]labelCell
		NumberPt float64
	}{s, htmlLang(s.Lang), pages, numberSize(s)})
}

// numberSize is the font size (pt) at which the longest number fits beside the QR
// code on one line in a monospaced font (0.6 em a character), at most 11 pt.
func numberSize(s LabelSheet) float64 {
	longest := 10
	for _, l := range s.Labels {
		longest = max(longest, utf8.RuneCountInString(l.Number))
	}
	text := s.Layout.Width - 4 - (s.Layout.Height - 4) - 2 // mm beside the QR code
	return min(11, text/(0.62*float64(longest))*72/25.4)
}

func htmlLang(l string) string {
	if l == "zh" {
		return "zh-CN"
	}
	return "en"
}
