//go:build !linux

package mountlog

import (
	"errors"
	"log/slog"
	"time"
)

func openWatcher(mc *Config, now func() time.Time, log *slog.Logger) error {
	return errors.New("mount watching needs Linux")
}

func openAudit(mc *Config, log *slog.Logger) (Auditor, error) {
	return nil, errors.New("kernel audit needs Linux")
}
