package regindex

import (
	"context"
	"path/filepath"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// The index over the real registry: the audit log is its change feed.
func TestRegistrySourceFollowsTheRegister(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, filepath.Join(t.TempDir(), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &Registry{Store: s}
	x := New(src)
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.Host(); ok {
		t.Fatal("host before host init")
	}
	if _, err := s.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
		t.Fatal(err)
	}
	id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:46f4:0001:S1", Serial: "S1", VendorID: "46f4", ProductID: "0001"}
	m, err := s.Register(ctx, registry.Registration{Identity: id, Level: media.Secret, Custodian: "zhang"})
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := src.Changed(ctx); !changed {
		t.Fatal("host init, a person and a registration are not a change")
	}
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := x.MediumByIdentity(id.Key)
	if !ok || got.Number != m.Number || got.Custodian != "zhang" {
		t.Fatalf("medium after Fresh: %+v %v", got, ok)
	}
	if h, ok := x.Host(); !ok || h.Number != "H-01" {
		t.Fatalf("host after Fresh: %+v %v", h, ok)
	}

	// The daemon's own rows are no change.
	if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, m.Number, event.DeviceDecision{Stage: "usb-device"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, event.KindDaemonStart, "", event.DaemonStart{Mode: media.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Changed(ctx); changed || err != nil {
		t.Errorf("decision rows counted as a change (%v, %v)", changed, err)
	}

	// A status change made by another process (the CLI) is.
	if _, err := s.SetStatus(ctx, m.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{}); err != nil {
		t.Fatal(err)
	}
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.MediumByIdentity(id.Key); got.Status != media.StatusLost {
		t.Errorf("status %q after the medium was reported lost", got.Status)
	}
	if changed, _ := src.Changed(ctx); changed {
		t.Error("still changed after the reload")
	}
}
