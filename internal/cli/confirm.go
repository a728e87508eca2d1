package cli

import (
	"bufio"
	"context"
	"strings"
)

// confirm asks the officer to confirm a mass or destructive action: the question
// (catalogue key and arguments) goes to stderr and one line is read from app.In.
// "y", "yes" or "是" goes ahead. Any other answer cancels with exit 1; no answer at
// all (no input, end of input: a script) is a usage error naming --yes, so that an
// unattended run never goes ahead by default. Ctrl-C or SIGTERM (ctx cancelled) while
// it waits ends the wait at once with ctx's error, which exits 130.
func confirm(ctx context.Context, app *App, key string, args ...any) error {
	l := app.Lang
	if app.In == nil {
		return usageMsg("usage.confirm-yes")
	}
	app.Errf("%s %s ", T(l, key, args...), T(l, "out.confirm-prompt"))
	type answered struct {
		line string
		err  error
	}
	got := make(chan answered, 1)
	go func() { // a read cannot be cancelled: it is left behind when ctx ends
		line, err := bufio.NewReader(app.In).ReadString('\n')
		got <- answered{line, err}
	}()
	var line string
	var err error
	select {
	case a := <-got:
		line, err = a.line, a.err
	case <-ctx.Done():
		app.Errf("\n")
		return ctx.Err()
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	if answer == "" && err != nil {
		app.Errf("\n")
		return usageMsg("usage.confirm-yes")
	}
	switch answer {
	case "y", "yes", "是":
		return nil
	}
	return exitError{code: ExitError, err: lerr("err.not-confirmed")}
}
