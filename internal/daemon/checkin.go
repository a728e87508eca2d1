package daemon

import (
	"context"
	"errors"
	"sync"

	"mediagate/internal/checkin"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// CheckInStore is what the vault station's physical check-in needs; *registry.Store
// has it.
type CheckInStore interface {
	OpenCampaignNow(ctx context.Context) (checkin.Campaign, error)
	CheckInPlugged(ctx context.Context, number string, seen media.Identity, cabinet, slot string) (checkin.CheckIn, error)
	RefuseCheckIn(ctx context.Context, number string, seen media.Identity, reason string) error
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
// campaign is open, or logs why it was refused. The medium must be confirmed by the
// identity rules (identity.Confirms, with the weak-serial rules); when bound identity
// is not readable yet (capacity before the block device exists), it waits for the
// block-device stage. devpath is the plugged USB device, or the block device.
func (d *Daemon) vaultCheckIn(ctx context.Context, host media.Host, devpath string, rec *media.Medium, seen media.Identity) {
	store := d.cfg.CheckIn
	if store == nil || !host.VaultStation || seen.Key == "" {
		return
	}
	if _, err := store.OpenCampaignNow(ctx); err != nil {
		if !errors.Is(err, registry.ErrNoCampaign) {
			d.problem("check-in: %v", err)
		}
		return
	}
	number, why := "", ""
	if rec == nil {
		why = "not registered"
	} else {
		number = rec.Number
		ok, mismatch, pending := identity.Confirms(rec.Identity, seen)
		if pending {
			return // decided again when the block device appears
		}
		if !ok {
			why = mismatch
		}
	}
	if !d.vault.first(devpath, seen.Key) {
		return
	}
	if why == "" {
		ci, err := store.CheckInPlugged(ctx, number, seen, "", "")
		switch {
		case err == nil:
			d.log.Info("checked in", "medium", ci.Number, "devpath", devpath)
			return
		case errors.Is(err, registry.ErrAlreadyCheckedIn):
			return
		case errors.Is(err, registry.ErrNotExpected), errors.Is(err, registry.ErrIdentityDiffers):
			why = err.Error()
		default:
			d.problem("check in %s: %v", number, err)
			return
		}
	}
	d.log.Warn("check-in refused", "medium", number, "key", seen.Key, "why", why)
	if err := store.RefuseCheckIn(ctx, number, seen, why); err != nil {
		d.problem("log refused check-in: %v", err)
	}
}
