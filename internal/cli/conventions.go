package cli

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mediagate/internal/catalog"
)

// jsonAnnotation marks a command that does not print JSON: with --json it is refused
// (a usage error) rather than printing text a script would fail to parse. Every other
// runnable command honours --json; TestJSONEveryCommand walks the tree to keep it so.
const jsonAnnotation = "mediagate/json"

// refuseJSON marks cmd as refusing --json.
func refuseJSON(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[jsonAnnotation] = "refused"
}

// refusesJSON reports whether cmd refuses --json.
func refusesJSON(cmd *cobra.Command) bool { return cmd.Annotations[jsonAnnotation] == "refused" }

// checkJSON refuses --json for a command that does not print it.
func checkJSON(app *App, cmd *cobra.Command) error {
	if app.JSON && refusesJSON(cmd) {
		return usageMsg("usage.no-json", cmd.CommandPath())
	}
	return nil
}

// markJSONRefusals marks cobra's own commands (help, completion) and the given paths
// as refusing --json.
func markJSONRefusals(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch {
		case c.Name() == "help" && c.Parent() == root, c.Name() == "completion" && c.Parent() == root,
			c.HasParent() && c.Parent().Name() == "completion" && c.Parent().Parent() == root:
			refuseJSON(c)
		}
	}
	walk(root)
}

// translateFlags shows the descriptions of c's flags in lang: each flag registers its
// English text, which is a key of the catalogue ("flag:" and the text); cobra's help
// flag is "flag.help". A description the catalogue lacks stays as registered
// (TestEveryFlagInChinese fails for it).
func translateFlags(c *cobra.Command, lang string) {
	c.InitDefaultHelpFlag()
	tr := func(f *pflag.Flag) {
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		en := f.Annotations[flagTextAnnotation]
		if en == nil {
			en = []string{f.Usage}
			f.Annotations[flagTextAnnotation] = en
		}
		switch {
		case f.Name == "help" && strings.HasPrefix(en[0], "help for "):
			f.Usage = T(lang, "flag.help", c.Name())
		case catalog.Has("flag:" + en[0]):
			f.Usage = T(lang, "flag:"+en[0])
		}
	}
	c.LocalNonPersistentFlags().VisitAll(tr)
	c.PersistentFlags().VisitAll(tr)
	c.Flags().VisitAll(tr)
}

// flagTextAnnotation keeps a flag's English description, its catalogue key.
const flagTextAnnotation = "mediagate/flag-text"

// The Chinese usage template's words that cobra and pflag write themselves: "[flags]"
// in a command's usage line and "(default …)" after a flag.
var zhDefaultRE = regexp.MustCompile(` \(default (.*)\)$`)

func init() {
	cobra.AddTemplateFunc("zhUse", func(use string) string {
		return strings.ReplaceAll(use, "[flags]", T(catalog.ZH, "help.word.flags-arg"))
	})
	cobra.AddTemplateFunc("zhFlags", func(usages string) string {
		lines := strings.Split(usages, "\n")
		for i, l := range lines {
			lines[i] = zhDefaultRE.ReplaceAllStringFunc(l, func(m string) string {
				return T(catalog.ZH, "help.word.default", zhDefaultRE.FindStringSubmatch(m)[1])
			})
		}
		return strings.Join(lines, "\n")
	})
}

// cobraMessages are the refusals cobra and pflag word themselves, matched so that they
// are shown in the reader's language ("cobra.*" keys of the catalogue, their arguments
// the submatches).
var cobraMessages = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^unknown command "(.*)" for "(.*)"`), "cobra.unknown-command"},
	{regexp.MustCompile(`^required flag\(s\) (.*) not set$`), "cobra.required"},
	{regexp.MustCompile(`^unknown flag: (.*)$`), "cobra.unknown-flag"},
	{regexp.MustCompile(`^unknown shorthand flag: '(.*)' in (.*)$`), "cobra.unknown-shorthand"},
	{regexp.MustCompile(`^flag needs an argument: (.*)$`), "cobra.needs-argument"},
	{regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: .*$`), "cobra.invalid-argument"},
	{regexp.MustCompile(`^accepts (\d+) arg\(s\), received (\d+)$`), "cobra.args-exact"},
	{regexp.MustCompile(`^accepts at most (\d+) arg\(s\), received (\d+)$`), "cobra.args-at-most"},
	{regexp.MustCompile(`^requires at least (\d+) arg\(s\), only received (\d+)$`), "cobra.args-at-least"},
	{regexp.MustCompile(`^accepts between (\d+) and (\d+) arg\(s\), received (\d+)$`), "cobra.args-between"},
	{regexp.MustCompile(`^if any flags in the group \[(.*)\] are set none of the others can be; \[(.*)\] were all set$`), "cobra.exclusive"},
}

// cobraMessage renders a refusal worded by cobra or pflag in lang; ok is false for
// any other error.
func cobraMessage(lang string, err error) (string, bool) {
	msg := err.Error()
	for _, m := range cobraMessages {
		if sub := m.re.FindStringSubmatch(msg); sub != nil {
			args := make([]any, len(sub)-1)
			for i, s := range sub[1:] {
				args[i] = s
			}
			return T(lang, m.key, args...), true
		}
	}
	return "", false
}
