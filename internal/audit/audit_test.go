package audit

import (
	"errors"
	"iter"
	"testing"
	"time"
)

func chain(t *testing.T, n int) ([]*Event, Head) {
	t.Helper()
	var rows []*Event
	var prevSeq int64
	prevHash := ""
	base := time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)
	for i := range n {
		d, err := Details(map[string]any{"i": i, "serial": "S\x00\u202e"})
		if err != nil {
			t.Fatal(err)
		}
		e := &Event{ID: string(rune('a' + i)), Time: base.Add(time.Duration(i) * time.Second), HostID: "h1",
			Kind: "medium.register", Medium: "S-2026-0001", Actor: Actor{UID: 1000, User: "alice", Login: "bob"}, Details: d}
		Seal(e, prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		rows = append(rows, e)
	}
	return rows, Head{Seq: prevSeq, Hash: prevHash}
}

func seq(rows []*Event) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		for _, r := range rows {
			c := *r
			if !yield(&c, nil) {
				return
			}
		}
	}
}

func TestVerifyIntact(t *testing.T) {
	rows, head := chain(t, 5)
	n, err := Verify(seq(rows), head)
	if err != nil || n != 5 {
		t.Fatalf("Verify = %d, %v; want 5, nil", n, err)
	}
	if rows[0].PrevHash != GenesisHash {
		t.Errorf("first row prev hash = %s", rows[0].PrevHash)
	}
	if got := rows[0].Time.Nanosecond(); got != 123000000 {
		t.Errorf("time not truncated to ms: %d", got)
	}
	if n, err := Verify(seq(nil), Head{}); err != nil || n != 0 {
		t.Errorf("empty log: %d, %v", n, err)
	}
}

func TestVerifyTamper(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(rows []*Event, head *Head) []*Event
		wantSeq int64
	}{
		{"edit medium", func(r []*Event, _ *Head) []*Event { r[2].Medium = "S-2026-0002"; return r }, 3},
		{"edit actor", func(r []*Event, _ *Head) []*Event { r[1].Actor.User = "mallory"; return r }, 2},
		{"edit details", func(r []*Event, _ *Head) []*Event { r[0].Details = []byte(`{"i":9}`); return r }, 1},
		{"edit time", func(r []*Event, _ *Head) []*Event { r[3].Time = r[3].Time.Add(time.Millisecond); return r }, 4},
		{"edit and rehash", func(r []*Event, _ *Head) []*Event { r[2].Kind = "x"; r[2].Hash = ComputeHash(r[2]); return r }, 4},
		{"delete middle", func(r []*Event, _ *Head) []*Event { return append(r[:2:2], r[3:]...) }, 3},
		{"delete last", func(r []*Event, _ *Head) []*Event { return r[:4] }, 5},
		{"delete last and head", func(r []*Event, h *Head) []*Event { h.Seq = 4; return r[:4] }, 5},
		{"swap", func(r []*Event, _ *Head) []*Event { r[1], r[2] = r[2], r[1]; return r }, 2},
		{"insert", func(r []*Event, _ *Head) []*Event {
			x := *r[1]
			x.Kind = "forged"
			return append(r[:2:2], append([]*Event{&x}, r[2:]...)...)
		}, 3},
		{"renumber", func(r []*Event, _ *Head) []*Event { r[4].Seq = 7; return r }, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, head := chain(t, 5)
			rows = tt.tamper(rows, &head)
			_, err := Verify(seq(rows), head)
			var be *BrokenError
			if !errors.As(err, &be) || !errors.Is(err, ErrBroken) {
				t.Fatalf("Verify after %s = %v; want BrokenError", tt.name, err)
			}
			if be.Seq != tt.wantSeq {
				t.Errorf("first bad row = %d (%s); want %d", be.Seq, be.Reason, tt.wantSeq)
			}
		})
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk")
	rows := func(yield func(*Event, error) bool) { yield(nil, boom) }
	if _, err := Verify(rows, Head{}); !errors.Is(err, boom) {
		t.Errorf("Verify = %v; want read error", err)
	}
}
