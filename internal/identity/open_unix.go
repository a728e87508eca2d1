//go:build unix

package identity

import (
	"os"
	"syscall"
)

// openDisc opens an optical device node read-only without waiting for or closing the
// tray (O_NONBLOCK), as cdrom_id does.
func openDisc(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
