package cli

import (
	"github.com/spf13/cobra"
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
