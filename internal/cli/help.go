package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/service"
)

const zhUsageTemplate = `用法：{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [命令]{{end}}{{if gt (len .Aliases) 0}}

别名：
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

示例：
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

可用命令：{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

选项：
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

全局选项：
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

使用 "{{.CommandPath}} [命令] --help" 查看命令的详细说明。{{end}}
`

// commandKey is a command's path without the root's name.
func commandKey(c *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), c.Root().Name()), " ")
}

// helpArgs are the arguments of the help texts that name a constant of the code.
var helpArgs = map[string][]any{
	"help.mediagate.long": {DefaultDB},
	"help.numbering.long": {service.DefaultPattern},
}

// helpKey is the catalogue key of a command's help: "help.<path>", the root's
// "help.mediagate".
func helpKey(c *cobra.Command) string {
	if k := commandKey(c); k != "" {
		return "help." + k
	}
	return "help.mediagate"
}

// applyHelp fills the help of the whole tree from the catalogue in lang: every
// command's one-line and long description and, in Chinese, the usage template.
// Cobra's own commands (help, completion) have only their one-line description in
// the catalogue; in Chinese their English long text follows it.
func applyHelp(root *cobra.Command, lang string) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	if lang == catalog.ZH {
		root.SetUsageTemplate(zhUsageTemplate)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		key := helpKey(c)
		if s, ok := catalog.Text(lang, key); ok {
			c.Short = s
		}
		if catalog.Has(key + ".long") {
			c.Long = catalog.T(lang, key+".long", helpArgs[key+".long"]...)
		} else if lang == catalog.ZH && c.Long != "" {
			c.Long = c.Short + "。\n\n" + c.Long
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// langFromArgs finds --lang in the arguments before cobra parses them.
func langFromArgs(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--lang="); ok {
			return v
		}
		if a == "--lang" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
