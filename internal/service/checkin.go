package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"mediagate/internal/checkin"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
)

// OpenCampaignRequest opens the check-in campaign of a year.
type OpenCampaignRequest struct {
	Year     int       // 0: this year
	Deadline time.Time // zero: the end of 31 December of Year
}

// OpenCampaignResult is the opened campaign and how many media must come back.
type OpenCampaignResult struct {
	Campaign checkin.Campaign
	Expected int
}

// OpenCampaign opens the year's campaign and lists the media that must come back.
func (s *Service) OpenCampaign(ctx context.Context, r OpenCampaignRequest) (OpenCampaignResult, error) {
	if r.Year == 0 {
		r.Year = s.cfg.Now().In(s.cfg.Location).Year()
	}
	if r.Year < 2000 || r.Year > 9999 {
		return OpenCampaignResult{}, badRequest("err.bad-year", r.Year)
	}
	if r.Deadline.IsZero() {
		r.Deadline = s.EndOfDay(r.Year, time.December, 31)
	}
	c, n, err := s.store.OpenCampaign(ctx, r.Year, r.Deadline)
	if err != nil {
		return OpenCampaignResult{}, err
	}
	return OpenCampaignResult{Campaign: c, Expected: n}, nil
}

// OpenCampaignNow returns the open campaign, or an ErrNoCampaign error.
func (s *Service) OpenCampaignNow(ctx context.Context) (checkin.Campaign, error) {
	return s.store.OpenCampaignNow(ctx)
}

// Campaign returns the campaign of a year; 0 is the open one, else the latest.
func (s *Service) Campaign(ctx context.Context, year int) (checkin.Campaign, error) {
	return s.store.Campaign(ctx, year)
}

// CampaignReport builds the report of a campaign (see Campaign for year) as of now.
func (s *Service) CampaignReport(ctx context.Context, year int, by checkin.GroupBy) (checkin.Report, error) {
	c, err := s.store.Campaign(ctx, year)
	if err != nil {
		return checkin.Report{}, err
	}
	items, err := s.store.CampaignItems(ctx, c.ID)
	if err != nil {
		return checkin.Report{}, err
	}
	return checkin.Build(c, items, by, s.cfg.Now()), nil
}

// CheckInResult is one check-in with what is left of the open campaign.
type CheckInResult struct {
	CheckIn checkin.CheckIn
	// Left is how many media are still outstanding, LeftCustodian how many of them
	// are the same custodian's.
	Left, LeftCustodian int
}

// CheckInManual checks in by hand a medium that cannot be plugged in.
func (s *Service) CheckInManual(ctx context.Context, m ManualCheckIn) (CheckInResult, error) {
	if err := need(map[string]string{"number": m.Number}); err != nil {
		return CheckInResult{}, err
	}
	ci, err := s.store.CheckInManual(ctx, m)
	if err != nil {
		return CheckInResult{}, err
	}
	return s.withLeft(ctx, ci)
}

func (s *Service) withLeft(ctx context.Context, ci checkin.CheckIn) (CheckInResult, error) {
	c, err := s.store.OpenCampaignNow(ctx)
	if err != nil {
		return CheckInResult{CheckIn: ci}, err
	}
	total, ofCust, err := s.store.Outstanding(ctx, c.ID, ci.Custodian)
	if err != nil {
		return CheckInResult{CheckIn: ci}, err
	}
	return CheckInResult{CheckIn: ci, Left: total, LeftCustodian: ofCust}, nil
}

// Outstanding counts the media of a campaign still to be handed in, in all and of one
// custodian.
func (s *Service) Outstanding(ctx context.Context, campaignID, custodian string) (total, ofCustodian int, err error) {
	return s.store.Outstanding(ctx, campaignID, custodian)
}

// CheckInsSince lists the check-ins of a campaign after seq.
func (s *Service) CheckInsSince(ctx context.Context, campaignID string, seq int64) ([]checkin.CheckIn, error) {
	return s.store.CheckInsSince(ctx, campaignID, seq)
}

// PlugRequest checks in a medium plugged in at the vault station by the identity its
// device presents.
type PlugRequest struct {
	// Seen is the identity read from the device.
	Seen media.Identity
	// Device names the device for messages (/dev/sdb, usb:2-1, a devpath).
	Device string
	// Number, when set, is the medium the officer says it is.
	Number        string
	Cabinet, Slot string
	// WaitPending: when a bound field is not readable yet (capacity before the block
	// device exists) return Pending instead of refusing; the daemon checks in again at
	// the block-device stage. The CLI refuses.
	WaitPending bool
	// Claim, when set, is called once the outcome (check in or refuse) is known and
	// before anything is written; false drops it silently. The daemon answers each
	// plugged device once with it.
	Claim func() bool
}

// PlugResult is the outcome of a plug check-in that was not refused.
type PlugResult struct {
	CheckInResult
	Pending bool // see PlugRequest.WaitPending; nothing was written
	Dropped bool // Claim said no; nothing was written
	// Queued: an enrolled vault station sent the check-in to the office server, which
	// decides it in the office's campaign (nothing was written here).
	Queued bool
}

// Refused reasons of a plug check-in, as the audit row (checkin.refused) records them.
const (
	WhyNotRegistered = "not registered"
	WhyNotExpected   = "not expected in this campaign"
)

// CheckInPlug checks in a plugged-in medium: it must be registered, be the Number
// given (if any), be confirmed by the one identity comparator (policy.ConfirmIdentity,
// the daemon's), and be expected in the open campaign. Every refusal is logged
// (checkin.refused) and returned as an error.
func (s *Service) CheckInPlug(ctx context.Context, r PlugRequest) (PlugResult, error) {
	seen := r.Seen
	if seen.Key == "" {
		return PlugResult{}, badRequest("err.device-unreadable", r.Device, Phrase{Code: "why.no-key"})
	}
	if _, err := s.store.OpenCampaignNow(ctx); err != nil {
		return PlugResult{}, err
	}
	claim := func() bool { return r.Claim == nil || r.Claim() }
	refuse := func(number, why string, e error) (PlugResult, error) {
		if !claim() {
			return PlugResult{Dropped: true}, nil
		}
		if err := s.store.RefuseCheckIn(ctx, number, seen, why); err != nil {
			return PlugResult{}, err
		}
		return PlugResult{}, e
	}
	reg, err := s.store.MediumByIdentity(ctx, seen.Key)
	if errors.Is(err, ErrNotFound) {
		// A medium imported with its identity pending is bound here when that is
		// simple: the officer names it, or it is the one pending medium with the
		// device's (good) serial.
		pend, perr := s.pendingFor(ctx, r.Number, seen)
		if perr != nil {
			return PlugResult{}, perr
		}
		if pend == "" {
			return refuse(r.Number, WhyNotRegistered, refused("err.ci-unregistered", r.Device, seen.Key))
		}
		if !claim() {
			return PlugResult{Dropped: true}, nil
		}
		if _, err := s.Bind(ctx, BindRequest{Number: pend, Identity: seen, Station: true}); err != nil {
			return PlugResult{}, err
		}
		return s.plugCheckIn(ctx, pend, seen, r)
	} else if err != nil {
		return PlugResult{}, err
	}
	if r.Number != "" && reg.Number != r.Number {
		why := "registered as " + reg.Number
		return refuse(r.Number, why, refused("err.ci-mismatch", r.Device, r.Number, Phrase{Code: "why.registered-as", Args: []any{reg.Number}}))
	}
	field, pending := policy.ConfirmIdentity(reg.Identity, seen)
	switch {
	case field != "":
		why := "identity differs: " + field
		return refuse(reg.Number, why, refused("err.ci-mismatch", r.Device, reg.Number, Phrase{Code: "why.identity-differs", Args: []any{field}}))
	case pending && r.WaitPending:
		return PlugResult{Pending: true}, nil
	case pending:
		bound := policy.UnverifiedIdentity(reg.Identity, seen)[0]
		why := "bound " + bound + " not readable yet"
		return refuse(reg.Number, why, refused("err.ci-mismatch", r.Device, reg.Number, Phrase{Code: "why.bound-unreadable", Args: []any{bound}}))
	}
	if !claim() {
		return PlugResult{Dropped: true}, nil
	}
	return s.plugCheckIn(ctx, reg.Number, seen, r)
}

// plugCheckIn records the check-in of a plugged medium whose identity is confirmed.
func (s *Service) plugCheckIn(ctx context.Context, number string, seen media.Identity, r PlugRequest) (PlugResult, error) {
	ci, err := s.store.CheckInPlugged(ctx, number, seen, r.Cabinet, r.Slot)
	switch {
	case errors.Is(err, ErrNotExpected):
		if e := s.store.RefuseCheckIn(ctx, number, seen, WhyNotExpected); e != nil {
			return PlugResult{}, e
		}
		return PlugResult{}, err
	case err != nil:
		return PlugResult{}, err
	}
	s.changed(ctx)
	res, err := s.withLeft(ctx, ci)
	return PlugResult{CheckInResult: res}, err
}

// pendingFor finds the medium with its identity pending that a device plugged in at
// the vault station simply is: the one the officer names (number), or else the only
// pending medium whose registered serial is the device's (a good serial, compared
// without case). "" when there is none or more than one.
func (s *Service) pendingFor(ctx context.Context, number string, seen media.Identity) (string, error) {
	if number != "" {
		m, err := s.store.Medium(ctx, number)
		if errors.Is(err, ErrNotFound) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		if m.IdentityPending {
			return m.Number, nil
		}
		return "", nil
	}
	if seen.Serial == "" || !identity.CheckSerial(seen.Serial).Good {
		return "", nil
	}
	list, err := s.store.ListMedia(ctx, MediaFilter{Pending: true})
	if err != nil {
		return "", err
	}
	found := ""
	for _, m := range list {
		if m.Identity.Serial != "" && strings.EqualFold(m.Identity.Serial, seen.Serial) {
			if found != "" {
				return "", nil // two: not simple
			}
			found = m.Number
		}
	}
	return found, nil
}

// CloseResult of CloseCampaign with the final report it saved.
type ClosedCampaign struct {
	CloseResult
	Final checkin.Report
}

// CloseRequest closes the open campaign.
type CloseRequest struct {
	// Early confirms closing before the deadline: media still outstanding are then
	// flagged missing although their custodians still had time. Without it a close
	// before the deadline is refused (err.ci-close-early).
	Early bool
}

// ClosePlan is what closing the open campaign now would do, without doing it.
type ClosePlan struct {
	Campaign checkin.Campaign
	// BeforeDeadline: the deadline has not passed; closing needs CloseRequest.Early.
	BeforeDeadline                  bool
	Vault, Away, Missing, Withdrawn int
	// MissingItems are the media that would be flagged missing (lost), by number.
	MissingItems []checkin.Item
}

// PlanClose says what CloseCampaign would do now: how many media go into the vault,
// stay at the repairer, are flagged missing or were withdrawn, and which are missing.
// It changes nothing.
func (s *Service) PlanClose(ctx context.Context) (ClosePlan, error) {
	c, err := s.store.OpenCampaignNow(ctx)
	if err != nil {
		return ClosePlan{}, err
	}
	items, err := s.store.CampaignItems(ctx, c.ID)
	if err != nil {
		return ClosePlan{}, err
	}
	now := s.cfg.Now()
	p := ClosePlan{Campaign: c, BeforeDeadline: now.Before(c.Deadline)}
	for _, it := range items {
		switch _, outcome := checkin.ClosePlan(it); outcome {
		case checkin.OutcomeVault:
			p.Vault++
		case checkin.OutcomeAway:
			p.Away++
		case checkin.OutcomeMissing:
			p.Missing++
			p.MissingItems = append(p.MissingItems, it)
		case checkin.OutcomeWithdrawn:
			p.Withdrawn++
		}
	}
	slices.SortFunc(p.MissingItems, func(a, b checkin.Item) int { return strings.Compare(a.Number, b.Number) })
	return p, nil
}

// CloseCampaign closes the open campaign: checked-in media go into the vault, media
// at the repairer keep their status, the rest are flagged missing (lost). The final
// report (FinalReportBytes) is saved with the campaign and its SHA-256 logged. Before
// the deadline it needs r.Early.
func (s *Service) CloseCampaign(ctx context.Context, r CloseRequest) (ClosedCampaign, error) {
	if !r.Early {
		c, err := s.store.OpenCampaignNow(ctx)
		if err != nil {
			return ClosedCampaign{}, err
		}
		if s.cfg.Now().Before(c.Deadline) {
			return ClosedCampaign{}, refused("err.ci-close-early", c.Year, c.Deadline)
		}
	}
	var final checkin.Report
	res, err := s.store.CloseCampaign(ctx, func(c checkin.Campaign, items []checkin.Item) ([]byte, error) {
		final = checkin.Build(c, items, checkin.ByCustodian, c.Closed)
		return FinalReportBytes(final)
	})
	if err != nil {
		return ClosedCampaign{}, err
	}
	s.changed(ctx)
	return ClosedCampaign{CloseResult: res, Final: final}, nil
}

// FinalReportBytes is the canonical encoding of a campaign's final report: the report
// grouped by custodian as of the close, as indented JSON. Its SHA-256 is what the
// audit log holds (checkin.close); changing this encoding breaks the check of every
// campaign closed before, so it never changes.
func FinalReportBytes(final checkin.Report) ([]byte, error) {
	return json.MarshalIndent(final, "", "  ")
}

// FinalReport returns the final report saved at close, byte for byte.
func (s *Service) FinalReport(ctx context.Context, year int) ([]byte, checkin.Campaign, error) {
	return s.store.FinalReport(ctx, year)
}
