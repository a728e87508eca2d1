package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasChineseHelp keeps zhShort complete and every command documented
// with an example.
func TestEveryCommandHasChineseHelp(t *testing.T) {
	app := &App{Getenv: func(string) string { return "" }}
	root := NewRootCommand(app)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		key := commandKey(c)
		if _, ok := zhShort[key]; !ok {
			t.Errorf("command %q has no Chinese description in zhShort", key)
		}
		if c.Runnable() && !c.HasSubCommands() && c.Example == "" && !strings.HasPrefix(key, "completion") && key != "help" && key != "version" {
			t.Errorf("command %q has no example in its help", key)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

func TestChineseHelp(t *testing.T) {
	e := newEnv(t)
	out := e.ok("--lang", "zh", "media", "--help")
	for _, want := range []string{"用法：", "可用命令：", "登记介质并打印其编号", "全局选项："} {
		if !strings.Contains(out, want) {
			t.Errorf("zh help lacks %q:\n%s", want, out)
		}
	}
	if out := e.ok("media", "--help"); !strings.Contains(out, "Register a medium and print its number") {
		t.Errorf("en help:\n%s", out)
	}
}
