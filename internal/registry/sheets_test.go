package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
)

func TestParseNumber(t *testing.T) {
	n := Numbering{Pattern: DefaultPattern, Codes: DefaultLevelCodes}
	for _, c := range []struct {
		number    string
		level     media.Level
		year, seq int
		ok        bool
	}{
		{"S-2019-0007", media.Secret, 2019, 7, true},
		{"TS-2020-0123", media.TopSecret, 2020, 123, true},
		{"S-2019-7", 0, 0, 0, false},    // not zero-padded as the pattern makes it
		{"X-2019-0007", 0, 0, 0, false}, // no such code
		{"S-2019-0007x", 0, 0, 0, false},
		{"旧-001", 0, 0, 0, false},
	} {
		l, y, s, ok := n.parseNumber(c.number)
		if ok != c.ok || ok && (l != c.level || y != c.year || s != c.seq) {
			t.Errorf("%s: %v %d %d %v", c.number, l, y, s, ok)
		}
	}
	jm := Numbering{Pattern: "{year}{level_code}{seq:03}", Codes: map[media.Level]string{media.Secret: "JM", media.Confidential: "MM"}}
	if l, y, s, ok := jm.parseNumber("2021JM042"); !ok || l != media.Secret || y != 2021 || s != 42 {
		t.Errorf("2021JM042: %v %d %d %v", l, y, s, ok)
	}
}

// TestImportBatch: an import is one transaction on both engines: a refused medium
// leaves nothing behind; pending media get placeholder keys; given numbers move the
// sequence; departments follow the custodian unless set; bind replaces the identity.
func TestImportBatch(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三", Department: "办公室"}); err != nil {
			t.Fatal(err)
		}
		stick := media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", "IMP0001"), Serial: "IMP0001",
			VendorID: "0781", ProductID: "5567"}
		batch := ImportBatch{
			People: []media.Person{{Handle: "钱七", Name: "钱七", Department: "财务处"}},
			Media: []Registration{
				{Number: "S-2026-0041", Identity: stick, Level: media.Secret, Custodian: "zhang", Department: "办公室"},
				{Number: "S-2026-0007", Identity: media.Identity{Kind: media.KindUSBDisk, Serial: "PRINTED1"}, Pending: true,
					Level: media.Secret, Custodian: "钱七", Department: "档案室", Model: "金士顿", CapacityText: "32GB",
					Purpose: "拷贝", InService: "2019-03-01"},
				{Number: "C-2017-0001", Identity: media.Identity{Kind: media.KindOpticalDisc}, Pending: true, Level: media.Confidential,
					Custodian: "nobody"}, // refused: unknown custodian
			},
			Summary: event.MediumImport{File: "t.csv", Format: "csv", Media: 3, Pending: 2, People: 1, Rows: 3, SHA256: "ab"}}
		_, err := s.Import(ctx, batch)
		var ie *ImportError
		if !errors.As(err, &ie) || ie.Index != 2 || !errors.Is(err, ErrNotFound) {
			t.Fatalf("import with an unknown custodian: %v", err)
		}
		if list, _ := s.ListMedia(ctx, MediaFilter{}); len(list) != 0 {
			t.Fatalf("a refused import left %d media", len(list))
		}
		if _, err := s.Person(ctx, "钱七"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a refused import left its person: %v", err)
		}
		batch.Media[2].Custodian = "zhang"
		batch.Media[2].Status = media.StatusDestroyed
		ms, err := s.Import(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 || ms[0].DepartmentSet || !ms[1].DepartmentSet || !ms[1].IdentityPending ||
			!strings.HasPrefix(ms[1].Identity.Key, PendingKeyPrefix) || ms[2].Status != media.StatusDestroyed {
			t.Fatalf("media %+v", ms)
		}
		got, err := s.Medium(ctx, "S-2026-0007")
		if err != nil {
			t.Fatal(err)
		}
		if got.Model != "金士顿" || got.CapacityText != "32GB" || got.Purpose != "拷贝" || got.InService != "2019-03-01" ||
			got.CustodianName != "钱七" || got.Department != "档案室" {
			t.Errorf("stored %+v", got)
		}
		if p, _ := s.ListMedia(ctx, MediaFilter{Pending: true}); len(p) != 1 || p[0].Number != "S-2026-0007" {
			t.Errorf("pending %+v", p)
		}
		if d, _ := s.ListMedia(ctx, MediaFilter{Department: "办公室"}); len(d) != 2 {
			t.Errorf("%d media of 办公室 (one set for it, one following zhang)", len(d))
		}
		// The sequence of secret 2026 moved past 41 (a given number of the pattern).
		m, err := s.Register(ctx, Registration{Identity: media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", "NEXT1"),
			Serial: "NEXT1"}, Level: media.Secret, Custodian: "zhang"})
		if err != nil || m.Number != "S-2026-0042" {
			t.Errorf("next number %s, %v", m.Number, err)
		}
		// Bind.
		dev := media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0951", "1666", "DEV0001"), Serial: "DEV0001",
			VendorID: "0951", ProductID: "1666", Capacity: 8 << 30}
		b, err := s.BindIdentity(ctx, "S-2026-0007", dev, "Kingston DT", false)
		if err != nil || b.IdentityPending || b.Identity.Key != dev.Key || b.Model != "金士顿" {
			t.Fatalf("bind: %+v %v", b, err)
		}
		if _, err := s.BindIdentity(ctx, "S-2026-0007", dev, "", false); !errors.Is(err, ErrInvalid) {
			t.Errorf("bind again: %v", err)
		}
		if _, err := s.BindIdentity(ctx, "C-2017-0001", dev, "", false); !errors.Is(err, ErrDuplicateIdentity) && !errors.Is(err, ErrTransition) {
			t.Errorf("bind a destroyed medium to a registered identity: %v", err)
		}
		if m, err := s.MediumByIdentity(ctx, dev.Key); err != nil || m.Number != "S-2026-0007" {
			t.Errorf("by identity: %v %v", m.Number, err)
		}
	})
}

// TestListMediaInUse: the "in use" filter (labels for every medium the office holds)
// selects active, lent, in-vault and repair media, on both engines.
func TestListMediaInUse(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三", Department: "办公室"}); err != nil {
			t.Fatal(err)
		}
		batch := ImportBatch{Summary: event.MediumImport{File: "t.csv", Format: "csv"}}
		for i, st := range media.Statuses() {
			if st == media.StatusLent {
				continue // a loan needs a borrower: not importable, checked below
			}
			serial := fmt.Sprintf("INUSE%04d", i)
			batch.Media = append(batch.Media, Registration{
				Identity: media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", serial), Serial: serial, VendorID: "0781", ProductID: "5567"},
				Level:    media.Secret, Custodian: "zhang", Status: st, Number: fmt.Sprintf("S-2026-%04d", i+1)})
		}
		batch.Summary.Media, batch.Summary.Rows = len(batch.Media), len(batch.Media)
		if _, err := s.Import(ctx, batch); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListMedia(ctx, MediaFilter{InUse: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range list {
			got = append(got, string(m.Status))
		}
		want := []string{"active", "in-vault", "repair"}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("in use: %v; want %v", got, want)
		}
		for _, st := range media.Statuses() {
			if want := st == media.StatusLent || slices.Contains(want, string(st)); st.InUse() != want {
				t.Errorf("%s.InUse() = %v", st, st.InUse())
			}
		}
	})
}
