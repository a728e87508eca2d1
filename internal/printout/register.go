package printout

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
)

// Register is the printable register of media: a title, the unit, the marking, the
// date, a header and rows of text, and the signature lines. Every text is already in
// the reader's language.
type Register struct {
	Lang      string // "zh" or "en"
	Title     string // 涉密存储介质登记台账
	Unit      string // the unit's name ("" leaves a line to write it on)
	UnitLabel string // 单位：
	Marking   string // the classification marking, e.g. 机密★
	Date      string // the date printed, YYYY-MM-DD
	DateLabel string // 打印日期：
	Filter    string // what the list holds when filtered ("" for everything)
	Total     string // 共 N 件
	Header    []string
	Rows      [][]string
	// NoWrap are the columns (0-based) whose cells never break: numbers, dates.
	NoWrap     map[int]bool
	Empty      string   // the text of an empty register
	Signatures []string // 保密员（签字）, 检查人（签字）, 日期
	// PageOf is the page counter's words: before the page number, between it and
	// the number of pages, and after it ("第 ", " 页 共 ", " 页").
	PageOf [3]string
}

//go:embed register.html
var registerHTML string

// WriteRegister writes the register as A4 landscape HTML for printing: the header
// row repeats on every page; the marking, the date and "page x of y" are in every
// page's margins.
func WriteRegister(w io.Writer, r Register) error {
	tmpl, err := template.New("register").Funcs(template.FuncMap{
		// cssString quotes text for a CSS string (content: "…").
		"cssString": func(s string) template.CSS { return template.CSS(cssQuote(s)) },
		"inc":       func(i int) int { return i + 1 },
	}).Parse(registerHTML)
	if err != nil {
		return fmt.Errorf("register template: %w", err)
	}
	return tmpl.Execute(w, struct {
		Register
		HTMLLang string
	}{r, htmlLang(r.Lang)})
}

// cssQuote makes s a double-quoted CSS string: every character that is not a plain
// letter, digit, space or non-ASCII is escaped, so nothing in s can end the string.
func cssQuote(s string) string {
	out := []byte{'"'}
	for _, r := range s {
		switch {
		case r >= 0x80 && r != 0x2028 && r != 0x2029:
			out = append(out, string(r)...)
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '-', r == ':', r == '.':
			out = append(out, byte(r))
		default:
			out = append(out, fmt.Sprintf("\\%06x", r)...)
		}
	}
	return string(append(out, '"'))
}
