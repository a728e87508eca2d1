package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/event"
)

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// TestEveryFlagInChinese: under --lang zh every flag of every command, cobra's own
// included, is described in Chinese. A flag added without its text in the catalogue
// (internal/catalog/flags.go) fails here.
func TestEveryFlagInChinese(t *testing.T) {
	app := &App{Out: io.Discard, Err: io.Discard, Now: time.Now, Getenv: func(string) string { return "" }, Actor: audit.Actor{}}
	root := NewRootCommand(app)
	applyHelp(root, catalog.ZH)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			if !hasHan(f.Usage) {
				t.Errorf("%s --%s: %q has no Chinese (add \"flag:%s\" to internal/catalog/flags.go)", c.CommandPath(), f.Name, f.Usage, f.Usage)
			}
		}
		c.Flags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		if !hasHan(c.Short) {
			t.Errorf("%s: description %q has no Chinese", c.CommandPath(), c.Short)
		}
		if c.Long != "" && !hasHan(c.Long) {
			t.Errorf("%s: long description has no Chinese", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// TestCobraMessagesInChinese: the refusals cobra and pflag word themselves are shown in
// Chinese, and exit 2.
func TestCobraMessagesInChinese(t *testing.T) {
	e := newEnv(t)
	e.setup()
	for _, args := range [][]string{
		{"frob"}, {"media", "frob"}, {"media", "show"}, {"media", "show", "a", "b"}, {"media", "lend", "X"},
		{"media", "list", "--bogus"}, {"media", "list", "-z"}, {"log", "--limit", "abc"}, {"log", "--limit"},
		{"checkin", "plug", "a", "b"}, {"checkin", "mark"},
	} {
		_, errs, code := e.run(append([]string{"--lang", "zh"}, args...)...)
		if code != ExitUsage || !hasHan(strings.TrimPrefix(errs, "mediagate: 用法错误：")) {
			t.Errorf("%v: exit %d, %q; want 2 and a Chinese message", args, code, errs)
		}
		for _, en := range []string{"unknown", "flag", "arg(s)", "required", "accepts", "invalid argument"} {
			if strings.Contains(errs, en) {
				t.Errorf("%v: %q still says %q", args, errs, en)
			}
		}
	}
}

// TestAuditWordsInChinese: every audit kind and every key of its details has a
// Chinese name, and `log --lang zh` shows them with the register's words in Chinese.
func TestAuditWordsInChinese(t *testing.T) {
	for _, k := range event.Kinds() {
		if !catalog.Has("event-kind." + string(k)) {
			t.Errorf("audit kind %s has no name in the catalogue (event-kind.%s)", k, k)
		}
		v, err := event.Decode(k, []byte("{}"))
		if err != nil {
			t.Fatal(k, err)
		}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" && !catalog.Has("detail."+name) {
				t.Errorf("detail %q of %s has no name in the catalogue (detail.%s)", name, k, name)
			}
		}
	}
	e := newEnv(t)
	e.setup()
	num := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	e.ok("media", "lost", num)
	out := e.ok("--lang", "zh", "log", "--medium", num)
	for _, want := range []string{"登记介质（medium.register）", "责任人=zhangsan", "密级=机密", "新状态=丢失", "原状态=在用"} {
		if !strings.Contains(out, want) {
			t.Errorf("zh log lacks %q:\n%s", want, out)
		}
	}
	for _, en := range []string{"custodian=", "level=", " to=", "=lost", "=active"} {
		if strings.Contains(out, en) {
			t.Errorf("zh log still shows %q:\n%s", en, out)
		}
	}
}

// TestHostAndCSVInChinese: host show's mode and access words, and the CSV check-in
// report's header and values, in Chinese.
func TestHostAndCSVInChinese(t *testing.T) {
	e := newEnv(t)
	e.setup()
	if out := e.ok("--lang", "zh", "host", "show"); !strings.Contains(out, "执行（enforce）") || !strings.Contains(out, "只读（read-only）") {
		t.Errorf("zh host show:\n%s", out)
	}
	num := e.registerUSB("AB12CD34EF01", "secret", "zhangsan")
	if out := e.ok("--lang", "zh", "media", "show", num); !strings.Contains(out, "读写") {
		t.Errorf("zh media show lacks the access word:\n%s", out)
	}
	e.ok("checkin", "open")
	out := e.ok("--lang", "zh", "checkin", "report", "--format", "csv")
	if !strings.HasPrefix(out, "\ufeff分组,编号,类型,密级,序列号") || !strings.Contains(out, "机密") || !strings.Contains(out, "未交") {
		t.Errorf("zh csv:\n%s", out)
	}
	if out := e.ok("checkin", "report", "--format", "csv"); !strings.HasPrefix(out, "group,number,kind,level,serial") || !strings.Contains(out, ",secret,") {
		t.Errorf("en csv:\n%s", out)
	}
}
