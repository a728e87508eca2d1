package daemon

import (
	"context"
	"errors"
	"sync"

	"mediagate/internal/media"
	"mediagate/internal/service"
)

// VaultStation checks in media plugged into a vault station; *service.Service is one.
// It is the same operation as `mediagate checkin plug`.
type VaultStation interface {
	CheckInPlug(ctx context.Context, r service.PlugRequest) (service.PlugResult, error)
}

// vaultState remembers which plugged devices were already answered, so a device seen
// at both its USB and its block-device stage is checked in or refused once.
type vaultState struct {
	mu       sync.Mutex
	answered map[[2]string]bool // by devpath of the device as plugged and identity key
}

func (v *vaultState) first(devpath, key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.answered == nil {
		v.answered = map[[2]string]bool{}
	}
	k := [2]string{devpath, key}
	if v.answered[k] {
		return false
	}
	v.answered[k] = true
	return true
}

// forget is called when a device goes away: plugging it again answers again.
func (v *vaultState) forget(devpath string) {
	v.mu.Lock()
	for k := range v.answered {
		if k[0] == devpath {
			delete(v.answered, k)
		}
	}
	v.mu.Unlock()
}

// vaultCheckIn checks in a registered medium plugged into a vault station while a
// campaign is open, or logs why it was refused: the service's plug check-in, with the
// one identity comparator (policy.ConfirmIdentity). When bound identity is not
// readable yet (capacity before the block device exists), it waits for the
// block-device stage. devpath is the plugged USB device, or the block device; each is
// answered once until it goes away.
func (d *Daemon) vaultCheckIn(ctx context.Context, host media.Host, devpath string, rec *media.Medium, seen media.Identity) {
	station := d.cfg.CheckIn
	if station == nil || !host.VaultStation || seen.Key == "" {
		return
	}
	d.flushRows(ctx) // the check-in's own rows come after the decisions before it
	res, err := station.CheckInPlug(ctx, service.PlugRequest{Seen: seen, Device: devpath, WaitPending: true,
		Claim: func() bool { return d.vault.first(devpath, seen.Key) }})
	var refusal *service.Error
	switch {
	case err == nil && (res.Pending || res.Dropped):
	case err == nil && res.Queued:
		d.log.Info("check-in sent to the office server", "key", seen.Key, "devpath", devpath)
	case err == nil:
		d.log.Info("checked in", "medium", res.CheckIn.Number, "devpath", devpath)
	case errors.Is(err, service.ErrNoCampaign), errors.Is(err, service.ErrAlreadyCheckedIn):
	case errors.As(err, &refusal), errors.Is(err, service.ErrNotExpected):
		number := ""
		if rec != nil {
			number = rec.Number
		}
		d.log.Warn("check-in refused", "medium", number, "key", seen.Key, "err", err)
	default:
		d.problem("check in %s: %v", devpath, err)
	}
}
