//go:build !linux

package daemon

import (
	"errors"
	"log/slog"
	"time"
)

func openMountWatcher(mc *MountConfig, now func() time.Time, log *slog.Logger) error {
	return errors.New("mount watching needs Linux")
}
