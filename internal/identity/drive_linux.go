//go:build linux

package identity

import "golang.org/x/sys/unix"

// driveEmpty asks an optical drive whether it holds a disc (CDROM_DRIVE_STATUS): true
// only when the drive answers that it has none or its tray is open. Anything else —
// a regular file, an error, a disc — is false.
func driveEmpty(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	const cdromDriveStatus, cdslCurrent, cdsNoDisc, cdsTrayOpen = 0x5326, 0x7fffffff, 1, 2
	st, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), cdromDriveStatus, cdslCurrent)
	return errno == 0 && (st == cdsNoDisc || st == cdsTrayOpen)
}
