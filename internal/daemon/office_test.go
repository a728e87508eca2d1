package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/policydoc"
	"mediagate/internal/registry"
)

var testPolicyKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// signedPolicy is a verified policy for host H-01 holding the given media.
func signedPolicy(t testing.TB, version uint64, ms ...policydoc.Medium) *policydoc.Policy {
	t.Helper()
	doc := policydoc.Document{Host: "H-01", Version: version, IssuedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		Profile: policydoc.Profile{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce},
		Media:   ms, People: []policydoc.Person{{Handle: "li", Active: true, Login: "li"}, {Handle: "gone"}}}
	env, err := policydoc.Sign(doc, testPolicyKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policydoc.Verify(env, testPolicyKey.Public().(ed25519.PublicKey), "H-01", 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func policyStick(serial string, status media.Status, custodian string) policydoc.Medium {
	key := identity.USBKey("46f4", "0001", serial)
	return policydoc.Medium{Number: "S-" + serial, Kind: media.KindUSBDisk, Level: media.Secret, Access: media.AccessReadWrite,
		Custodian: custodian, Status: status, Identity: media.Identity{Kind: media.KindUSBDisk, Key: key, Serial: serial}}
}

// officeBed is a test bed whose daemon decides from a PolicyStore over the bed's
// local store; the stick is in the fake sysfs, so a rescan finds it.
func officeBed(t *testing.T) (*bed, *PolicyStore) {
	b := newBed(t, nil)
	ps := NewPolicyStore(b.store, []string{"wwn:0x5000c500a1b2c3d4"})
	b.d.cfg.Store, b.d.reads = ps, ps // as daemon.New would have set them from Config.Store
	if err := os.MkdirAll(filepath.Join(b.d.cfg.Sys, diskP, "sda1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(b.d.cfg.Sys, "bus/usb/devices"), 0o755)
	if err := os.Symlink(filepath.Join(b.d.cfg.Sys, stickP), filepath.Join(b.d.cfg.Sys, "bus/usb/devices/2-1")); err != nil {
		t.Fatal(err)
	}
	return b, ps
}

func TestPolicyStoreDecidesFromThePolicyInForce(t *testing.T) {
	b, ps := officeBed(t)
	// The local register knows the stick; an enrolled host must not care.
	b.store.host = secretHost()
	b.register("OF1", media.Secret, media.StatusActive, media.AccessReadWrite, 0)

	b.plugStick("OF1", 64<<20)
	if r := b.lastReason(); r != policy.ReasonHostNotInitialised {
		t.Fatalf("before any policy: %s, want %s", r, policy.ReasonHostNotInitialised)
	}

	ps.Set(signedPolicy(t, 1))
	b.d.Rescan(b.ctx)
	if r := b.lastReason(); r != policy.ReasonUnregistered {
		t.Fatalf("policy without the stick: %s, want %s (the local register must not count)", r, policy.ReasonUnregistered)
	}

	ps.Set(signedPolicy(t, 2, policyStick("OF1", media.StatusActive, "li")))
	b.d.Rescan(b.ctx)
	if r := b.lastReason(); r != policy.ReasonAllowed {
		t.Fatalf("registered on the server: %s, want %s", r, policy.ReasonAllowed)
	}
	if on, _ := b.rec.USBAuthorized(stickP); !on {
		t.Fatal("stick registered by the policy is not authorized")
	}

	ps.Set(signedPolicy(t, 3, policyStick("OF1", media.StatusLost, "li")))
	b.d.Rescan(b.ctx)
	if r := b.lastReason(); r != policy.ReasonStatusLost {
		t.Fatalf("lost on the server: %s, want %s", r, policy.ReasonStatusLost)
	}
	if on, _ := b.rec.USBAuthorized(stickP); on {
		t.Error("a stick lost on the server stays authorized")
	}

	ps.Set(signedPolicy(t, 4, policyStick("OF1", media.StatusActive, "gone")))
	b.d.Rescan(b.ctx)
	if r := b.lastReason(); r != policy.ReasonNoCustodian {
		t.Errorf("inactive custodian in the policy: %s, want %s", r, policy.ReasonNoCustodian)
	}
	// The decisions went to the local log.
	if n := len(b.store.decisions()); n < 5 {
		t.Errorf("%d decision rows in the local log", n)
	}
}

func TestPolicyStoreReads(t *testing.T) {
	ps := NewPolicyStore(newMemStore(nil), []string{"wwn:local"})
	ctx := t.Context()
	if _, err := ps.Host(ctx); !errors.Is(err, registry.ErrNoHost) {
		t.Fatalf("Host before a policy: %v", err)
	}
	p := signedPolicy(t, 5, policyStick("RD1", media.StatusActive, "li"))
	p.Document.Profile.Baseline = []string{"wwn:server"}
	ps.Set(p)
	h, err := ps.Host(ctx)
	if err != nil || h.Number != "H-01" || h.Level != media.Secret {
		t.Fatalf("Host = %+v, %v", h, err)
	}
	if !slices.Equal(h.Baseline, []string{"wwn:server", "wwn:local"}) {
		t.Errorf("baseline = %q, want the policy's and the local one", h.Baseline)
	}
	if m, err := ps.MediumByIdentity(ctx, identity.USBKey("46f4", "0001", "RD1")); err != nil || m.Number != "S-RD1" {
		t.Errorf("MediumByIdentity = %+v, %v", m, err)
	}
	if _, err := ps.MediumByIdentity(ctx, "usb:nope"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown medium: %v", err)
	}
	if pp, err := ps.Person(ctx, "li"); err != nil || !pp.Active || pp.Login != "li" {
		t.Errorf("Person = %+v, %v", pp, err)
	}
	if _, err := ps.Person(ctx, "nobody"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}
	if _, err := ps.UpgradeIdentityKey(ctx, "a", "b"); !errors.Is(err, ErrOfficeRegister) {
		t.Errorf("UpgradeIdentityKey: %v", err)
	}
	if _, err := ps.RecordEvent(ctx, event.KindDaemonStop, "", event.DaemonStop{PID: 1}); err != nil {
		t.Errorf("RecordEvent: %v", err)
	}
}

func TestStatusCarriesOfficeAndDecisionsAreObserved(t *testing.T) {
	b := newBed(t, secretHost())
	var seen []Record
	b.d.cfg.Office = func() *OfficeStatus { return &OfficeStatus{Server: "https://office", PolicyVersion: 9} }
	b.d.cfg.Decided = func(r Record) { seen = append(seen, r) }
	b.plugStick("OB1", 64<<20)
	if st := b.d.Status(); st.Office == nil || st.Office.PolicyVersion != 9 {
		t.Errorf("status office = %+v", st.Office)
	}
	if len(seen) == 0 || seen[len(seen)-1].Decision.Reason != policy.ReasonUnregistered {
		t.Errorf("decisions observed: %d", len(seen))
	}
}

// writePolicyRows writes the rows of an enrolled host's follower into s: a policy
// applied from the server, and a tampered one refused.
func writePolicyRows(t *testing.T, s *registry.Store) {
	t.Helper()
	pub := testPolicyKey.Public().(ed25519.PublicKey)
	st := &hostclient.State{Dir: t.TempDir(), PolicyKey: pub,
		Enrolment: hostclient.Enrolment{Server: "https://office.example:8443", Host: "H-01", PolicyKeyID: policydoc.KeyID(pub)}}
	f := hostclient.NewFollower(hostclient.FollowerConfig{State: st, Apply: func(context.Context, *policydoc.Policy) {},
		Record: func(ctx context.Context, kind event.Kind, details any) error {
			_, err := s.RecordEvent(ctx, kind, "", details)
			return err
		}})
	good := signedPolicy(t, 1, policyStick("REL1A", media.StatusActive, "li"))
	if applied, err := f.Offer(t.Context(), good.Envelope, event.PolicyFromServer); !applied || err != nil {
		t.Fatalf("offer of a good policy: %v", err)
	}
	bad := bytes.Replace(signedPolicy(t, 2).Envelope, []byte(`"signature":"`), []byte(`"signature":"AAAA`), 1)
	if _, err := f.Offer(t.Context(), bad, event.PolicyFromServer); err == nil {
		t.Fatal("a tampered policy was applied")
	}
}
