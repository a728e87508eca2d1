package sheet

import (
	"strings"
	"unicode"
)

// Field is a column of the register that import understands.
type Field string

// The fields of the register. Number … Note are the columns of the paper register;
// Vendor, Product, WWN and Key are identity a spreadsheet rarely holds.
const (
	Number     Field = "number"     // 编号
	Level      Field = "level"      // 密级
	Kind       Field = "kind"       // 类型
	Model      Field = "model"      // 品牌型号
	Capacity   Field = "capacity"   // 容量
	Serial     Field = "serial"     // 序列号
	Custodian  Field = "custodian"  // 责任人 (handle or full name)
	Department Field = "department" // 部门
	InService  Field = "in-service" // 启用日期
	Purpose    Field = "purpose"    // 用途/使用范围
	Status     Field = "status"     // 状态
	Note       Field = "note"       // 备注
	Vendor     Field = "vendor"     // USB VID
	Product    Field = "product"    // USB PID
	WWN        Field = "wwn"
	Key        Field = "key" // identity key as 'mediagate devices' shows it
)

// Fields lists every field in the order of the paper register.
func Fields() []Field {
	return []Field{Number, Level, Kind, Model, Capacity, Serial, Custodian, Department, InService, Purpose, Status, Note,
		Vendor, Product, WWN, Key}
}

// ParseField accepts a field's name or a header that names it.
func ParseField(s string) (Field, bool) {
	n := normHeader(s)
	for _, f := range Fields() {
		if n == string(f) {
			return f, true
		}
	}
	f, ok := headers[n]
	return f, ok
}

// headers are the column titles import recognises, normalised (normHeader).
var headers = map[string]Field{
	"编号": Number, "介质编号": Number, "统一编号": Number, "登记编号": Number, "number": Number, "no": Number, "no.": Number,
	"mediumnumber": Number,
	"密级":           Level, "介质密级": Level, "level": Level, "classification": Level,
	"类型": Kind, "介质类型": Kind, "种类": Kind, "kind": Kind, "type": Kind,
	"品牌型号": Model, "品牌/型号": Model, "品牌及型号": Model, "型号": Model, "品牌": Model, "brand/model": Model,
	"brandandmodel": Model, "model": Model, "brand": Model,
	"容量": Capacity, "capacity": Capacity, "size": Capacity,
	"序列号": Serial, "序号/序列号": Serial, "出厂编号": Serial, "serial": Serial, "serialnumber": Serial, "sn": Serial, "s/n": Serial,
	"责任人": Custodian, "保管人": Custodian, "责任人/保管人": Custodian, "custodian": Custodian, "owner": Custodian,
	"部门": Department, "使用部门": Department, "所属部门": Department, "department": Department, "dept": Department,
	"启用日期": InService, "启用时间": InService, "启用": InService, "inservice": InService, "in-service": InService,
	"dateinservice": InService, "inservicedate": InService,
	"用途": Purpose, "使用范围": Purpose, "用途/使用范围": Purpose, "用途及使用范围": Purpose, "用途或使用范围": Purpose,
	"purpose": Purpose, "scope": Purpose, "scopeofuse": Purpose, "purpose/scope": Purpose,
	"状态": Status, "使用状态": Status, "status": Status,
	"备注": Note, "说明": Note, "note": Note, "notes": Note, "remarks": Note,
	"vid": Vendor, "vendor": Vendor, "vendorid": Vendor, "厂商id": Vendor,
	"pid": Product, "product": Product, "productid": Product, "产品id": Product,
	"wwn": WWN,
	"key": Key, "identitykey": Key, "identity": Key, "标识": Key,
}

// normHeader folds a header for matching: lower case, without spaces (also
// full-width ones), asterisks of required columns and a trailing note in brackets
// ("容量（GB）").
func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, open := range []string{"（", "("} {
		if i := strings.Index(s, open); i > 0 {
			s = s[:i]
		}
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '*' || r == '＊' || r == '\u3000' || r == '_' {
			return -1
		}
		return r
	}, s)
}

// Columns says which column holds each field.
type Columns struct {
	HeaderRow int           // the row number of the header
	Of        map[Field]int // field → 0-based column
	Header    []string      // the header's texts
	// Ignored are the header texts of columns mapped to no field.
	Ignored []string
}

// Name is the header text and letter of a field's column, for messages: "F（序列号）".
func (c Columns) Name(f Field) string {
	i, ok := c.Of[f]
	if !ok {
		return ""
	}
	if i < len(c.Header) && strings.TrimSpace(c.Header[i]) != "" {
		return ColName(i) + " (" + strings.TrimSpace(c.Header[i]) + ")"
	}
	return ColName(i)
}

// headerScan is how many rows from the top are searched for the header: a title
// ("XX单位涉密存储介质登记台账") or a blank line often stands above it.
const headerScan = 10

// MapColumns finds the header among the first rows (the first row that names at
// least two fields, or the first row when overrides name columns by letter) and maps
// its columns. overrides map a header text or a column letter to a field name
// (--map 介质序号=number, --map F=serial); they win over the built-in names.
func MapColumns(t *Table, overrides map[string]string) (Columns, error) {
	cols := Columns{Of: map[Field]int{}}
	if len(t.Rows) == 0 {
		return cols, &Error{Col: -1, Code: "file.empty"}
	}
	over := map[string]Field{}
	for k, v := range overrides {
		f, ok := ParseField(v)
		if !ok {
			return cols, &Error{Col: -1, Code: "file.map-field", Args: []any{k + "=" + v}}
		}
		over[strings.TrimSpace(k)] = f
	}
	fieldOf := func(i int, h string) (Field, bool) {
		if f, ok := over[ColName(i)]; ok {
			return f, true
		}
		if f, ok := over[strings.TrimSpace(h)]; ok {
			return f, true
		}
		return ParseField(h)
	}
	header := -1
	for r := 0; r < len(t.Rows) && r < headerScan; r++ {
		n := 0
		for i, h := range t.Rows[r].Cells {
			if _, ok := fieldOf(i, h); ok {
				n++
			}
		}
		if n >= 2 {
			header = r
			break
		}
	}
	if header < 0 {
		return cols, &Error{Row: t.Rows[0].Line, Col: -1, Code: "file.no-header"}
	}
	row := t.Rows[header]
	cols.HeaderRow, cols.Header = row.Line, row.Cells
	for i, h := range row.Cells {
		f, ok := fieldOf(i, h)
		if !ok {
			if strings.TrimSpace(h) != "" {
				cols.Ignored = append(cols.Ignored, ColName(i)+" ("+strings.TrimSpace(h)+")")
			}
			continue
		}
		if j, dup := cols.Of[f]; dup {
			return cols, &Error{Row: row.Line, Col: i, Code: "file.dup-column", Args: []any{string(f), ColName(j)}}
		}
		cols.Of[f] = i
	}
	for k := range over {
		if !headerHas(row.Cells, k) {
			return cols, &Error{Row: row.Line, Col: -1, Code: "file.map-column", Args: []any{k}}
		}
	}
	return cols, nil
}

// headerHas reports whether k names a column of the header: its text or its letter.
func headerHas(header []string, k string) bool {
	for i, h := range header {
		if strings.TrimSpace(h) == k || ColName(i) == k {
			return true
		}
	}
	// A letter beyond the header's last text is still a column.
	if k != "" && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && len(k) <= 2 {
		return true
	}
	return false
}

// Record is one data row: the text of each mapped field, trimmed.
type Record struct {
	Line   int
	Values map[Field]string
}

// Get returns a field's text ("" when the column is missing or the cell empty).
func (r Record) Get(f Field) string { return r.Values[f] }

// Records returns the rows below the header as records.
func Records(t *Table, cols Columns) []Record {
	var out []Record
	for _, row := range t.Rows {
		if row.Line <= cols.HeaderRow {
			continue
		}
		rec := Record{Line: row.Line, Values: map[Field]string{}}
		for f, i := range cols.Of {
			if i < len(row.Cells) {
				if v := strings.TrimSpace(row.Cells[i]); v != "" {
					rec.Values[f] = v
				}
			}
		}
		if len(rec.Values) == 0 {
			continue
		}
		out = append(out, rec)
	}
	return out
}
