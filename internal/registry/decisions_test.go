package registry

import (
	"context"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// DecisionData and ChangedSince on both engines: the data is what the register holds,
// and only register rows after the mark count as a change.
func TestDecisionDataAndChanges(t *testing.T) {
	forEngines(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		s, _ := e.open(t)
		d, err := s.DecisionData(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Host != nil || len(d.Media) != 0 {
			t.Fatalf("empty register: host %v, %d media", d.Host, len(d.Media))
		}
		seed(t, s, "zhang")
		m := register(t, s, "S1", media.Secret, "zhang")
		d, err = s.DecisionData(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Media) != 1 || d.Media[0].Number != m.Number || d.Media[0].Custodian != "zhang" || len(d.People) == 0 || d.Mark == 0 {
			t.Fatalf("decision data %+v", d)
		}
		for _, feed := range []func(int64) (bool, int64, error){
			func(mark int64) (bool, int64, error) { return s.ChangedSince(ctx, mark) },
			func(mark int64) (bool, int64, error) {
				f, err := s.ChangeFeed(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				return f.ChangedSince(ctx, mark)
			},
		} {
			mark := d.Mark
			if changed, head, err := feed(mark); err != nil || changed || head != mark {
				t.Errorf("nothing new: changed %v, head %d (mark %d), %v", changed, head, mark, err)
			}
			if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, m.Number, event.DeviceDecision{Stage: "usb-device"}); err != nil {
				t.Fatal(err)
			}
			changed, head, err := feed(mark)
			if err != nil || changed || head <= mark {
				t.Errorf("a decision row: changed %v, head %d (mark %d), %v", changed, head, mark, err)
			}
			mark = head
			if _, err := s.SetStatus(ctx, m.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{}); err != nil {
				t.Fatal(err)
			}
			if changed, _, err := feed(mark); err != nil || !changed {
				t.Errorf("a status change: changed %v, %v", changed, err)
			}
			if _, err := s.SetStatus(ctx, m.Number, media.StatusActive, event.KindMediumFound, event.MediumStatus{}); err != nil {
				t.Fatal(err)
			}
			if d, err = s.DecisionData(ctx); err != nil { // the next feed starts here
				t.Fatal(err)
			}
		}
	})
}
