package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mediagate/internal/catalog"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// What a flag or argument names, for shell completion.
type completeWhat int

const (
	completeNone completeWhat = iota
	completeNumber
	completeHandle
	completeLevel
	completeStatus
	completeKind
	completeEventKind
	completeHost
)

// flagCompletes says what each flag names, by flag name; log's --kind names an audit
// kind, every other --kind a kind of medium.
var flagCompletes = map[string]completeWhat{
	"custodian": completeHandle, "to": completeHandle, "witness": completeHandle, "approved-by": completeHandle,
	"by": completeHandle, "person": completeHandle,
	"level": completeLevel, "status": completeStatus, "kind": completeKind,
	"host": completeHost, "allowed-host": completeHost, "medium": completeNumber,
}

// addCompletions makes the shell complete medium numbers, person handles, levels (keys
// and Chinese names), statuses, kinds and host numbers, from the register named by
// --db (never creating one), for every flag and argument that names one.
func addCompletions(app *App, cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		addCompletions(app, c)
	}
	if !cmd.Runnable() {
		return
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		what, ok := flagCompletes[f.Name]
		if !ok {
			return
		}
		if f.Name == "kind" && cmd.Name() == "log" {
			what = completeEventKind
		}
		_ = cmd.RegisterFlagCompletionFunc(f.Name, completer(app, what))
	})
	if cmd.ValidArgsFunction == nil {
		fields := strings.Fields(cmd.Use)
		if len(fields) > 1 {
			switch strings.TrimSuffix(strings.Trim(fields[1], "[]"), "...") {
			case "NUMBER":
				cmd.ValidArgsFunction = completer(app, completeNumber)
			case "HANDLE":
				if cmd.Name() != "add" {
					cmd.ValidArgsFunction = completer(app, completeHandle)
				}
			}
		}
	}
}

// completer returns the completion function for what.
func completer(app *App, what completeWhat) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var all []string
		switch what {
		case completeLevel:
			for _, l := range media.Levels() {
				all = append(all, l.String(), catalog.Level(catalog.ZH, l))
			}
		case completeStatus:
			for _, s := range media.Statuses() {
				all = append(all, string(s))
			}
		case completeKind:
			for _, k := range media.Kinds() {
				all = append(all, string(k))
			}
		case completeEventKind:
			seen := map[string]bool{}
			for _, k := range event.Kinds() {
				if a := k.Area() + "."; !seen[a] {
					seen[a] = true
					all = append(all, a)
				}
				all = append(all, string(k))
			}
		default:
			all = fromRegister(app, cmd, what)
		}
		var out []string
		for _, v := range all {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// fromRegister lists the numbers, handles or host numbers the register holds; nothing
// when it cannot be read.
func fromRegister(app *App, cmd *cobra.Command, what completeWhat) []string {
	ctx := cmd.Context()
	svc, err := app.Service(ctx)
	if err != nil {
		return nil
	}
	var out []string
	switch what {
	case completeNumber:
		list, err := svc.ListMedia(ctx, service.MediaFilter{})
		if err != nil {
			return nil
		}
		for _, m := range list {
			out = append(out, m.Number)
		}
	case completeHandle:
		people, err := svc.ListPeople(ctx, false)
		if err != nil {
			return nil
		}
		for _, p := range people {
			out = append(out, p.Handle)
		}
	case completeHost:
		if h, err := svc.Host(ctx); err == nil {
			out = append(out, h.Number)
		}
	}
	return out
}
