package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

func TestCampaignLifecycle(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		ctx := context.Background()
		s, clk := eng.open(t)
		seed(t, s, "zhang", "li", "wang")
		a := register(t, s, "AAAA0001", media.Secret, "zhang")
		b := register(t, s, "AAAA0002", media.Secret, "zhang")
		c := register(t, s, "AAAA0003", media.Confidential, "li")
		d := register(t, s, "AAAA0004", media.Confidential, "li")
		e := register(t, s, "AAAA0005", media.Confidential, "wang")
		gone := register(t, s, "AAAA0006", media.Confidential, "wang")
		if _, err := s.Lend(ctx, b.Number, "li", clk.t.AddDate(0, 1, 0), "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetStatus(ctx, d.Number, media.StatusRepair, event.KindMediumRepair, event.MediumStatus{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetStatus(ctx, gone.Number, media.StatusRetired, event.KindMediumRetire, event.MediumStatus{}); err != nil {
			t.Fatal(err)
		}

		if _, err := s.CheckInManual(ctx, ManualCheckIn{Number: a.Number, Reason: "x", By: "li"}); !errors.Is(err, ErrNoCampaign) {
			t.Fatalf("check-in without campaign: %v", err)
		}
		deadline := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
		if _, _, err := s.OpenCampaign(ctx, 2026, clk.t.Add(-time.Hour)); !errors.Is(err, ErrInvalid) {
			t.Errorf("deadline in the past: %v", err)
		}
		camp, n, err := s.OpenCampaign(ctx, 2026, deadline)
		if err != nil || n != 5 {
			t.Fatalf("open: %d, %v", n, err)
		}
		if _, _, err := s.OpenCampaign(ctx, 2026, deadline); !errors.Is(err, ErrCampaignExists) {
			t.Errorf("second campaign for 2026: %v", err)
		}
		if _, _, err := s.OpenCampaign(ctx, 2027, deadline.AddDate(1, 0, 0)); !errors.Is(err, ErrCampaignOpen) {
			t.Errorf("2027 while 2026 open: %v", err)
		}

		// A medium registered after the open is not expected.
		late := register(t, s, "AAAA0007", media.Secret, "zhang")
		before := eventCount(t, s)
		refusals := []struct {
			name string
			err  error
			want error
		}{
			{"no reason", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: a.Number, By: "li"})
				return err
			}(), ErrInvalid},
			{"unknown person", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: a.Number, Reason: "cracked", By: "nobody"})
				return err
			}(), ErrNotFound},
			{"unknown number", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: "S-9999", Reason: "cracked", By: "li"})
				return err
			}(), ErrNotFound},
			{"not expected", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: late.Number, Reason: "cracked", By: "li"})
				return err
			}(), ErrNotExpected},
			{"retired", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: gone.Number, Reason: "cracked", By: "li"})
				return err
			}(), ErrNotExpected},
			{"away but active", func() error {
				_, err := s.CheckInManual(ctx, ManualCheckIn{Number: a.Number, Reason: "at repairer", By: "li", Away: true})
				return err
			}(), ErrInvalid},
			{"plugged other identity", func() error {
				_, err := s.CheckInPlugged(ctx, a.Number, usb("AAAA0002"), "A", "1")
				return err
			}(), ErrIdentityDiffers},
			{"control characters in slot", func() error {
				_, err := s.CheckInPlugged(ctx, a.Number, a.Identity, "A", "1\x1b[2J")
				return err
			}(), ErrInvalid},
		}
		for _, r := range refusals {
			if !errors.Is(r.err, r.want) {
				t.Errorf("%s: %v; want %v", r.name, r.err, r.want)
			}
		}
		if got := eventCount(t, s); got != before {
			t.Errorf("refusals wrote %d audit rows", got-before)
		}

		clk.t = clk.t.Add(time.Hour)
		ci, err := s.CheckInPlugged(ctx, a.Number, a.Identity, "A", "1")
		if err != nil || ci.Manual || ci.Custodian != "zhang" || ci.Seq == 0 {
			t.Fatalf("plugged: %+v, %v", ci, err)
		}
		if _, err := s.CheckInPlugged(ctx, a.Number, a.Identity, "A", "1"); !errors.Is(err, ErrAlreadyCheckedIn) {
			t.Errorf("second plug: %v", err)
		}
		if _, err := s.CheckInManual(ctx, ManualCheckIn{Number: b.Number, Reason: "cracked disc", By: "li", Cabinet: "A", Slot: "2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckInManual(ctx, ManualCheckIn{Number: d.Number, Reason: "at the repairer", By: "wang", Away: true}); err != nil {
			t.Fatal(err)
		}
		if total, ofLi, err := s.Outstanding(ctx, camp.ID, "li"); err != nil || total != 2 || ofLi != 1 {
			t.Errorf("outstanding = %d, %d, %v; want 2, 1", total, ofLi, err)
		}
		since, err := s.CheckInsSince(ctx, camp.ID, ci.Seq)
		if err != nil || len(since) != 2 || since[0].Number != b.Number || !since[0].Manual || since[0].By != "li" || !since[1].Away {
			t.Errorf("since = %+v, %v", since, err)
		}
		items, err := s.CampaignItems(ctx, camp.ID)
		// by number: C-…-0001 (c), C-…-0002 (d), C-…-0003 (e), S-…-0001 (a), S-…-0002 (b)
		if err != nil || len(items) != 5 || items[3].CheckIn == nil || items[3].CheckIn.Cabinet != "A" || items[4].StatusAtOpen != media.StatusLent ||
			items[0].CheckIn != nil || !items[1].CheckIn.Away {
			t.Fatalf("items = %+v, %v", items, err)
		}

		clk.t = time.Date(2027, 1, 2, 9, 0, 0, 0, time.UTC)
		res, err := s.CloseCampaign(ctx, func(c checkin.Campaign, items []checkin.Item) ([]byte, error) {
			return json.Marshal(checkin.Build(c, items, checkin.ByCustodian, clk.t))
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Vault != 2 || res.Away != 1 || res.Missing != 2 || res.Withdrawn != 0 {
			t.Errorf("close = %+v", res)
		}
		want := map[string]media.Status{a.Number: media.StatusInVault, b.Number: media.StatusInVault, c.Number: media.StatusLost,
			d.Number: media.StatusRepair, e.Number: media.StatusLost, late.Number: media.StatusActive}
		for num, st := range want {
			m, _ := s.Medium(ctx, num)
			if m.Status != st {
				t.Errorf("%s is %s; want %s", num, m.Status, st)
			}
			if num == b.Number && (m.Holder != "" || !m.DueAt.IsZero()) {
				t.Errorf("lent medium in the vault keeps its holder %q", m.Holder)
			}
		}
		saved, closed, err := s.FinalReport(ctx, 2026)
		if err != nil || closed.IsOpen() {
			t.Fatal(err)
		}
		sum := sha256.Sum256(saved)
		if hex.EncodeToString(sum[:]) != closed.ReportSHA256 || string(saved) != string(res.Report) {
			t.Error("saved report does not hash to the recorded SHA-256")
		}
		ev, _ := s.Events(ctx, EventFilter{Kind: "checkin."})
		kinds := map[event.Kind]int{}
		var closeRow event.CheckinClose
		for _, e := range ev {
			kinds[e.Kind]++
			if e.Kind == event.KindCheckinClose {
				if closeRow, err = event.As[event.CheckinClose](e.Kind, e.Details); err != nil {
					t.Fatal(err)
				}
			}
		}
		if kinds[event.KindCheckinOpen] != 1 || kinds[event.KindCheckinIn] != 3 || kinds[event.KindCheckinVault] != 2 ||
			kinds[event.KindCheckinMissing] != 2 || kinds[event.KindCheckinClose] != 1 {
			t.Errorf("audit rows = %v", kinds)
		}
		if closeRow.ReportSHA256 != closed.ReportSHA256 || closeRow.ReportBytes != len(saved) || closeRow.Missing != 2 {
			t.Errorf("close row = %+v", closeRow)
		}
		if _, err := s.VerifyLog(ctx); err != nil {
			t.Errorf("verify: %v", err)
		}
		if _, err := s.CloseCampaign(ctx, nil); !errors.Is(err, ErrNoCampaign) {
			t.Errorf("closing twice: %v", err)
		}

		// The new year: issue from the vault.
		m, err := s.Issue(ctx, a.Number, "wang", "2027")
		if err != nil || m.Status != media.StatusActive || m.Custodian != "wang" {
			t.Fatalf("issue: %+v, %v", m, err)
		}
		if _, err := s.Issue(ctx, c.Number, "wang", ""); !errors.Is(err, ErrTransition) {
			t.Errorf("issue of a lost medium: %v", err)
		}
		// 2027's campaign may open now; a medium checked in to it cannot be issued before close.
		if _, _, err := s.OpenCampaign(ctx, 2027, clk.t.AddDate(0, 11, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckInPlugged(ctx, a.Number, a.Identity, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Issue(ctx, a.Number, "zhang", ""); !errors.Is(err, ErrCheckedInCampaign) {
			t.Errorf("issue during campaign: %v", err)
		}
	})
}

// BenchmarkCampaignReport100k times building a check-in report of 100,000 expected
// media (1,000 custodians, 60% checked in): the registry query plus grouping.
func BenchmarkCampaignReport100k(b *testing.B) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s, err := Open(ctx, filepath.Join(b.TempDir(), "big.db"), WithClock(clk.now), WithActor(audit.Actor{UID: 0, User: "root"}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const nMedia, nPeople = 100_000, 1_000
	seedStart := time.Now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.stamp()
		for i := range nPeople {
			if _, err := tx.ExecContext(ctx, `INSERT INTO people (id, handle, name, department, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
				fmt.Sprintf("p%04d", i), fmt.Sprintf("user%04d", i), fmt.Sprintf("用户%04d", i), fmt.Sprintf("dept%02d", i%40), now, now); err != nil {
				return err
			}
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO media (id, number, kind, identity_key, level, custodian_id, department, status, access, created, updated)
			VALUES (?, ?, 'usb-disk', ?, ?, ?, ?, ?, 'rw', ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		statuses := []string{"active", "active", "active", "lent", "repair"}
		for i := range nMedia {
			p := i % nPeople
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("m%06d", i), fmt.Sprintf("S-2026-%06d", i), fmt.Sprintf("usb:0781:5567:%012d", i),
				1+i%3, fmt.Sprintf("p%04d", p), fmt.Sprintf("dept%02d", p%40), statuses[i%len(statuses)], now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	camp, expected, err := s.OpenCampaign(ctx, 2026, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO checkins (id, campaign_id, medium_id, at, source, manual)
		SELECT medium_id, campaign_id, medium_id, ?, 'plugged', 0 FROM campaign_media WHERE campaign_id = ? AND abs(random()) % 10 < 6`,
		s.stamp(), camp.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d media (%d expected) in %v", nMedia, expected, time.Since(seedStart).Round(time.Millisecond))
	now := time.Date(2027, 1, 3, 9, 0, 0, 0, time.UTC)
	var r checkin.Report
	for b.Loop() {
		items, err := s.CampaignItems(ctx, camp.ID)
		if err != nil {
			b.Fatal(err)
		}
		r = checkin.Build(camp, items, checkin.ByCustodian, now)
	}
	b.ReportMetric(float64(r.Totals.Expected), "media")
	b.Logf("report of %d expected media: %d checked in, %d overdue, %d custodians; %v per report",
		r.Totals.Expected, r.Totals.CheckedIn, r.Totals.Overdue, len(r.Groups), b.Elapsed()/time.Duration(b.N))
}
