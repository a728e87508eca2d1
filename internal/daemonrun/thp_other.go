//go:build !linux

package daemonrun

func disableHugePages() error { return nil }

func hugePagesDisabled() (bool, error) { return false, nil }
