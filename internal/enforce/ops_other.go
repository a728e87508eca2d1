//go:build !linux

package enforce

import "errors"

var errNotLinux = errors.New("block device control needs Linux")

func linuxOps() Ops {
	fail := func(string) error { return errNotLinux }
	return Ops{SetReadOnly: fail, Eject: fail, Unmount: fail,
		MediumPresent: func(string) (bool, error) { return true, errNotLinux }}
}
