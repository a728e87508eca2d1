package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

func newPersonCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "person",
		Aliases: []string{"people"},
	}
	cmd.AddCommand(newPersonAddCommand(app), newPersonListCommand(app), newPersonShowCommand(app),
		newPersonUpdateCommand(app), newPersonDeactivateCommand(app))
	return cmd
}

type personAddOptions struct {
	Handle, Name, Department, Email, Login string
}

func newPersonAddCommand(app *App) *cobra.Command {
	var o personAddOptions
	cmd := &cobra.Command{
		Use: "add HANDLE --name NAME",
		Example: `  mediagate person add zhangsan --name 张三 --department 办公室
  mediagate person add li.si --name "Li Si" --email lisi@example.org --login lisi`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Handle = args[0]
			return runPersonAdd(cmd.Context(), app, o)
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "full name as it is signed (required)")
	cmd.Flags().StringVar(&o.Department, "department", "", "department")
	cmd.Flags().StringVar(&o.Email, "email", "", "email address")
	cmd.Flags().StringVar(&o.Login, "login", "", "system login name")
	cmd.MarkFlagRequired("name")
	return cmd
}

func runPersonAdd(ctx context.Context, app *App, o personAddOptions) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	p, err := s.AddPerson(ctx, media.Person{Handle: o.Handle, Name: o.Name, Department: o.Department, Email: o.Email, Login: o.Login})
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, p)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.person-added", p.Handle))
	return nil
}

func newPersonListCommand(app *App) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "list",
		Example: "  mediagate person list\n  mediagate person list --all --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPersonList(cmd.Context(), app, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include deactivated people")
	return cmd
}

func runPersonList(ctx context.Context, app *App, all bool) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	people, err := s.ListPeople(ctx, all)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, people)
	}
	t := newTable(app.Out, T(app.Lang, "hdr.people"))
	for _, p := range people {
		t.row(p.Handle, p.Name, p.Department, yesNo(app.Lang, p.Active))
	}
	return t.flush()
}

func newPersonShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show HANDLE",
		Example: "  mediagate person show zhangsan",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPersonShow(cmd.Context(), app, args[0])
		},
	}
}

func runPersonShow(ctx context.Context, app *App, handle string) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	pm, err := s.ShowPerson(ctx, handle)
	if err != nil {
		return err
	}
	p, held := pm.Person, pm.Media
	if app.JSON {
		return printJSON(app.Out, struct {
			media.Person
			Media []media.Medium `json:"media"`
		}{p, held})
	}
	l := app.Lang
	field(app.Out, l, "field.handle", p.Handle)
	field(app.Out, l, "field.name", p.Name)
	field(app.Out, l, "field.department", p.Department)
	field(app.Out, l, "field.email", p.Email)
	field(app.Out, l, "field.login", p.Login)
	field(app.Out, l, "field.active", yesNo(l, p.Active))
	var nums []string
	for _, m := range held {
		nums = append(nums, fmt.Sprintf("%s (%s, %s)", m.Number, catalog.Level(l, m.Level), catalog.Status(l, m.Status)))
	}
	if len(nums) == 0 {
		nums = []string{T(l, "out.none")}
	}
	for i, n := range nums {
		if i == 0 {
			field(app.Out, l, "field.media", n)
		} else {
			fmt.Fprintf(app.Out, "%16s%s\n", "", n)
		}
	}
	return nil
}

func newPersonUpdateCommand(app *App) *cobra.Command {
	var name, dept, email, login string
	cmd := &cobra.Command{
		Use:     "update HANDLE [--name N] [--department D] [--email E] [--login L]",
		Example: "  mediagate person update zhangsan --department 保密办",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u service.PersonUpdate
			for flag, dst := range map[string]**string{"name": &u.Name, "department": &u.Department, "email": &u.Email, "login": &u.Login} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					*dst = &v
				}
			}
			return runPersonUpdate(cmd.Context(), app, args[0], u)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "full name")
	cmd.Flags().StringVar(&dept, "department", "", "department")
	cmd.Flags().StringVar(&email, "email", "", "email address")
	cmd.Flags().StringVar(&login, "login", "", "system login name")
	return cmd
}

func runPersonUpdate(ctx context.Context, app *App, handle string, u service.PersonUpdate) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	p, err := s.UpdatePerson(ctx, handle, u)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, p)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.person-updated", p.Handle))
	return nil
}

func newPersonDeactivateCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "deactivate HANDLE",
		Example: "  mediagate person deactivate zhangsan",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := app.Service(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.DeactivatePerson(cmd.Context(), args[0]); err != nil {
				return err
			}
			if app.JSON {
				p, err := s.Person(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printJSON(app.Out, p)
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.person-deact", args[0]))
			return nil
		},
	}
}
