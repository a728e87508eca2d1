package daemon

import (
	"context"
	"slices"
	"sync"
	"testing"

	"mediagate/internal/checkin"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

// fakeVault is the part of an in-memory service.Store the plug check-in uses; media
// come from the bed's store. The vault station runs the real service on it.
type fakeVault struct {
	service.Store // nil: any other method panics
	media         *memStore
	mu            sync.Mutex
	open          bool
	expected      map[string]bool
	in            []string // numbers checked in
	refused       []string // "number|reason"
}

func (f *fakeVault) OpenCampaignNow(context.Context) (checkin.Campaign, error) {
	if !f.open {
		return checkin.Campaign{}, &registry.Error{Kind: registry.ErrNoCampaign}
	}
	return checkin.Campaign{Year: 2026}, nil
}

func (f *fakeVault) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	return f.media.MediumByIdentity(ctx, key)
}

// ListMedia answers the station's search for a pending medium of a plugged device's
// serial: the bed's media are never pending.
func (f *fakeVault) ListMedia(context.Context, service.MediaFilter) ([]media.Medium, error) {
	return nil, nil
}

func (f *fakeVault) Outstanding(context.Context, string, string) (int, int, error) { return 0, 0, nil }

func (f *fakeVault) CheckInPlugged(_ context.Context, number string, _ media.Identity, _, _ string) (checkin.CheckIn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.expected[number] {
		return checkin.CheckIn{}, &registry.Error{Kind: registry.ErrNotExpected, Code: "err.ci-not-expected", Args: []any{number, "2026"}}
	}
	if slices.Contains(f.in, number) {
		return checkin.CheckIn{}, &registry.Error{Kind: registry.ErrAlreadyCheckedIn, Code: "err.ci-already", Args: []any{number, "2026-12-01 09:00"}}
	}
	f.in = append(f.in, number)
	return checkin.CheckIn{Number: number, Source: checkin.SourcePlugged}, nil
}

func (f *fakeVault) RefuseCheckIn(_ context.Context, number string, _ media.Identity, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, number+"|"+reason)
	return nil
}

func vaultBed(t *testing.T, station, open bool) (*bed, *fakeVault) {
	h := &media.Host{Number: "VAULT-01", Level: media.TopSecret, Mode: media.ModeEnforce, VaultStation: station}
	b := newBed(t, h)
	v := &fakeVault{media: b.store, open: open, expected: map[string]bool{"S-GOOD1": true, "S-0123456789ABCDEF": true, "S-BADCAP": true}}
	b.d.cfg.CheckIn = service.New(v, service.Config{})
	return b, v
}

func TestVaultStationChecksInPluggedMedia(t *testing.T) {
	b, v := vaultBed(t, true, true)
	b.register("GOOD1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("GOOD1", 64<<20)
	b.ev("remove", diskP, "block", "disk")
	b.ev("remove", stickP, "usb", "usb_device")
	b.plugStick("GOOD1", 64<<20) // plugged again: already checked in, nothing new
	b.ev("remove", stickP, "usb", "usb_device")
	if !slices.Equal(v.in, []string{"S-GOOD1"}) || len(v.refused) != 0 {
		t.Errorf("checked in %q, refused %q", v.in, v.refused)
	}

	// A weak serial is confirmed only once the bound capacity is readable.
	b.register("0123456789ABCDEF", media.Secret, media.StatusActive, media.AccessReadWrite, 64<<20)
	b.plugStick("0123456789ABCDEF", 64<<20)
	b.ev("remove", stickP, "usb", "usb_device")
	if !slices.Equal(v.in, []string{"S-GOOD1", "S-0123456789ABCDEF"}) || len(v.refused) != 0 {
		t.Errorf("weak serial: checked in %q, refused %q", v.in, v.refused)
	}

	b.plugStick("STRANGER", 64<<20) // unregistered
	b.ev("remove", stickP, "usb", "usb_device")
	b.register("NOTEXP", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
	b.plugStick("NOTEXP", 64<<20) // registered after the campaign opened
	b.ev("remove", stickP, "usb", "usb_device")
	b.register("BADCAP", media.Secret, media.StatusActive, media.AccessReadWrite, 32<<20)
	b.plugStick("BADCAP", 64<<20) // a clone: the registered serial, another capacity
	want := []string{"|not registered", "S-NOTEXP|not expected in this campaign", "S-BADCAP|identity differs: capacity"}
	if !slices.Equal(v.refused, want) {
		t.Errorf("refused %q; want %q", v.refused, want)
	}
	if slices.Contains(v.in, "S-BADCAP") {
		t.Errorf("the clone was checked in before its capacity was compared: %q", v.in)
	}
}

func TestVaultCheckInNeedsStationAndCampaign(t *testing.T) {
	for _, tt := range []struct{ station, open bool }{{false, true}, {true, false}} {
		b, v := vaultBed(t, tt.station, tt.open)
		b.register("GOOD1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)
		b.plugStick("GOOD1", 64<<20)
		b.plugStick("STRANGER", 64<<20)
		if len(v.in)+len(v.refused) != 0 {
			t.Errorf("station %v, campaign open %v: checked in %q, refused %q", tt.station, tt.open, v.in, v.refused)
		}
	}
}
