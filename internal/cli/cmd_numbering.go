package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

func newNumberingCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "numbering",
	}
	show := &cobra.Command{
		Use:     "show",
		Example: "  mediagate numbering show",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			n, err := s.Numbering(cmd.Context())
			if err != nil {
				return err
			}
			next, err := s.NextNumbers(cmd.Context())
			if err != nil {
				return err
			}
			return printNumbering(app, n, next)
		},
	}
	var pattern string
	var codes []string
	set := &cobra.Command{
		Use: "set [--pattern P] [--code LEVEL=CODE ...]",
		Example: `  mediagate numbering set --pattern "{level_code}{year}-{seq:05}"
  mediagate numbering set --code secret=JM --code top-secret=JUEM --code 秘密=MM`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNumberingSet(cmd.Context(), app, pattern, codes)
		},
	}
	set.Flags().StringVar(&pattern, "pattern", "", "numbering pattern")
	set.Flags().StringSliceVar(&codes, "code", nil, "level code as LEVEL=CODE; repeatable")
	cmd.AddCommand(show, set)
	return cmd
}

func runNumberingSet(ctx context.Context, app *App, pattern string, codes []string) error {
	if pattern == "" && len(codes) == 0 {
		return usageMsg("usage.numbering")
	}
	m := map[media.Level]string{}
	for _, c := range codes {
		lv, code, ok := strings.Cut(c, "=")
		if !ok {
			return usageMsg("usage.code", c)
		}
		l, err := parseLevel(lv)
		if err != nil {
			return err
		}
		m[l] = strings.TrimSpace(code)
	}
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	n, err := s.SetNumbering(ctx, pattern, m)
	if err != nil {
		return err
	}
	next, err := s.NextNumbers(ctx)
	if err != nil {
		return err
	}
	return printNumbering(app, n, next)
}

// printNumbering prints the pattern, the level codes and the number the next
// registration of each level gets (the real one: the sequence so far and numbers taken
// by hand count).
func printNumbering(app *App, n service.Numbering, next map[media.Level]string) error {
	if app.JSON {
		return printJSON(app.Out, struct {
			service.Numbering
			Next map[media.Level]string `json:"next"`
		}{n, next})
	}
	var codes, nexts []string
	for _, l := range media.Levels() {
		codes = append(codes, fmt.Sprintf("%s=%s", catalog.Level(app.Lang, l), n.Codes[l]))
		nexts = append(nexts, fmt.Sprintf("%s %s", catalog.Level(app.Lang, l), next[l]))
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.numbering-next", n.Pattern, strings.Join(codes, " "), strings.Join(nexts, T(app.Lang, "list.sep"))))
	return nil
}
