package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mediagate/internal/enforce"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/udev"
)

const sataSr = "/devices/pci0000:00/0000:00:1f.2/ata2/host3/target3:0:0/3:0:0:0/block/sr0"

func internalDisc(key string) identity.Device {
	return identity.Device{Name: "sr0", Subsystem: "block", SysPath: sataSr, DevNode: "/dev/sr0", Bus: "ata",
		Identity: media.Identity{Kind: media.KindOpticalDisc, Key: key}, Disc: &identity.Disc{}}
}

// The decision row of an ejected disc says "ejected" only when the disc is out; a disc
// still in the drive is an error in the row and a problem in the status.
func TestEjectRowRecordsOnlyWhatSucceeded(t *testing.T) {
	for name, c := range map[string]struct {
		fail        error
		wantActions []string
	}{
		"out":      {nil, []string{"ejected"}},
		"still in": {&enforce.EjectError{Drive: "sr0", Done: []string{"read-only"}, Attempts: 14, Err: errors.New("disc still in /dev/sr0 after 14 attempts: device or resource busy")}, []string{"read-only"}},
		"late out": {&enforce.EjectError{Drive: "sr0", Done: []string{"ejected"}, Err: errors.New("read-only /dev/sr0: permission denied")}, []string{"ejected"}},
		"no ioctl": {errors.New("no device node"), nil},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBed(t, secretHost())
			if c.fail != nil {
				b.rec.Fail = map[string]error{"eject": c.fail}
			}
			b.devs.set(internalDisc("disc:v2-iso9660:aa"))
			b.ev("change", sataSr, "block", "disk")
			if got := b.rec.Ops(); !slices.Equal(got, []string{"eject " + sataSr}) {
				t.Fatalf("ops %q, want an eject", got)
			}
			ds := b.store.decisions()
			row := ds[len(ds)-1]
			if !slices.Equal(row.Actions, c.wantActions) {
				t.Errorf("actions %q, want %q", row.Actions, c.wantActions)
			}
			if hasErr := row.Error != ""; hasErr != (c.fail != nil) {
				t.Errorf("error in row = %v (%q)", hasErr, row.Error)
			}
			probs := strings.Join(b.d.Status().Problems, "\n")
			if (c.fail != nil) != strings.Contains(probs, "still in the drive") {
				t.Errorf("status problems: %q", probs)
			}
		})
	}
}

// A blocked disc is ejected again when the kernel reports it inserted again (the same
// disc pushed back before the empty drive was seen); udev change events without a media
// change (those mediagate itself triggers) do not eject again.
func TestBlockedDiscReinsertedIsEjectedAgain(t *testing.T) {
	b := newBed(t, secretHost())
	b.devs.set(internalDisc("disc:v2-iso9660:bb"))
	b.ev("change", sataSr, "block", "disk")
	if got := b.rec.Ops(); !slices.Equal(got, []string{"eject " + sataSr}) {
		t.Fatalf("first insert: %q", got)
	}
	b.rec.Reset()
	b.ev("change", sataSr, "block", "disk") // our own trigger
	if got := b.rec.Ops(); len(got) != 0 {
		t.Errorf("our own change event: %q", got)
	}
	b.d.Handle(b.ctx, udev.Event{Action: "change", DevPath: sataSr, Subsystem: "block", DevType: "disk",
		Properties: map[string]string{"DISK_MEDIA_CHANGE": "1"}})
	if got := b.rec.Ops(); !slices.Equal(got, []string{"eject " + sataSr}) {
		t.Errorf("reinserted: %q", got)
	}
	if n := len(b.store.decisions()); n != 2 {
		t.Errorf("%d decision rows, want 2", n)
	}
	// A registered disc is not ejected on a media change of the same disc.
	b.store.media["disc:v2-iso9660:cc"] = media.Medium{Number: "D-1", Kind: media.KindOpticalDisc, Level: media.Secret,
		Status: media.StatusActive, Custodian: "zhang", Identity: media.Identity{Kind: media.KindOpticalDisc, Key: "disc:v2-iso9660:cc"}}
	b.devs.set(internalDisc("disc:v2-iso9660:cc"))
	b.rec.Reset()
	b.d.Handle(b.ctx, udev.Event{Action: "change", DevPath: sataSr, Subsystem: "block", DevType: "disk",
		Properties: map[string]string{"DISK_MEDIA_CHANGE": "1"}})
	if got := b.rec.Ops(); !slices.Equal(got, []string{"read-only " + sataSr, "release " + sataSr}) {
		t.Errorf("registered disc: %q", got)
	}
	b.rec.Reset()
	b.d.Handle(b.ctx, udev.Event{Action: "change", DevPath: sataSr, Subsystem: "block", DevType: "disk",
		Properties: map[string]string{"DISK_MEDIA_CHANGE": "1"}})
	if got := b.rec.Ops(); len(got) != 0 {
		t.Errorf("registered disc, media change of the same disc: %q", got)
	}
}
