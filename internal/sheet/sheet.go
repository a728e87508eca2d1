// Package sheet reads the office's register of media from a spreadsheet file into
// records of text: CSV (UTF-8 with or without a byte order mark, or GB18030, as
// spreadsheets on Chinese Windows save it) or XLSX (read with excelize). It finds the
// header row, maps its columns to the register's fields by their Chinese or English
// names (or as --map says), and keeps each value's row and column so that every
// complaint can name them.
//
// The file is outside input, possibly hostile: its size, the number of rows and
// columns and the length of a cell are limited (Limits), and the readers are fuzzed.
// It holds no rules of the register: internal/service decides what a record means.
package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Limits bound what Read accepts.
type Limits struct {
	MaxBytes int64 // the file
	MaxRows  int   // data rows, header included
	MaxCols  int   // columns of a row
	MaxCell  int   // bytes of one cell, after decoding
}

// DefaultLimits are generous for an office's register (a few thousand media) and
// small enough to refuse a file made to exhaust the machine.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxRows: 100_000, MaxCols: 64, MaxCell: 4096}

// Formats of a file, as Table.Format says.
const (
	FormatCSV        = "csv"         // UTF-8 without BOM
	FormatCSVBOM     = "csv-bom"     // UTF-8 with BOM
	FormatCSVGB18030 = "csv-gb18030" // GB18030 (GBK)
	FormatXLSX       = "xlsx"
)

// Error is a refusal of the file, naming where it is when it is about one place: Row
// is the spreadsheet's row number (1-based, 0 when none) and Col the column index
// (0-based, -1 when none). Code names the message in the catalogue.
type Error struct {
	Row, Col int
	Code     string
	Args     []any
}

func (e *Error) Error() string {
	where := ""
	if e.Row > 0 {
		where = fmt.Sprintf("row %d: ", e.Row)
		if e.Col >= 0 {
			where = fmt.Sprintf("row %d, column %s: ", e.Row, ColName(e.Col))
		}
	}
	return fmt.Sprintf("%s%s %v", where, e.Code, e.Args)
}

// MessageCode returns the catalogue key and its arguments.
func (e *Error) MessageCode() (string, []any) { return e.Code, e.Args }

// ErrFormat is wrapped by errors about a file that is not a spreadsheet mediagate
// reads.
var ErrFormat = errors.New("not a readable spreadsheet")

// ColName is the spreadsheet's name of a 0-based column index: A, B, …, Z, AA, ….
func ColName(i int) string {
	if i < 0 {
		return ""
	}
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

// Table is the text of a sheet: every row with its row number.
type Table struct {
	Format string
	Rows   []Row
}

// Row is one row of a sheet: its 1-based row number and its cells.
type Row struct {
	Line  int
	Cells []string
}

// Read reads a CSV or XLSX file (told apart by content, not by name) into a table.
func Read(data []byte, lim Limits) (*Table, error) {
	if int64(len(data)) > lim.MaxBytes {
		return nil, &Error{Col: -1, Code: "file.too-big", Args: []any{len(data), lim.MaxBytes}}
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return readXLSX(data, lim)
	}
	if bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
		return nil, &Error{Col: -1, Code: "file.xls"}
	}
	return readCSV(data, lim)
}

// decodeText turns the bytes of a CSV file into UTF-8: a UTF-8 byte order mark is
// dropped, valid UTF-8 is taken as it is, anything else is read as GB18030.
func decodeText(data []byte) (string, string, error) {
	if b, ok := bytes.CutPrefix(data, []byte{0xEF, 0xBB, 0xBF}); ok {
		if !utf8.Valid(b) {
			return "", "", &Error{Col: -1, Code: "file.bad-utf8"}
		}
		return string(b), FormatCSVBOM, nil
	}
	if utf8.Valid(data) {
		return string(data), FormatCSV, nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || !utf8.Valid(out) {
		return "", "", &Error{Col: -1, Code: "file.bad-encoding"}
	}
	return string(out), FormatCSVGB18030, nil
}

func readCSV(data []byte, lim Limits) (*Table, error) {
	text, format, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(text, 0) {
		return nil, &Error{Col: -1, Code: "file.binary"}
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	t := &Table{Format: format}
	// A record is a row of the spreadsheet, whatever line breaks its cells hold: the
	// row number is the record's, as a spreadsheet program shows it.
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{Row: line, Col: -1, Code: "file.bad-csv", Args: []any{pe.Err.Error()}}
			}
			return nil, fmt.Errorf("read csv: %w", err)
		}
		if err := t.add(line, rec, lim); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// add appends a row, checking the limits; rows without any text are left out.
func (t *Table) add(line int, cells []string, lim Limits) error {
	empty := true
	for i, c := range cells {
		if len(c) > lim.MaxCell {
			return &Error{Row: line, Col: i, Code: "file.cell-too-long", Args: []any{lim.MaxCell}}
		}
		if !utf8.ValidString(c) {
			return &Error{Row: line, Col: i, Code: "file.bad-utf8"}
		}
		if strings.TrimSpace(c) != "" {
			empty = false
		}
	}
	if empty {
		return nil
	}
	// Trailing empty cells do not count as columns.
	for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	if len(cells) > lim.MaxCols {
		return &Error{Row: line, Col: lim.MaxCols, Code: "file.too-many-columns", Args: []any{lim.MaxCols}}
	}
	if len(t.Rows) >= lim.MaxRows {
		return &Error{Row: line, Col: -1, Code: "file.too-many-rows", Args: []any{lim.MaxRows}}
	}
	t.Rows = append(t.Rows, Row{Line: line, Cells: cells})
	return nil
}
