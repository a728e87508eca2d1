package sheet

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzRead feeds Read hostile files: it must never panic, never exceed its limits,
// and every cell it returns is valid UTF-8.
func FuzzRead(f *testing.F) {
	f.Add([]byte("编号,密级,责任人\nS-1,机密,张三\n"))
	f.Add([]byte("\xEF\xBB\xBF\"a\"\"b\",c\r\n"))
	f.Add(gb(f, "编号,密级\nS-1,绝密\n"))
	f.Add([]byte("a,\"unterminated\n"))
	var x bytes.Buffer
	if err := WriteXLSX(&x, "s", []string{"编号", "密级"}, [][]string{{"S-1", "机密"}}); err != nil {
		f.Fatal(err)
	}
	f.Add(x.Bytes())
	lim := Limits{MaxBytes: 1 << 20, MaxRows: 200, MaxCols: 20, MaxCell: 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Read(data, lim)
		if err != nil {
			return
		}
		if len(tab.Rows) > lim.MaxRows {
			t.Fatalf("%d rows", len(tab.Rows))
		}
		for _, r := range tab.Rows {
			if len(r.Cells) > lim.MaxCols {
				t.Fatalf("%d columns", len(r.Cells))
			}
			for _, c := range r.Cells {
				if len(c) > lim.MaxCell || !utf8.ValidString(c) {
					t.Fatalf("cell %q", c)
				}
			}
		}
		if cols, err := MapColumns(tab, nil); err == nil {
			Records(tab, cols)
		}
	})
}

// FuzzMapColumns maps arbitrary headers with arbitrary --map overrides.
func FuzzMapColumns(f *testing.F) {
	f.Add("编号", "密级", "F", "serial")
	f.Add("", "*", "", "")
	f.Fuzz(func(t *testing.T, h1, h2, k, v string) {
		tab := &Table{Rows: []Row{{Line: 1, Cells: []string{h1, h2, "责任人"}}, {Line: 2, Cells: []string{"a", "b", "c"}}}}
		cols, err := MapColumns(tab, map[string]string{k: v})
		if err != nil {
			return
		}
		for f, i := range cols.Of {
			if i < 0 || i >= 3 {
				t.Fatalf("%s in column %d", f, i)
			}
		}
		Records(tab, cols)
	})
}
