package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man pages are written by a small roff writer of our own rather than
// github.com/spf13/cobra/doc: that package would add go-md2man, blackfriday and a YAML
// library to the build for what is some forty lines of roff, and its pages would be
// English only.

func newManCommand(app *App) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:     "man --dir DIR",
		Example: "  mediagate man --dir /usr/local/share/man/man1\n  mediagate --lang zh man --dir /usr/local/share/man/zh_CN/man1",
		Args:    cobra.NoArgs,
		Hidden:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMan(cmd.Context(), app, cmd.Root(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the pages to (required)")
	cmd.MarkFlagRequired("dir")
	refuseJSON(cmd)
	return cmd
}

// runMan writes one page per command (mediagate.1, mediagate-media-register.1, …) in
// the --lang language into dir.
func runMan(ctx context.Context, app *App, root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	var pages []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		pages = append(pages, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range pages {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, manName(c)+".1"))
		if err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
		err = writeManPage(f, app.Lang, c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("man page %s: %w", manName(c), err)
		}
	}
	if !app.JSON {
		fmt.Fprintln(app.Out, T(app.Lang, "out.man-written", len(pages), dir))
	}
	return nil
}

// manName is a command's page name: "mediagate-media-register".
func manName(c *cobra.Command) string { return strings.ReplaceAll(c.CommandPath(), " ", "-") }

// roff escapes text for a roff line: backslashes, and a leading dot or quote.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// writeManPage writes one command's page: name, synopsis, description, options,
// global options, examples and related pages.
func writeManPage(w io.Writer, lang string, c *cobra.Command) error {
	var b strings.Builder
	up := strings.ToUpper(manName(c))
	fmt.Fprintf(&b, ".TH \"%s\" \"1\" \"\" \"mediagate %s\" \"%s\"\n", up, roff(Version), roff(T(lang, "man.manual")))
	fmt.Fprintf(&b, ".SH %s\n%s \\- %s\n", T(lang, "man.name"), roff(manName(c)), roff(c.Short))
	fmt.Fprintf(&b, ".SH %s\n.B %s\n", T(lang, "man.synopsis"), roff(c.CommandPath()))
	if c.Runnable() {
		fmt.Fprintf(&b, "%s\n", roff(strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name()))))
	} else {
		fmt.Fprintf(&b, "%s\n", roff(T(lang, "help.word.command")))
	}
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	// The help texts are laid out by hand (lists, aligned columns): kept as written.
	fmt.Fprintf(&b, ".SH %s\n.nf\n%s\n.fi\n", T(lang, "man.description"), roff(desc))
	flags := func(title string, fs *pflag.FlagSet) {
		if !fs.HasAvailableFlags() {
			return
		}
		fmt.Fprintf(&b, ".SH %s\n", title)
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			fmt.Fprintf(&b, ".TP\n\\fB")
			if f.Shorthand != "" {
				fmt.Fprintf(&b, "\\-%s, ", f.Shorthand)
			}
			fmt.Fprintf(&b, "\\-\\-%s\\fR", roff(f.Name))
			if f.Value.Type() != "bool" {
				fmt.Fprintf(&b, " \\fI%s\\fR", roff(f.Value.Type()))
			}
			fmt.Fprintf(&b, "\n%s", roff(f.Usage))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				fmt.Fprintf(&b, " (%s)", roff(T(lang, "man.default", f.DefValue)))
			}
			b.WriteString("\n")
		})
	}
	flags(T(lang, "man.options"), c.NonInheritedFlags())
	flags(T(lang, "man.global-options"), c.InheritedFlags())
	if c.Example != "" {
		fmt.Fprintf(&b, ".SH %s\n.nf\n%s\n.fi\n", T(lang, "man.examples"), roff(c.Example))
	}
	var see []string
	if c.HasParent() {
		see = append(see, manName(c.Parent()))
	}
	for _, sub := range c.Commands() {
		if !sub.Hidden && sub.Name() != "help" {
			see = append(see, manName(sub))
		}
	}
	if len(see) > 0 {
		fmt.Fprintf(&b, ".SH %s\n", T(lang, "man.see-also"))
		for i, s := range see {
			sep := ","
			if i == len(see)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, ".BR %s (1)%s\n", roff(s), sep)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
