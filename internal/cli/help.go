package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/service"
)

// usageLayout is the layout of a command's help under a language other than cobra's
// English; its words come from the catalogue ("help.word.*") through usageTemplate.
const usageLayout = `{{usage}}{{if .Runnable}}
  {{zhUse .UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} {{command}}{{end}}{{if gt (len .Aliases) 0}}

{{aliases}}
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

{{examples}}
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

{{commands}}{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

{{flags}}
{{zhFlags .LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

{{global-flags}}
{{zhFlags .InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

{{more}}{{end}}
`

// usageTemplate is the usage template in lang: the layout with the catalogue's words.
func usageTemplate(lang string) string {
	var pairs []string
	for _, w := range []string{"usage", "command", "aliases", "examples", "commands", "flags", "global-flags", "more"} {
		pairs = append(pairs, "{{"+w+"}}", T(lang, "help.word."+w))
	}
	return strings.NewReplacer(pairs...).Replace(usageLayout)
}

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
		root.SetUsageTemplate(usageTemplate(lang))
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
		translateFlags(c, lang)
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
