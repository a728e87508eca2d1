package sheet

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gb(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadEncodings(t *testing.T) {
	const text = "编号,密级,责任人\r\nS-2019-0001,机密,张三\r\n"
	for _, c := range []struct {
		name   string
		data   []byte
		format string
	}{
		{"utf8", []byte(text), FormatCSV},
		{"bom", append([]byte{0xEF, 0xBB, 0xBF}, text...), FormatCSVBOM},
		{"gb18030", gb(t, text), FormatCSVGB18030},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, err := Read(c.data, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if tab.Format != c.format {
				t.Errorf("format %s, want %s", tab.Format, c.format)
			}
			if len(tab.Rows) != 2 || tab.Rows[0].Cells[0] != "编号" || tab.Rows[1].Cells[2] != "张三" || tab.Rows[1].Line != 2 {
				t.Errorf("rows %+v", tab.Rows)
			}
		})
	}
}

func TestReadXLSXRoundTrip(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{{"编号", "密级", "责任人"}, {"S-2019-0001", "机密", "张三"}, {"0012", "秘密", "李四"}}
	if err := WriteXLSX(&b, "台账", []string{"某单位台账"}, rows); err != nil {
		t.Fatal(err)
	}
	tab, err := Read(b.Bytes(), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Format != FormatXLSX || len(tab.Rows) != 4 {
		t.Fatalf("%s, %d rows", tab.Format, len(tab.Rows))
	}
	cols, err := MapColumns(tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cols.HeaderRow != 2 {
		t.Errorf("header on row %d, want 2 (below the title)", cols.HeaderRow)
	}
	recs := Records(tab, cols)
	if len(recs) != 2 || recs[1].Get(Number) != "0012" || recs[1].Line != 4 || recs[0].Get(Custodian) != "张三" {
		t.Errorf("records %+v", recs)
	}
}

func TestReadLimits(t *testing.T) {
	lim := Limits{MaxBytes: 1000, MaxRows: 3, MaxCols: 4, MaxCell: 10}
	for _, c := range []struct {
		name, data, code string
		row, col         int
	}{
		{"bytes", strings.Repeat("a,", 600), "file.too-big", 0, -1},
		{"rows", "a,b\n1,2\n3,4\n5,6\n", "file.too-many-rows", 4, -1},
		{"cols", "a,b,c,d,e\n", "file.too-many-columns", 1, 4},
		{"cell", "a,b\n1,12345678901\n", "file.cell-too-long", 2, 1},
		{"binary", "a,b\x00\n", "file.binary", 0, -1},
		{"xls", "\xD0\xCF\x11\xE0rest", "file.xls", 0, -1},
		{"bad xlsx", "PK\x03\x04garbage", "file.bad-xlsx", 0, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read([]byte(c.data), lim)
			var se *Error
			if !errors.As(err, &se) || se.Code != c.code || se.Row != c.row || se.Col != c.col {
				t.Errorf("got %v, want %s at row %d col %d", err, c.code, c.row, c.col)
			}
		})
	}
}

func TestMapColumns(t *testing.T) {
	tab := &Table{Rows: []Row{
		{Line: 1, Cells: []string{"XX单位涉密存储介质登记台账"}},
		{Line: 2, Cells: []string{"序号", "编号", "密级 *", "Brand/Model", "容量（GB）", "介质序号", "责任人", "使用范围", "In service"}},
		{Line: 3, Cells: []string{"1", "S-1", "机密", "Kingston", "32", "ABC", "张三", "拷贝", "2020-01-01"}},
	}}
	cols, err := MapColumns(tab, map[string]string{"介质序号": "serial"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Field]int{Number: 1, Level: 2, Model: 3, Capacity: 4, Serial: 5, Custodian: 6, Purpose: 7, InService: 8}
	for f, i := range want {
		if cols.Of[f] != i {
			t.Errorf("%s in column %d, want %d", f, cols.Of[f], i)
		}
	}
	if len(cols.Ignored) != 1 || cols.Ignored[0] != "A (序号)" {
		t.Errorf("ignored %v", cols.Ignored)
	}
	if cols.Name(Serial) != "F (介质序号)" {
		t.Errorf("name %q", cols.Name(Serial))
	}
	// By letter, and errors.
	if c, err := MapColumns(tab, map[string]string{"A": "note"}); err != nil || c.Of[Note] != 0 {
		t.Errorf("map by letter: %v %v", c.Of, err)
	}
	for _, over := range []map[string]string{{"介质序号": "nonsense"}, {"无此列": "serial"}, {"介质序号": "number"}} {
		if _, err := MapColumns(tab, over); err == nil {
			t.Errorf("%v accepted", over)
		}
	}
	if _, err := MapColumns(&Table{Rows: []Row{{Line: 1, Cells: []string{"a", "b"}}}}, nil); err == nil {
		t.Error("a sheet without a header accepted")
	}
}

func TestColName(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := ColName(i); got != want {
			t.Errorf("ColName(%d) = %s, want %s", i, got, want)
		}
	}
}
