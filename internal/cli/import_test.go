package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"mediagate/internal/audit"
	"mediagate/internal/sheet"
)

// The fixture: an office's register of 1,000 media as a spreadsheet holds it, with
// 20 broken rows, as XLSX and as CSV in GB18030. genRegister makes it; -update
// writes the files (they are committed, so that a change of the generator shows).
const (
	fixtureXLSX = "testdata/register-1000.xlsx"
	fixtureCSV  = "testdata/register-1000.gb18030.csv"
)

// fixturePeople are the custodians; the last one is not in the register.
var fixturePeople = []struct{ handle, name, dept string }{
	{"zhangwei", "张伟", "办公室"}, {"wangfang", "王芳", "办公室"}, {"lina", "李娜", "财务处"}, {"liuyang", "刘洋", "财务处"},
	{"chenjing", "陈静", "科研处"}, {"yangli", "杨丽", "科研处"}, {"zhaolei", "赵磊", "科研处"}, {"huangmin", "黄敏", "人事处"},
	{"zhoujie", "周杰", "人事处"}, {"wuqiang", "吴强", "保卫处"}, {"xujun", "徐军", "保卫处"}, {"sunyan", "孙艳", "档案室"},
	{"maxiu", "马秀英", "档案室"}, {"zhuhua", "朱华", "教务处"}, {"hulin", "胡琳", "教务处"}, {"guoping", "郭平", "教务处"},
	{"heyu", "何宇", "信息中心"}, {"gaoxiang", "高翔", "信息中心"}, {"linfeng", "林峰", "信息中心"},
}

var fixtureHeader = []string{"序号", "编号", "密级", "类型", "品牌型号", "容量", "序列号", "VID", "PID", "责任人", "部门", "启用日期",
	"用途/使用范围", "状态", "备注"}

// genRegister makes the rows of the fixture, header first.
func genRegister() [][]string {
	rng := rand.New(rand.NewPCG(2026, 15))
	kinds := []struct {
		kind, vid, pid string
		models         []string
		caps           []string
	}{
		{"U盘", "0951", "1666", []string{"金士顿 DataTraveler 100 G3", "闪迪 酷豆 CZ33", "东芝 隼闪 U202", "朗科 U903"}, []string{"16GB", "32GB", "64GB"}},
		{"移动硬盘", "1058", "25a2", []string{"西部数据 My Passport", "希捷 Expansion", "东芝 Canvio"}, []string{"1TB", "2TB"}},
		{"光盘", "", "", []string{"威宝 DVD-R", "索尼 CD-R"}, []string{"4.7GB", "700MB"}},
		{"SD卡", "", "", []string{"闪迪 Extreme SDXC", "三星 EVO Plus"}, []string{"32GB", "64GB"}},
		{"硬盘", "", "", []string{"希捷 ST1000DM010", "西部数据 WD10EZEX"}, []string{"1TB"}},
	}
	levels := []struct{ name, code string }{{"秘密", "C"}, {"机密", "S"}, {"绝密", "TS"}, {"秘密★", "C"}}
	purposes := []string{"涉密文件拷贝", "科研数据存储", "财务报表报送", "人事档案备份", "公文交换", "系统备份", "会议材料"}
	statuses := []string{"在用", "在用", "在用", "在用", "在用", "在用", "入柜保存", "送修", "已销毁", "停用"}
	seq := map[string]int{}
	rows := [][]string{fixtureHeader}
	for i := 1; i <= 1000; i++ {
		k := kinds[rng.IntN(len(kinds))]
		lv := levels[rng.IntN(len(levels))]
		year := 2016 + rng.IntN(11)
		key := lv.code + fmt.Sprint(year)
		seq[key]++
		number := fmt.Sprintf("%s-%d-%04d", lv.code, year, seq[key])
		p := fixturePeople[rng.IntN(len(fixturePeople))]
		serial := fmt.Sprintf("%012X", rng.Uint64()>>16)
		vid, pid := "", ""
		if k.vid != "" && rng.IntN(10) == 0 { // a few rows were read from the device
			vid, pid = k.vid, k.pid
		}
		if k.kind == "光盘" {
			serial = ""
		}
		dept := p.dept
		if rng.IntN(25) == 0 {
			dept = "保密办" // kept for another department
		}
		date := fmt.Sprintf("%d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
		if rng.IntN(4) == 0 {
			date = fmt.Sprintf("%d/%d/%d", year, 1+rng.IntN(12), 1+rng.IntN(28))
		}
		note := ""
		if rng.IntN(8) == 0 {
			note = []string{"原台账转入", "外壳有划痕", "含加密分区", "2020年清查核对"}[rng.IntN(4)]
		}
		rows = append(rows, []string{fmt.Sprint(i), number, lv.name, k.kind, k.models[rng.IntN(len(k.models))], k.caps[rng.IntN(len(k.caps))],
			serial, vid, pid, p.name, dept, date, purposes[rng.IntN(len(purposes))], statuses[rng.IntN(len(statuses))], note})
	}
	// 20 broken rows, one every 50 rows, each broken its own way.
	col := map[string]int{}
	for i, h := range fixtureHeader {
		col[h] = i
	}
	breaks := []func(r []string){
		func(r []string) { r[col["密级"]] = "内部" },
		func(r []string) { r[col["启用日期"]] = "2021-13-45" },
		func(r []string) { r[col["编号"]] = rows[3][col["编号"]] },               // a number twice
		func(r []string) { r[col["序列号"]] = rows[5][col["序列号"]] },             // a serial twice
		func(r []string) { r[col["序列号"]] = "00000000"; r[col["类型"]] = "U盘" }, // weak
		func(r []string) { r[col["责任人"]] = "查无此人" },
		func(r []string) { r[col["状态"]] = "借出" },
		func(r []string) { r[col["密级"]] = "" },
		func(r []string) { r[col["类型"]] = "磁带" },
		func(r []string) { r[col["编号"]] = "S 2019/01" },
		func(r []string) { r[col["责任人"]] = "" },
		func(r []string) { r[col["VID"]] = "xyz"; r[col["PID"]] = "1666"; r[col["类型"]] = "U盘" },
		func(r []string) { r[col["状态"]] = "不知去向" },
		func(r []string) { r[col["编号"]] = ""; r[col["序列号"]] = "" },
		func(r []string) { r[col["启用日期"]] = "去年" },
		func(r []string) { r[col["序列号"]] = "1111111111"; r[col["类型"]] = "移动硬盘" },
		func(r []string) { r[col["密级"]] = "confidential-ish" },
		func(r []string) { r[col["备注"]] = "含格式字符\u202e反向" },
		func(r []string) { r[col["编号"]] = rows[7][col["编号"]] },
		func(r []string) { r[col["VID"]] = "0951"; r[col["PID"]] = ""; r[col["类型"]] = "U盘" },
	}
	for j, br := range breaks {
		br(rows[50*(j+1)-10])
	}
	return rows
}

// writeFixtures writes the XLSX (with a title row above the header, as offices
// keep it) and the GB18030 CSV.
func writeFixtures(t *testing.T, xlsxPath, csvPath string) {
	t.Helper()
	rows := genRegister()
	title := []string{"某大学涉密存储介质登记台账（2025年12月）"}
	var x bytes.Buffer
	if err := sheet.WriteXLSX(&x, "台账", title, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsxPath, x.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	w := csv.NewWriter(&c)
	w.UseCRLF = true
	w.Write(title)
	w.WriteAll(rows)
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes(c.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, gb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// importEnv is a register with the fixture's people (but the one it misses).
func importEnv(t *testing.T) (run func(args ...string) (string, string, int), db string) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "mediagate.db")
	now := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	run = func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		app := &App{Out: &out, Err: &errb, Now: func() time.Time { return now }, Actor: audit.Actor{UID: 0, User: "root", Login: "officer"},
			Paths: testPaths(t), Getenv: func(k string) string {
				if k == "MEDIAGATE_DB" {
					return db
				}
				return ""
			}}
		code := Run(context.Background(), app, args)
		now = now.Add(time.Minute)
		return out.String(), errb.String(), code
	}
	must := func(args ...string) {
		t.Helper()
		if _, e, code := run(args...); code != 0 {
			t.Fatalf("mediagate %v: exit %d: %s", args, code, e)
		}
	}
	must("host", "init", "--number", "OFFICE-01", "--level", "top-secret", "--department", "保密办")
	for _, p := range fixturePeople {
		must("person", "add", p.handle, "--name", p.name, "--department", p.dept)
	}
	return run, db
}

func TestImportFixtureFiles(t *testing.T) {
	if *update {
		writeFixtures(t, fixtureXLSX, fixtureCSV)
	}
	dir := t.TempDir()
	x, c := filepath.Join(dir, "r.xlsx"), filepath.Join(dir, "r.csv")
	writeFixtures(t, x, c)
	for _, p := range [][2]string{{x, fixtureXLSX}, {c, fixtureCSV}} {
		got, _ := os.ReadFile(p[0])
		want, err := os.ReadFile(p[1])
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if p[1] == fixtureCSV && !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator makes (run with -update)", p[1])
		}
	}
}

// TestImportDryRunGolden imports the 1,000-row fixture dry, in both languages, from
// the XLSX and from the GB18030 CSV: the report of every row is a golden file, and
// both files give the same report.
func TestImportDryRunGolden(t *testing.T) {
	run, _ := importEnv(t)
	for _, lang := range []string{"en", "zh"} {
		out, e, code := run("--lang", lang, "media", "import", fixtureXLSX, "--dry-run")
		if code != 0 {
			t.Fatalf("dry run: exit %d: %s", code, e)
		}
		golden := filepath.Join("testdata", "import-dry-run."+lang+".txt")
		if *update {
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if want, err := os.ReadFile(golden); err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		} else if out != string(want) {
			t.Errorf("%s dry run differs from %s (run with -update after checking it):\n%s", lang, golden, out)
		}
		csvOut, e, code := run("--lang", lang, "media", "import", fixtureCSV, "--dry-run")
		if code != 0 {
			t.Fatalf("csv dry run: exit %d: %s", code, e)
		}
		_, body, _ := strings.Cut(out, "\n")
		_, csvBody, _ := strings.Cut(csvOut, "\n")
		if body != csvBody {
			t.Errorf("the GB18030 CSV gives another report than the XLSX:\n%s", csvOut)
		}
	}
	// The report counts what the generator broke: 20 rows in error, in rows named.
	out, _, _ := run("--json", "media", "import", fixtureXLSX, "--dry-run")
	var rep struct {
		Errors, Registered, Pending, Exists int
		Rows                                []struct {
			Row      int
			Action   string
			Problems []struct{ Column, Message string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 20 || len(rep.Rows) != 1000 || rep.Registered+rep.Pending+rep.Exists+rep.Errors != 1000 {
		t.Fatalf("%d rows, %d errors, %d + %d + %d: want 1000 rows, 20 errors", len(rep.Rows), rep.Errors, rep.Registered, rep.Pending, rep.Exists)
	}
	for _, r := range rep.Rows {
		broken := (r.Row-2)%50 == 40 // data row 50k-10 is on sheet row 50k-10+2 (title, header)
		if (r.Action == "error") != broken {
			t.Errorf("row %d: %s %v", r.Row, r.Action, r.Problems)
		}
		for _, p := range r.Problems {
			if p.Message == "" {
				t.Errorf("row %d: a problem without a message", r.Row)
			}
		}
	}
}

// TestImportAllOrNothing: a file with broken rows imports nothing; once fixed, one
// import registers everything with one audit row per medium and a summary, and a
// second import of the same file changes nothing.
func TestImportAllOrNothing(t *testing.T) {
	run, _ := importEnv(t)
	count := func() int {
		out, e, code := run("--json", "log")
		if code != 0 {
			t.Fatalf("log: %s", e)
		}
		var rows []json.RawMessage
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	before := count()
	out, e, code := run("media", "import", fixtureXLSX)
	if code == 0 || !strings.Contains(e, "20 rows are in error") {
		t.Fatalf("import with broken rows: exit %d: %s\n%s", code, e, out)
	}
	if n := count(); n != before {
		t.Fatalf("a refused import wrote %d audit rows", n-before)
	}
	// Fix the file: drop the broken rows.
	rows := genRegister()
	var fixed [][]string
	for i, r := range rows {
		if i == 0 || i%50 != 40 {
			fixed = append(fixed, r)
		}
	}
	path := filepath.Join(t.TempDir(), "fixed.csv")
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.WriteAll(fixed)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, e, code = run("media", "import", path, "--create-people")
	if code != 0 {
		t.Fatalf("import: exit %d: %s\n%s", code, e, out)
	}
	after := count()
	if after-before != 980+1 {
		t.Errorf("import wrote %d audit rows, want 980 + 1 summary", after-before)
	}
	list, _, _ := run("--json", "media", "list")
	var media []struct {
		Number  string
		Pending bool `json:"identity_pending"`
	}
	if err := json.Unmarshal([]byte(list), &media); err != nil {
		t.Fatal(err)
	}
	if len(media) != 980 {
		t.Errorf("%d media registered, want 980", len(media))
	}
	pendingOut, _, _ := run("--json", "media", "list", "--pending")
	var pending []json.RawMessage
	json.Unmarshal([]byte(pendingOut), &pending)
	if len(pending) == 0 || len(pending) >= 980 {
		t.Errorf("%d media pending: want most, not all (rows with VID and PID have their identity)", len(pending))
	}
	// Again: nothing changes, no audit row.
	out, e, code = run("media", "import", path)
	if code != 0 || !strings.Contains(out, "nothing to import") {
		t.Fatalf("second import: exit %d: %s\n%s", code, e, out)
	}
	if n := count(); n != after {
		t.Errorf("a second import wrote %d audit rows", n-after)
	}
	// The next number of a level and year the file used follows its numbers.
	reg, e, code := run("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001NEW1",
		"--level", "secret", "--custodian", "zhangwei")
	if code != 0 {
		t.Fatalf("register: %s", e)
	}
	num := strings.TrimSpace(reg)
	for _, r := range fixed[1:] {
		if r[1] == num {
			t.Errorf("new registration got %s, a number of the imported register", num)
		}
	}
}
