package replay

import (
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/service"
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

// FuzzApply: the log replayed comes from a register root may have edited; no row,
// however odd its details, may stop the check with a panic.
func FuzzApply(f *testing.F) {
	kinds := event.Kinds()
	for i, k := range kinds {
		if d, err := event.Decode(k, nil); err == nil {
			raw, _ := audit.Details(d)
			f.Add(uint8(i), []byte(raw), "S-1")
		}
	}
	f.Add(uint8(0), []byte(`{"medium_id":"x","from":"lost","to":"active"}`), "")
	f.Fuzz(func(t *testing.T, k uint8, details []byte, medium string) {
		s := NewState()
		for seq, kind := range []event.Kind{event.KindPersonAdd, kinds[int(k)%len(kinds)], kinds[int(k)%len(kinds)]} {
			raw := details
			if seq == 0 {
				raw = []byte(`{"handle":"a","person_id":"p"}`)
			}
			s.Apply(&audit.Event{Seq: int64(seq + 1), HostID: "h", Kind: kind, Medium: medium, Details: raw})
		}
		Compare(s, service.Tables{})
	})
}

// TestGivenNumberAfterOldRegistrations: a given number the pattern made moves its
// sequence; after a registration of an earlier release the sequence's value is not
// known, so the log does not claim one.
func TestGivenNumberAfterOldRegistrations(t *testing.T) {
	reg := func(s *State, seq int64, d event.MediumRegister) {
		d.Custodian, d.MediumID = "a", "m"+string(rune('0'+seq))
		raw, _ := audit.Details(d)
		s.Apply(&audit.Event{Seq: seq, HostID: "h", Kind: event.KindMediumRegister, Medium: d.MediumID, Details: raw})
	}
	person, _ := audit.Details(event.Person{Handle: "a", PersonID: "p"})
	for _, old := range []bool{false, true} {
		s := NewState()
		s.Apply(&audit.Event{Seq: 1, HostID: "h", Kind: event.KindPersonAdd, Details: person})
		if old {
			reg(s, 2, event.MediumRegister{Level: 2})
		}
		reg(s, 3, event.MediumRegister{Level: 2, Numbered: event.NumberedGiven, NumberYear: 2026, NumberSeq: 7})
		next, known := s.seq[seqKey{2, 2026}]
		if known == old || (!old && next != 8) {
			t.Errorf("after an old registration %v: next %d known %v", old, next, known)
		}
	}
}
