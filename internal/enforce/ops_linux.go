//go:build linux

package enforce

import (
	"golang.org/x/sys/unix"
)

const cdromEject = 0x5309 // CDROMEJECT, linux/cdrom.h

func linuxOps() Ops {
	return Ops{
		SetReadOnly: func(node string) error {
			fd, err := unix.Open(node, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.IoctlSetPointerInt(fd, unix.BLKROSET, 1)
		},
		Eject: func(node string) error {
			fd, err := unix.Open(node, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.IoctlSetInt(fd, cdromEject, 0)
		},
		Unmount: func(target string) error { return unix.Unmount(target, unix.MNT_DETACH) },
	}
}
