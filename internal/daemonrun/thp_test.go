package daemonrun

import (
	"errors"
	"slices"
	"testing"
)

func TestRestartWithoutHugePages(t *testing.T) {
	type call struct {
		argv0 string
		argv  []string
	}
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		on        bool  // huge pages on at start
		setErr    error // from the prctl
		sticks    bool  // the flag reads back as set
		execErr   error
		wantExec  bool
		wantError bool
	}{
		{name: "on: disabled and executed again", on: true, sticks: true, wantExec: true},
		{name: "already off: goes on", on: false},
		{name: "prctl refused: goes on with them", on: true, setErr: errBoom, wantError: true},
		{name: "flag does not stick: no exec, no loop", on: true, sticks: false, wantError: true},
		{name: "exec fails: goes on", on: true, sticks: true, execErr: errBoom, wantExec: true, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off := !tc.on
			var execs []call
			ops := thpOps{
				get: func() (bool, error) { return off, nil },
				set: func() error {
					if tc.setErr != nil {
						return tc.setErr
					}
					off = tc.sticks
					return nil
				},
				self: func() (string, error) { return "/usr/local/bin/mediagated", nil },
				exec: func(argv0 string, argv, envv []string) error {
					execs = append(execs, call{argv0, argv})
					if !slices.Equal(envv, []string{"A=1"}) {
						t.Errorf("exec environment %q", envv)
					}
					return tc.execErr
				},
			}
			err := restartWithoutHugePages(ops, []string{"/usr/local/bin/mediagated", "--db", "x"}, []string{"A=1"})
			if (err != nil) != tc.wantError {
				t.Errorf("error %v, want one: %v", err, tc.wantError)
			}
			if !tc.wantExec {
				if len(execs) != 0 {
					t.Errorf("executed again: %v", execs)
				}
				return
			}
			if len(execs) != 1 || execs[0].argv0 != "/usr/local/bin/mediagated" || !slices.Equal(execs[0].argv, []string{"/usr/local/bin/mediagated", "--db", "x"}) {
				t.Errorf("exec calls %v, want one of the binary's path (the process's name) with the same arguments", execs)
			}
		})
	}
}
