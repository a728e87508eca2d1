// Package forms renders the paper forms of the register (登记, 交接, 借用, 维修, 销毁)
// as printable A4 HTML, ready to sign: the fields of one record of the audit log and a
// signature line for every person the form names. It is pure: the front-end gives the
// words in the reader's language and the record's fields.
package forms

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

//go:embed form.html
var formHTML string

var formTmpl = template.Must(template.New("form").Parse(formHTML))

// Field is one labelled value of a form.
type Field struct {
	Label, Value string
}

// Form is one printable form.
type Form struct {
	Lang    string // "zh" (zh-CN) or "en"
	Unit    string // the unit's name, at the head of the page ("" leaves it out)
	Marking string // the classification marking (the medium's level), top and bottom
	Title   string
	Fields  []Field
	// Signatures are the roles that sign, one line each.
	Signatures []string
	SignDate   string // the label of the date next to each signature
	// Page is "page x of y" with two %d (the page and the count).
	Page string
	// Footer ties the paper to the record: its audit row and hash.
	Footer string
}

// WriteHTML writes the form as A4 HTML.
func WriteHTML(w io.Writer, f Form) error {
	lang := "en"
	if f.Lang == "zh" {
		lang = "zh-CN"
	}
	if err := formTmpl.Execute(w, struct {
		Form
		HTMLLang string
		PageCSS  template.CSS
	}{f, lang, pageCounter(f.Page)}); err != nil {
		return fmt.Errorf("form: %w", err)
	}
	return nil
}

// pageCounter makes the CSS content of "page x of y" from its text.
func pageCounter(text string) template.CSS {
	parts := strings.SplitN(text, "%d", 3)
	if len(parts) != 3 {
		return `counter(page) " / " counter(pages)`
	}
	return template.CSS(strconv.Quote(parts[0]) + " counter(page) " + strconv.Quote(parts[1]) + " counter(pages) " + strconv.Quote(parts[2]))
}
