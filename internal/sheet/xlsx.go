//go:build !mediagate_daemon

package sheet

import (
	"bytes"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// The XLSX side, in a file of its own: the daemon binary (cmd/mediagated, tag
// mediagate_daemon) reads no spreadsheets and links no excelize (xlsx_none.go).

func readXLSX(data []byte, lim Limits) (*Table, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit: 4 * lim.MaxBytes, UnzipXMLSizeLimit: 2 * lim.MaxBytes})
	if err != nil {
		return nil, &Error{Col: -1, Code: "file.bad-xlsx", Args: []any{err.Error()}}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, &Error{Col: -1, Code: "file.no-sheet"}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, &Error{Col: -1, Code: "file.bad-xlsx", Args: []any{err.Error()}}
	}
	defer rows.Close()
	t := &Table{Format: FormatXLSX}
	for line := 1; rows.Next(); line++ {
		cells, err := rows.Columns()
		if err != nil {
			return nil, &Error{Row: line, Col: -1, Code: "file.bad-xlsx", Args: []any{err.Error()}}
		}
		if err := t.add(line, cells, lim); err != nil {
			return nil, err
		}
	}
	if err := rows.Error(); err != nil {
		return nil, &Error{Col: -1, Code: "file.bad-xlsx", Args: []any{err.Error()}}
	}
	return t, nil
}

// WriteXLSX writes one sheet of text cells, header first, as an XLSX workbook; the
// header row is bold and frozen.
func WriteXLSX(w io.Writer, sheetName string, header []string, rows [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	cells := func(vals []string, style int) []any {
		out := make([]any, len(vals))
		for i, v := range vals {
			// Text stays text: a number such as 0012 or a date keeps its digits.
			out[i] = excelize.Cell{StyleID: style, Value: v}
		}
		return out
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := sw.SetRow("A1", cells(header, bold)); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells(r, 0)); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	_, err = f.WriteTo(w)
	return err
}
