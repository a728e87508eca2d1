package daemon

import (
	"context"
	"errors"

	"mediagate/internal/control"
	"mediagate/internal/event"
	"mediagate/internal/registry"
)

// ControlHandler is what the control socket (internal/control) serves from d: its
// status, rescans, and audit rows of kind daemon.control (one per call of root or an
// officer; one per user, operation and interval for everyone else, with a count).
func (d *Daemon) ControlHandler() control.Handler { return controlHandler{d} }

type controlHandler struct{ d *Daemon }

// Status gives officers everything. Anyone else sees only the devices that are theirs
// (the registered custodian or holder has the caller's login) and the devices
// registered to nobody; the records of other people's media are left out altogether,
// and serials, identity keys and hashes are removed from what is left (they would
// help someone clone a registered medium).
func (h controlHandler) Status(ctx context.Context, v control.Viewer) any {
	st := h.d.Status()
	if !v.Officer {
		own := ownership{d: h.d, ctx: ctx, login: v.Login, known: map[string]bool{}}
		st.Present = own.filter(st.Present)
		st.Recent = own.filter(st.Recent)
		st.Redact()
	}
	return st
}

// ownership decides, for one status answer, which records are the viewer's.
type ownership struct {
	d     *Daemon
	ctx   context.Context
	login string
	known map[string]bool // by identity key and custodian handle
}

func (o ownership) filter(rs []Record) []Record {
	out := rs[:0:0]
	for _, r := range rs {
		if o.visible(r) {
			out = append(out, r)
		}
	}
	return out
}

// visible: a record that names no medium and no custodian is registered to nobody;
// one that does is shown only when the medium's current custodian or holder (from the
// registry; the decision's custodian if the registry no longer knows the identity) has
// the viewer's login. Every error hides the record: fail closed.
func (o ownership) visible(r Record) bool {
	if r.Decision.Medium == "" && r.Decision.Custodian == "" {
		return true
	}
	if o.login == "" {
		return false
	}
	ck := "key\x00" + r.Identity.Key + "\x00" + r.Decision.Custodian
	if v, ok := o.known[ck]; ok {
		return v
	}
	handles := []string{r.Decision.Custodian}
	if r.Identity.Key != "" {
		m, err := o.d.viewReads().MediumByIdentity(o.ctx, r.Identity.Key)
		switch {
		case err == nil:
			handles = []string{m.Custodian, m.Holder}
		case !errors.Is(err, registry.ErrNotFound):
			o.known[ck] = false
			return false
		}
	}
	v := false
	for _, hd := range handles {
		if hd == "" {
			continue
		}
		if p, err := o.d.viewReads().Person(o.ctx, hd); err == nil && p.Login == o.login {
			v = true
			break
		}
	}
	o.known[ck] = v
	return v
}

func (h controlHandler) Rescan(ctx context.Context) { h.d.Rescan(ctx) }

func (h controlHandler) Audit(ctx context.Context, c control.CallRecord) {
	if h.d.cfg.NoAudit {
		return
	}
	details := event.DaemonControl{Allowed: c.Allowed, GID: c.Peer.GID, Op: c.Op, PID: c.Peer.PID, UID: c.Peer.UID}
	if c.Summary() {
		details.Count, details.First, details.Last = c.Count, c.First, c.Last
	}
	if err := h.d.record(ctx, event.KindDaemonControl, "", details); err != nil {
		h.d.problem("audit row for control call: %v", err)
	}
}
