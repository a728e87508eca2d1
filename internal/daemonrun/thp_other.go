//go:build !linux

package daemonrun

func disableHugePages() error { return nil }

func hugePagesDisabled() (bool, error) { return false, nil }

// RestartWithoutHugePages has nothing to do where there are no transparent huge pages.
func RestartWithoutHugePages(args, env []string) error { return nil }
