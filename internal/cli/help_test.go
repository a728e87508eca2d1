package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/service"
)

// TestEveryCommandHasHelpInBothLanguages checks that the catalogue describes every
// command of the tree in English and Chinese (the catalogue's own test checks that
// both texts exist), that every command of ours has a long description there, and
// that every command is documented with an example.
func TestEveryCommandHasHelpInBothLanguages(t *testing.T) {
	app := &App{Getenv: func(string) string { return "" }}
	root := NewRootCommand(app)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		key := commandKey(c)
		ours := !strings.HasPrefix(key, "completion") && key != "help"
		if !catalog.Has(helpKey(c)) {
			t.Errorf("command %q has no description in the catalogue (%s)", key, helpKey(c))
		}
		if c.Short == "" {
			t.Errorf("command %q has no English description", key)
		}
		if ours && c.Long != "" && !catalog.Has(helpKey(c)+".long") {
			t.Errorf("command %q has a long description outside the catalogue", key)
		}
		if c.Runnable() && !c.HasSubCommands() && c.Example == "" && ours && key != "version" {
			t.Errorf("command %q has no example in its help", key)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// TestHelpArguments checks that help texts naming a constant show its value.
func TestHelpArguments(t *testing.T) {
	e := newEnv(t)
	for _, lang := range []string{"en", "zh"} {
		if out := e.ok("--lang", lang, "numbering", "--help"); !strings.Contains(out, service.DefaultPattern) || strings.Contains(out, "%!") {
			t.Errorf("%s numbering help lacks the default pattern:\n%s", lang, out)
		}
		if out := e.ok("--lang", lang, "--help"); !strings.Contains(out, DefaultDB) || strings.Contains(out, "%!") {
			t.Errorf("%s root help lacks the default database:\n%s", lang, out)
		}
	}
}

func TestChineseHelp(t *testing.T) {
	e := newEnv(t)
	out := e.ok("--lang", "zh", "media", "--help")
	for _, want := range []string{"用法：", "可用命令：", "登记介质并打印其编号", "全局选项："} {
		if !strings.Contains(out, want) {
			t.Errorf("zh help lacks %q:\n%s", want, out)
		}
	}
	out = e.ok("--lang", "zh", "media", "register", "--help")
	for _, want := range []string{"登记介质。其标识用 --from-device", "不可靠的序列号", "示例："} {
		if !strings.Contains(out, want) {
			t.Errorf("zh long help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "A weak serial") {
		t.Errorf("zh long help still in English:\n%s", out)
	}
	if out := e.ok("media", "--help"); !strings.Contains(out, "Register a medium and print its number") {
		t.Errorf("en help:\n%s", out)
	}
}
