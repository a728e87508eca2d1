package daemonrun

import (
	"errors"
	"fmt"
)

// thpOps are the system calls of restartWithoutHugePages.
type thpOps struct {
	get  func() (bool, error)
	set  func() error
	self func() (string, error) // the running binary's path
	exec func(argv0 string, argv, envv []string) error
}

// restartWithoutHugePages is RestartWithoutHugePages with its system calls given. It
// executes again only once the flag reads back as set: the new image must not find it
// off and execute again, without end.
func restartWithoutHugePages(ops thpOps, args, env []string) error {
	off, err := ops.get()
	if err != nil || off {
		return err
	}
	if err := ops.set(); err != nil {
		return fmt.Errorf("disable transparent huge pages: %w", err)
	}
	if off, err := ops.get(); err != nil || !off {
		return errors.Join(errors.New("transparent huge pages still on after disabling them"), err)
	}
	if len(args) == 0 {
		return errors.New("restart without transparent huge pages: no arguments")
	}
	// By its path, not /proc/self/exe: the process's name (ps, the journal, pidof) is
	// the base name of the path executed.
	self, err := ops.self()
	if err != nil {
		return fmt.Errorf("restart without transparent huge pages: %w", err)
	}
	if err := ops.exec(self, args, env); err != nil {
		return fmt.Errorf("restart without transparent huge pages: %w", err)
	}
	return nil
}
