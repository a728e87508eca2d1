package service

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"mediagate/internal/checkin"
	"mediagate/internal/media"
)

// SummaryCount is how many media of one level, status and department the register
// holds.
type SummaryCount struct {
	Level      media.Level  `json:"level"`
	Status     media.Status `json:"status"`
	Department string       `json:"department"`
	Count      int          `json:"count"`
}

// SummaryCampaign is the open check-in campaign and where it stands.
type SummaryCampaign struct {
	Year     int            `json:"year"`
	Deadline time.Time      `json:"deadline"`
	Totals   checkin.Totals `json:"totals"`
}

// Summary is an overview of the register: what an officer answers an inspector first.
type Summary struct {
	AsOf   time.Time      `json:"as_of"`
	Total  int            `json:"total"`
	Counts []SummaryCount `json:"counts"` // by level, status, department
	// Overdue are the lent media past their return date; Lost and InRepair the media
	// in those statuses; all by number.
	Overdue  []media.Medium   `json:"overdue"`
	Lost     []media.Medium   `json:"lost"`
	InRepair []media.Medium   `json:"in_repair"`
	Campaign *SummaryCampaign `json:"campaign,omitempty"` // the open campaign, if any
}

// Summary counts the register's media by level × status × department and lists the
// overdue loans, the lost media, the media in repair and the open campaign. It reads
// the register only: it works without the daemon.
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	all, err := s.store.ListMedia(ctx, MediaFilter{})
	if err != nil {
		return Summary{}, err
	}
	now := s.cfg.Now()
	sum := Summary{AsOf: now, Total: len(all), Counts: []SummaryCount{}, Overdue: []media.Medium{}, Lost: []media.Medium{}, InRepair: []media.Medium{}}
	type key struct {
		l media.Level
		s media.Status
		d string
	}
	counts := map[key]int{}
	for _, m := range all {
		counts[key{m.Level, m.Status, m.Department}]++
		switch {
		case m.Status == media.StatusLent && !m.DueAt.IsZero() && m.DueAt.Before(now):
			sum.Overdue = append(sum.Overdue, m)
		case m.Status == media.StatusLost:
			sum.Lost = append(sum.Lost, m)
		case m.Status == media.StatusRepair:
			sum.InRepair = append(sum.InRepair, m)
		}
	}
	for k, n := range counts {
		sum.Counts = append(sum.Counts, SummaryCount{Level: k.l, Status: k.s, Department: k.d, Count: n})
	}
	slices.SortFunc(sum.Counts, func(a, b SummaryCount) int {
		return cmp.Or(cmp.Compare(b.Level, a.Level), cmp.Compare(statusOrder(a.Status), statusOrder(b.Status)),
			cmp.Compare(a.Department, b.Department))
	})
	c, err := s.store.OpenCampaignNow(ctx)
	switch {
	case err == nil:
		items, err := s.store.CampaignItems(ctx, c.ID)
		if err != nil {
			return Summary{}, err
		}
		r := checkin.Build(c, items, checkin.ByCustodian, now)
		sum.Campaign = &SummaryCampaign{Year: c.Year, Deadline: c.Deadline, Totals: r.Totals}
	case !errors.Is(err, ErrNoCampaign):
		return Summary{}, err
	}
	return sum, nil
}

// statusOrder is a status's place in media.Statuses (the register's order).
func statusOrder(st media.Status) int { return slices.Index(media.Statuses(), st) }
