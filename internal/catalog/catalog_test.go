package catalog_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"mediagate/internal/catalog"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// noChinese lists the keys whose Chinese text rightly has no Chinese character: the
// text is a code, a format or a name that stays as it is.
var noChinese = map[string]bool{
	"decision.class": true, "notify.title": false,
}

func TestEveryKeyHasBothLanguages(t *testing.T) {
	keys := catalog.Keys()
	if len(keys) < 300 {
		t.Fatalf("only %d keys: the tables were not merged", len(keys))
	}
	for _, k := range keys {
		en, _ := catalog.Text(catalog.EN, k)
		zh, ok := catalog.Text(catalog.ZH, k)
		switch {
		case !ok:
			t.Errorf("%s: no entry", k)
		case strings.TrimSpace(en) == "":
			t.Errorf("%s: no English text", k)
		case strings.TrimSpace(zh) == "":
			t.Errorf("%s: no Chinese text", k)
		case !hasHan(zh) && !noChinese[k] && hasLetters(en):
			t.Errorf("%s: Chinese text %q has no Chinese (English %q)", k, zh, en)
		case hasHan(en) && !strings.HasPrefix(k, "help.") && k != "err.unknown-level":
			t.Errorf("%s: English text has Chinese: %q", k, en)
		}
	}
}

// hasLetters reports whether s holds an English word (not only verbs and symbols).
func hasLetters(s string) bool {
	s = verbRE.ReplaceAllString(s, "")
	return regexp.MustCompile(`[A-Za-z]{3,}`).MatchString(s)
}

var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*(\d+|\*)?(\.\d+)?[a-zA-Z%]`)

// verbs lists the format verbs of s as "argument:verb", sorted, so that explicit
// argument indexes (%[2]s) may reorder them between languages.
func verbs(s string) []string {
	var out []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(s, -1) {
		v := m[0][len(m[0])-1:]
		if v == "%" {
			continue
		}
		n := next
		if m[1] != "" {
			n, _ = strconv.Atoi(strings.Trim(m[1], "[]"))
		}
		next = n + 1
		out = append(out, strconv.Itoa(n)+":"+v)
	}
	slices.Sort(out)
	return out
}

func TestFormatVerbsMatch(t *testing.T) {
	if got := verbs("%[2]s of %[1]d %q %%"); !slices.Equal(got, []string{"1:d", "2:q", "2:s"}) {
		t.Fatalf("verbs parser: %v", got)
	}
	for _, k := range catalog.Keys() {
		en, _ := catalog.Text(catalog.EN, k)
		zh, _ := catalog.Text(catalog.ZH, k)
		if ve, vz := verbs(en), verbs(zh); !slices.Equal(ve, vz) {
			t.Errorf("%s: verbs differ: en %v, zh %v", k, ve, vz)
		}
	}
}

// codesIn reads the Go files of a package and returns the message codes it can
// return: the literal code argument of the given constructor functions and the Code
// of Error and StoreError literals, plus the words it passes as registry.Field and
// registry.Why. A code that is not a literal is reported, since it could escape.
func codesIn(t *testing.T, dir string, funcs map[string]int) (codes, terms []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	lit := func(e ast.Expr, what string) (string, bool) {
		bl, ok := e.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			t.Errorf("%s: %s is not a string literal", fset.Position(e.Pos()), what)
			return "", false
		}
		s, _ := strconv.Unquote(bl.Value)
		return s, true
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if i, ok := funcs[name]; ok && len(n.Args) > i {
					if c, ok := lit(n.Args[i], "the code of "+name); ok {
						codes = append(codes, c)
					}
				}
				if (name == "Field" || name == "Why") && len(n.Args) == 1 {
					if bl, ok := n.Args[0].(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(bl.Value)
						terms = append(terms, map[string]string{"Field": "field-name.", "Why": "why."}[name]+s)
					}
				}
			case *ast.CompositeLit:
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if id, isID := kv.Key.(*ast.Ident); isID && id.Name == "Code" {
						// the constructors themselves pass their parameter on
						if v, isIdent := kv.Value.(*ast.Ident); isIdent && v.Name == "code" {
							continue
						}
						if c, ok := lit(kv.Value, "a Code field"); ok {
							codes = append(codes, c)
						}
					}
				}
			}
			return true
		})
	}
	return codes, terms
}

func TestEveryCodeHasAnEntry(t *testing.T) {
	regCodes, regTerms := codesIn(t, "../registry", map[string]int{"errf": 1})
	svcCodes, svcTerms := codesIn(t, "../service", map[string]int{"badRequest": 0, "refused": 0})
	polCodes, _ := codesIn(t, "../policy", nil)
	if len(regCodes) < 40 || len(svcCodes) < 20 {
		t.Fatalf("found only %d registry and %d service codes: the scan is broken", len(regCodes), len(svcCodes))
	}
	if len(polCodes) < 3 {
		t.Errorf("found only %d policy codes", len(polCodes))
	}
	for _, c := range slices.Concat(regCodes, svcCodes, polCodes, regTerms, svcTerms) {
		if !catalog.Has(c) {
			t.Errorf("code %q has no catalogue entry", c)
		}
	}
	for _, r := range policy.Reasons() {
		if !catalog.Has("reason." + string(r)) {
			t.Errorf("policy reason %q has no catalogue entry", r)
		}
	}
	for _, c := range policy.Classes() {
		if !catalog.Has("class." + c.Key) {
			t.Errorf("USB class %q has no catalogue entry", c.Key)
		}
	}
	weakCodes, _ := codesIn(t, "../identity", map[string]int{"weak": 0})
	if len(weakCodes) < 10 {
		t.Errorf("found only %d weak serial codes", len(weakCodes))
	}
	for _, c := range weakCodes {
		if !slices.Contains(identity.WeakCodes(), c) {
			t.Errorf("weak serial code %q is not in identity.WeakCodes", c)
		}
	}
	for _, c := range identity.WeakCodes() {
		if !catalog.Has("serial-weak." + c) {
			t.Errorf("weak serial code %q has no catalogue entry", c)
		}
	}
	for _, f := range catalog.MismatchFields {
		if !catalog.Has("mismatch." + f) {
			t.Errorf("identity field %q has no catalogue entry", f)
		}
	}
}

func TestNames(t *testing.T) {
	for _, l := range media.Levels() {
		zh := catalog.Level(catalog.ZH, l)
		if got, err := media.ParseLevel(zh); err != nil || got != l {
			t.Errorf("level %s: Chinese name %q parses as %v, %v", l, zh, got, err)
		}
		if en := catalog.Level(catalog.EN, l); en != l.String() {
			t.Errorf("level %s: English name %q", l, en)
		}
	}
	for _, s := range media.Statuses() {
		zh := catalog.Status("zh-CN", s)
		if got, err := media.ParseStatus(zh); err != nil || got != s || !hasHan(zh) {
			t.Errorf("status %s: Chinese name %q parses as %v, %v", s, zh, got, err)
		}
	}
	for _, k := range media.Kinds() {
		if zh := catalog.Kind(catalog.ZH, k); !hasHan(zh) {
			t.Errorf("kind %s: Chinese name %q", k, zh)
		}
		if en := catalog.Kind(catalog.EN, k); en != string(k) {
			t.Errorf("kind %s: English name %q", k, en)
		}
	}
	if got := catalog.Level(catalog.ZH, media.Level(9)); got != "level(9)" {
		t.Errorf("invalid level named %q; want what it holds", got)
	}
	if got := catalog.Class(catalog.ZH, 0x42); !strings.Contains(got, "0x42") || !hasHan(got) {
		t.Errorf("unknown class named %q", got)
	}
	if got := catalog.Classes(catalog.EN, nil); got != "none" {
		t.Errorf("no classes named %q", got)
	}
}

func TestLang(t *testing.T) {
	for tag, want := range map[string]string{"zh": "zh", "zh-CN": "zh", "zh_CN.UTF-8": "zh", "ZH": "zh",
		"en": "en", "": "en", "C.UTF-8": "en", "zhx": "en", "de_DE": "en"} {
		if got := catalog.Lang(tag); got != want {
			t.Errorf("Lang(%q) = %q; want %q", tag, got, want)
		}
	}
}

func TestErrorRendering(t *testing.T) {
	for _, tc := range []struct {
		err    error
		en, zh string
	}{
		{&registry.Error{Kind: registry.ErrRelevelDown, Code: "relevel-down", Args: []any{"S-1", media.Secret, media.Confidential}},
			"the level of S-1 can only be raised: secret → confidential", "S-1 的密级只能上调，不能下调：机密 → 秘密"},
		{&registry.Error{Kind: registry.ErrInvalid, Code: "invalid.required", Args: []any{registry.Field("name")}},
			"invalid name: required", "姓名 无效：必须填写"},
		{&registry.Error{Kind: registry.ErrInvalid, Code: "invalid.too-long", Args: []any{registry.Field("approved_by"), 2000}},
			"invalid approved_by: longer than 2000 bytes", "审批人 无效：超过 2000 字节"},
		{&registry.Error{Kind: registry.ErrTransition, Code: "transition", Args: []any{"S-1", media.StatusLost, media.StatusLent}},
			"status change not allowed for S-1: lost → lent", "S-1 不允许此状态变更：丢失 → 借出"},
		{&service.Error{Kind: service.ErrRefused, Code: "err.serial-known", Args: []any{"ABC", "S-2"}},
			`serial "ABC" is already registered for S-2: bind extra identity with --capacity and --descriptor-hash`,
			`序列号 "ABC" 已被 S-2 使用：请用 --capacity 和 --descriptor-hash 绑定额外标识`},
		{&service.Error{Kind: service.ErrRefused, Code: "err.weak-serial", Args: []any{"AAAAAAAA", identity.CheckSerial("AAAAAAAA")}},
			`serial "AAAAAAAA" is weak (one repeated character): bind extra identity with --capacity and --descriptor-hash, or register from the attached device`,
			`序列号 "AAAAAAAA" 不可靠（同一字符重复）：请用 --capacity 和 --descriptor-hash 绑定额外标识，或从已接入的设备登记`},
		{&service.Error{Kind: service.ErrBadRequest, Code: "err.allow-list", Args: []any{policy.CheckAllowLists(&media.Host{AllowClasses: []string{"toaster"}})}},
			`invalid host allow list entry: unknown USB class "toaster" (see the class table for keys such as audio, video, wireless)`,
			`外设允许列表有误：未知的 USB 类别 "toaster"（类别键见类别表，如 audio、video、wireless）`},
		{&service.Error{Kind: service.ErrRefused, Code: "err.ci-mismatch", Args: []any{"/dev/sdb", "S-1", service.Phrase{Code: "why.registered-as", Args: []any{"S-2"}}}},
			"refused: /dev/sdb is not medium S-1: registered as S-2; the refusal is logged",
			"拒绝：/dev/sdb 与介质 S-1 不符：已登记为 S-2；已记入日志"},
		{&registry.Error{Kind: registry.ErrInvalid, Code: "invalid.required", Args: []any{registry.Field("nonesuch")}},
			"invalid nonesuch: required", "nonesuch 无效：必须填写"},
	} {
		if got := catalog.Error(catalog.EN, tc.err); got != tc.en {
			t.Errorf("en:\n got %q\nwant %q", got, tc.en)
		}
		if got := catalog.Error("zh-CN", tc.err); got != tc.zh {
			t.Errorf("zh:\n got %q\nwant %q", got, tc.zh)
		}
	}
	if got := catalog.T(catalog.EN, "no.such.key", 1); got != "no.such.key [1]" {
		t.Errorf("unknown key rendered %q", got)
	}
}

// TestFullWidthBrackets: Chinese text uses full-width brackets （）, not ASCII ones,
// around or next to Chinese words. Placeholders and codes in ASCII brackets, such as
// "(%s)" or "(CDC)", are fine when nothing Chinese is inside or right before them.
func TestFullWidthBrackets(t *testing.T) {
	bad := regexp.MustCompile(`\p{Han}\s?\(|\([^()]*\p{Han}[^()]*\)`)
	for _, k := range catalog.Keys() {
		zh, _ := catalog.Text(catalog.ZH, k)
		if bad.MatchString(zh) {
			t.Errorf("%s: %q uses ASCII brackets in Chinese text", k, zh)
		}
	}
}
