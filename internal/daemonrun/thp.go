package daemonrun

import (
	"errors"
	"fmt"
)

// selfExe is the running binary, as the kernel knows it (not a path that may have been
// replaced since it started).
const selfExe = "/proc/self/exe"

// thpOps are the system calls of restartWithoutHugePages.
type thpOps struct {
	get  func() (bool, error)
	set  func() error
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
	if err := ops.exec(selfExe, args, env); err != nil {
		return fmt.Errorf("restart without transparent huge pages: %w", err)
	}
	return nil
}
