package daemon

import (
	"context"

	"mediagate/internal/control"
	"mediagate/internal/event"
)

// ControlHandler is what the control socket (internal/control) serves from d: its
// status, rescans, and one audit row of kind daemon.control per call.
func (d *Daemon) ControlHandler() control.Handler { return controlHandler{d} }

type controlHandler struct{ d *Daemon }

func (h controlHandler) Status(redacted bool) any {
	st := h.d.Status()
	if redacted {
		st.Redact() // serials and hashes would help someone clone a registered medium
	}
	return st
}

func (h controlHandler) Rescan(ctx context.Context) { h.d.Rescan(ctx) }

func (h controlHandler) Audit(ctx context.Context, c control.CallRecord) {
	if h.d.cfg.NoAudit {
		return
	}
	if err := h.d.record(ctx, event.KindDaemonControl, "", event.DaemonControl{
		Allowed: c.Allowed, GID: c.Peer.GID, Op: c.Op, PID: c.Peer.PID, UID: c.Peer.UID,
	}); err != nil {
		h.d.problem("audit row for control call: %v", err)
	}
}
