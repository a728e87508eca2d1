//go:build linux

package enforce

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linux/cdrom.h and scsi/sg.h
const (
	cdromEject       = 0x5309 // CDROMEJECT
	cdromLockDoor    = 0x5329 // CDROM_LOCKDOOR
	cdromDriveStatus = 0x5326 // CDROM_DRIVE_STATUS
	cdslCurrent      = 0x7fffffff
	cdsNoDisc        = 1
	cdsTrayOpen      = 2

	sgIO         = 0x2285 // SG_IO
	sgDxferNone  = -1
	sgTimeoutMS  = 5000
	scsiAllowRem = 0x1e // PREVENT ALLOW MEDIUM REMOVAL
	scsiStartStp = 0x1b // START STOP UNIT
)

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
		Eject:         ejectDisc,
		MediumPresent: mediumPresent,
		Unmount:       func(target string) error { return unix.Unmount(target, unix.MNT_DETACH) },
	}
}

// openDrive opens an optical drive without waiting for a disc and without the kernel
// closing an open tray. Write mode is what lets a process without CAP_SYS_RAWIO send
// ALLOW MEDIUM REMOVAL; read mode is the fallback.
func openDrive(node string) (int, error) {
	fd, err := unix.Open(node, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	return unix.Open(node, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
}

// ejectDisc unlocks the door and ejects. CDROM_LOCKDOOR 0 clears a lock set with
// `eject -i on` even when the kernel then refuses to unlock because others have the
// drive open; CDROMEJECT is refused while anyone else has the drive open. Then the
// drive is told directly: ALLOW MEDIUM REMOVAL and START STOP UNIT with LoEj.
func ejectDisc(node string) error {
	fd, err := openDrive(node)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_ = unix.IoctlSetInt(fd, cdromLockDoor, 0)
	ioErr := unix.IoctlSetInt(fd, cdromEject, 0)
	if ioErr == nil {
		return nil
	}
	allowErr := scsiCommand(fd, []byte{scsiAllowRem, 0, 0, 0, 0, 0})
	if err := scsiCommand(fd, []byte{scsiStartStp, 0, 0, 0, 0x02, 0}); err != nil {
		return fmt.Errorf("cdromeject: %w; scsi allow medium removal: %v; scsi start stop unit: %w", ioErr, allowErr, err)
	}
	return nil
}

func mediumPresent(node string) (bool, error) {
	fd, err := unix.Open(node, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, err
	}
	defer unix.Close(fd)
	st, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), cdromDriveStatus, cdslCurrent)
	if errno != 0 {
		return true, fmt.Errorf("cdrom drive status: %w", errno)
	}
	return st != cdsNoDisc && st != cdsTrayOpen, nil
}

// sgIOHdr is struct sg_io_hdr of scsi/sg.h.
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         unsafe.Pointer
	cmdp           unsafe.Pointer
	sbp            unsafe.Pointer
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         unsafe.Pointer
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

var errSCSI = errors.New("scsi command failed")

// scsiCommand sends a command without data transfer through SG_IO.
func scsiCommand(fd int, cdb []byte) error {
	sense := make([]byte, 32)
	h := sgIOHdr{interfaceID: 'S', dxferDirection: sgDxferNone, cmdLen: uint8(len(cdb)), mxSbLen: uint8(len(sense)),
		cmdp: unsafe.Pointer(&cdb[0]), sbp: unsafe.Pointer(&sense[0]), timeout: sgTimeoutMS}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), sgIO, uintptr(unsafe.Pointer(&h)))
	runtime.KeepAlive(cdb)
	runtime.KeepAlive(sense)
	if errno != 0 {
		return errno
	}
	if h.status != 0 || h.hostStatus != 0 || h.driverStatus&0x0f != 0 {
		key := byte(0)
		if h.sbLenWr >= 3 {
			key = sense[2] & 0x0f
			if sense[0]&0x7f >= 0x72 && h.sbLenWr >= 2 { // descriptor format
				key = sense[1] & 0x0f
			}
		}
		return fmt.Errorf("%w: opcode %#02x, status %#02x, host %#x, driver %#x, sense key %#x",
			errSCSI, cdb[0], h.status, h.hostStatus, h.driverStatus, key)
	}
	return nil
}
