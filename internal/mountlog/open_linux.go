//go:build linux

package mountlog

import (
	"log/slog"
	"time"

	"mediagate/internal/mountwatch"
)

// openMountWatcher opens the system's mount watcher (fanotify where the kernel has
// mount events, else poll on mountinfo) and records its initial table.
func openWatcher(mc *Config, now func() time.Time, log *slog.Logger) error {
	w, err := mountwatch.Open(mountwatch.Options{ProcRoot: mc.ProcRoot, Now: now, Keep: mountwatch.Mount.BlockDevice,
		LookupUser: mc.LookupUser, Logger: log})
	if err != nil {
		return err
	}
	mc.Source, mc.Initial, mc.Method = w, w.Initial(), string(w.Method())
	return nil
}

// openAudit opens the kernel's audit records of mount syscalls, switching audit on
// when it is off (and off again when the log stops).
func openAudit(mc *Config, log *slog.Logger) (Auditor, error) {
	return mountwatch.OpenAudit(mountwatch.AuditOptions{Enable: true, LookupUser: mc.LookupUser, Logger: log})
}
