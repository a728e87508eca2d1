package registry

import (
	"context"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// TestDecisionDataAndChanges: the daemon's copy of the register and the mark that
// tells it when to read again, on both engines.
func TestDecisionDataAndChanges(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		if _, err := s.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret}); err != nil {
			t.Fatal(err)
		}
		seed(t, s, "alice")
		m := register(t, s, "DD1", media.Secret, "alice")
		d, err := s.DecisionData(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Host == nil || d.Host.Number != "H-01" || len(d.Media) != 1 || d.Media[0].Number != m.Number ||
			len(d.People) != 1 || d.People[0].Handle != "alice" || d.Mark != 3 {
			t.Fatalf("DecisionData = %+v", d)
		}
		if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, m.Number, event.DeviceDecision{}); err != nil {
			t.Fatal(err)
		}
		changed, head, err := s.ChangedSince(ctx, d.Mark)
		if err != nil || changed || head != 4 {
			t.Errorf("after a decision row: changed %v, head %d, %v; want unchanged at 4", changed, head, err)
		}
		if _, err := s.SetStatus(ctx, m.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{}); err != nil {
			t.Fatal(err)
		}
		if changed, head, err := s.ChangedSince(ctx, head); err != nil || !changed || head != 5 {
			t.Errorf("after a loss: changed %v, head %d, %v; want changed at 5", changed, head, err)
		}
	})
}
