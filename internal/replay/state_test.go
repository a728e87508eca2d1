package replay

import (
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// TestEveryKindReplayed keeps replay in step with package event: a kind is either
// stateless (it changes no table) or applied. A new kind that changes the register
// fails here until Apply handles it.
func TestEveryKindReplayed(t *testing.T) {
	for _, k := range event.Kinds() {
		s := NewState()
		s.Apply(&audit.Event{Seq: 1, Time: time.Unix(0, 0), HostID: "h", Kind: k})
		for _, p := range s.problems {
			if strings.Contains(p.Log, "cannot replay") {
				t.Errorf("%s: %s", k, p.Log)
			}
		}
	}
	for k := range stateless {
		if !k.Known() {
			t.Errorf("stateless kind %s is no kind of package event", k)
		}
	}
}

// TestLogProblems: rows that do not fit the register before them are reported.
func TestLogProblems(t *testing.T) {
	s := NewState()
	raw, _ := audit.Details(event.MediumStatus{MediumID: "nope", From: "active", To: "lost"})
	s.Apply(&audit.Event{Seq: 1, HostID: "h", Kind: event.KindMediumLost, Medium: "S-1", Details: raw})
	s.Apply(&audit.Event{Seq: 2, HostID: "other", Kind: event.KindDaemonStop})
	if len(s.problems) != 2 || s.problems[0].Problem != ProblemLog || !strings.Contains(s.problems[1].Log, "other") {
		t.Errorf("problems = %+v", s.problems)
	}
}
