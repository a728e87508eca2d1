package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

// Errors of the year-end check-in campaign (see internal/checkin). The subject of an
// *Error with one of these is the year or the medium number.
var (
	ErrNoCampaign        = errors.New("no open check-in campaign")
	ErrCampaignExists    = errors.New("a check-in campaign for this year already exists")
	ErrCampaignOpen      = errors.New("another check-in campaign is still open")
	ErrCampaignClosed    = errors.New("the check-in campaign is closed")
	ErrNotExpected       = errors.New("medium is not expected in this campaign")
	ErrAlreadyCheckedIn  = errors.New("medium is already checked in")
	ErrIdentityDiffers   = errors.New("the device is not the registered medium")
	ErrCheckedInCampaign = errors.New("medium was checked in to an open campaign")
)

const campaignCols = `id, year, opened, deadline, closed, report_sha256`

func scanCampaign(row interface{ Scan(...any) error }) (checkin.Campaign, error) {
	var c checkin.Campaign
	var opened, deadline, closed string
	if err := row.Scan(&c.ID, &c.Year, &opened, &deadline, &closed, &c.ReportSHA256); err != nil {
		return c, err
	}
	c.Opened, c.Deadline = parseStamp(opened), parseStamp(deadline)
	if closed != "" {
		c.Closed = parseStamp(closed)
	}
	return c, nil
}

// OpenCampaign opens the check-in campaign of a year with a deadline and snapshots
// every medium that must come back: those active, lent or in repair now
// (checkin.MustReturn). One campaign per year, one open at a time.
func (s *Store) OpenCampaign(ctx context.Context, year int, deadline time.Time) (checkin.Campaign, int, error) {
	var c checkin.Campaign
	var n int
	if year < 2000 || year > 9999 {
		return c, 0, errf(ErrInvalid, "invalid.value", Field("year"), strconv.Itoa(year))
	}
	if !deadline.After(s.now()) {
		return c, 0, errf(ErrInvalid, "invalid.past-time", Field("deadline"))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var other int
		err := tx.QueryRowContext(ctx, `SELECT year FROM campaigns WHERE year = ? OR closed = '' ORDER BY year = ? DESC LIMIT 1`, year, year).Scan(&other)
		switch {
		case err == nil && other == year:
			return errf(ErrCampaignExists, "err.ci-exists", strconv.Itoa(year))
		case err == nil:
			return errf(ErrCampaignOpen, "err.ci-open", strconv.Itoa(other))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := s.stamp()
		c = checkin.Campaign{ID: NewID(), Year: year, Opened: parseStamp(now), Deadline: deadline.UTC().Truncate(time.Millisecond)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, year, opened, deadline) VALUES (?, ?, ?, ?)`,
			c.ID, year, now, c.Deadline.Format(timeLayout)); err != nil {
			return fmt.Errorf("open campaign: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO campaign_media (campaign_id, medium_id, status_at_open, custodian_id)
			SELECT ?, id, status, custodian_id FROM media WHERE status IN (`+expectedIn()+`)`, c.ID)
		if err != nil {
			return fmt.Errorf("snapshot expected media: %w", err)
		}
		rows, _ := res.RowsAffected()
		n = int(rows)
		_, err = s.appendEvent(ctx, tx, event.KindCheckinOpen, "", event.CheckinOpen{CampaignID: c.ID,
			Deadline: c.Deadline.Format(timeLayout), Expected: n, Year: year})
		return err
	})
	if err != nil {
		return checkin.Campaign{}, 0, err
	}
	return c, n, nil
}

func expectedIn() string {
	var q []string
	for _, st := range checkin.ExpectedStatuses() {
		q = append(q, "'"+string(st)+"'")
	}
	return strings.Join(q, ", ")
}

// OpenCampaignNow returns the open campaign, or an ErrNoCampaign error.
func (s *Store) OpenCampaignNow(ctx context.Context) (checkin.Campaign, error) {
	return openCampaignTx(ctx, s.db)
}

func openCampaignTx(ctx context.Context, q querier) (checkin.Campaign, error) {
	c, err := scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE closed = ''`))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errf(ErrNoCampaign, "err.ci-no-campaign")
	}
	return c, err
}

// Campaign returns the campaign of a year; year 0 means the open one, or else the
// latest.
func (s *Store) Campaign(ctx context.Context, year int) (checkin.Campaign, error) {
	var row *sql.Row
	if year == 0 {
		row = s.db.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns ORDER BY closed = '' DESC, year DESC LIMIT 1`)
	} else {
		row = s.db.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE year = ?`, year)
	}
	c, err := scanCampaign(row)
	if errors.Is(err, sql.ErrNoRows) {
		if year == 0 {
			return c, errf(ErrNoCampaign, "err.ci-no-campaign")
		}
		return c, errf(ErrNoCampaign, "err.ci-no-campaign-year", strconv.Itoa(year))
	}
	return c, err
}

// ManualCheckIn is a check-in marked by hand.
type ManualCheckIn struct {
	Number  string
	Reason  string // required: why it is not plugged
	By      string // person handle who hands it in or vouches for it; required
	Cabinet string
	Slot    string
	// Away accounts for a medium in repair that stays at the repairer: it keeps its
	// status when the campaign closes. Only for media in repair.
	Away bool
}

// CheckInManual records a manual check-in in the open campaign.
func (s *Store) CheckInManual(ctx context.Context, m ManualCheckIn) (checkin.CheckIn, error) {
	reason, err := cleanText("reason", m.Reason, 2000)
	if err != nil {
		return checkin.CheckIn{}, err
	}
	if reason == "" {
		return checkin.CheckIn{}, errf(ErrInvalid, "invalid.manual-reason", Field("reason"))
	}
	ci := checkin.CheckIn{Number: m.Number, Source: checkin.SourceManual, Manual: true, Away: m.Away, Reason: reason}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		by, err := activePersonTx(ctx, tx, m.By)
		if err != nil {
			return err
		}
		ci.By = by.Handle
		return s.checkInTx(ctx, tx, &ci, m.Cabinet, m.Slot, by.ID)
	})
	if err != nil {
		return checkin.CheckIn{}, err
	}
	return ci, nil
}

// CheckInPlugged records the physical check-in of a medium whose device was plugged
// in at the vault station during the open campaign. It is what the daemon calls on a
// vault station for every registered medium plugged in, and what
// `mediagate checkin plug` calls.
//
// The caller has already read the device and verified it with identity.Matches (the
// identity rules, including weak-serial rules); seen is what it read. The store checks
// once more that seen carries the registered identity key, and refuses a medium that
// is not expected, already checked in, or when no campaign is open. A refusal writes
// nothing; log it with RefuseCheckIn.
func (s *Store) CheckInPlugged(ctx context.Context, number string, seen media.Identity, cabinet, slot string) (checkin.CheckIn, error) {
	ci := checkin.CheckIn{Number: number, Source: checkin.SourcePlugged, IdentityKey: seen.Key}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		m, err := mediumTx(ctx, tx, number)
		if err != nil {
			return err
		}
		if seen.Key == "" || seen.Key != m.Identity.Key {
			return errf(ErrIdentityDiffers, "err.ci-mismatch", seen.Key, number, Why("key-differs"))
		}
		return s.checkInTx(ctx, tx, &ci, cabinet, slot, nil)
	})
	if err != nil {
		return checkin.CheckIn{}, err
	}
	return ci, nil
}

// checkInTx validates and records one check-in with its audit row.
func (s *Store) checkInTx(ctx context.Context, tx *sql.Tx, ci *checkin.CheckIn, cabinet, slot string, byID any) error {
	var err error
	if ci.Cabinet, err = cleanText("cabinet", cabinet, 64); err != nil {
		return err
	}
	if ci.Slot, err = cleanText("slot", slot, 64); err != nil {
		return err
	}
	c, err := openCampaignTx(ctx, tx)
	if err != nil {
		return err
	}
	m, err := mediumTx(ctx, tx, ci.Number)
	if err != nil {
		return err
	}
	var atOpen string
	err = tx.QueryRowContext(ctx, `SELECT status_at_open FROM campaign_media WHERE campaign_id = ? AND medium_id = ?`, c.ID, m.ID).Scan(&atOpen)
	if errors.Is(err, sql.ErrNoRows) {
		return errf(ErrNotExpected, "err.ci-not-expected", m.Number, strconv.Itoa(c.Year))
	} else if err != nil {
		return err
	}
	var at string
	err = tx.QueryRowContext(ctx, `SELECT at FROM checkins WHERE campaign_id = ? AND medium_id = ?`, c.ID, m.ID).Scan(&at)
	if err == nil {
		t, _ := time.Parse(time.RFC3339Nano, at)
		return errf(ErrAlreadyCheckedIn, "err.ci-already", m.Number, t)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if ci.Away && m.Status != media.StatusRepair {
		return errf(ErrInvalid, "invalid.away", Field("away"))
	}
	if !checkin.MustReturn(m.Status) {
		return errf(ErrTransition, "transition.status", m.Number, m.Status)
	}
	now := s.stamp()
	ci.At, ci.Custodian = parseStamp(now), m.Custodian
	actor := s.actorOf(ctx).String()
	err = tx.QueryRowContext(ctx, `INSERT INTO checkins (id, campaign_id, medium_id, at, source, manual, away, reason, by_id, cabinet, slot, identity_key, actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		NewID(), c.ID, m.ID, now, string(ci.Source), ci.Manual, ci.Away, ci.Reason, byID, ci.Cabinet, ci.Slot, ci.IdentityKey, actor).Scan(&ci.Seq)
	if err != nil {
		return fmt.Errorf("record check-in of %s: %w", m.Number, err)
	}
	d := event.CheckinIn{Away: ci.Away, Cabinet: ci.Cabinet, CampaignID: c.ID, Custodian: m.Custodian, IdentityKey: ci.IdentityKey,
		Manual: ci.Manual, MediumID: m.ID, Slot: ci.Slot, Source: string(ci.Source), Status: m.Status, Year: c.Year}
	if ci.Manual {
		d.Reason, d.By = ci.Reason, ci.By
	}
	_, err = s.appendEvent(ctx, tx, event.KindCheckinIn, m.Number, d)
	return err
}

// RefuseCheckIn logs a refused physical check-in: an unregistered device, one that
// does not match its registration, or a medium not expected. number is "" when the
// device is not registered.
func (s *Store) RefuseCheckIn(ctx context.Context, number string, seen media.Identity, reason string) error {
	_, err := s.RecordEvent(ctx, event.KindCheckinRefused, number, event.CheckinRefused{Identity: seen, Reason: reason})
	return err
}

// CampaignItems returns the expected media of a campaign with their current state and
// check-in, by number.
func (s *Store) CampaignItems(ctx context.Context, campaignID string) ([]checkin.Item, error) {
	return campaignItemsTx(ctx, s.db, campaignID)
}

type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func campaignItemsTx(ctx context.Context, q rowsQuerier, campaignID string) ([]checkin.Item, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.number, m.kind, m.level, m.serial, m.model, c.handle, c.name, `+mediumDepartment+`, m.status,
		cm.status_at_open, cm.outcome, COALESCE(ci.seq, 0), COALESCE(ci.at, ''), COALESCE(ci.source, ''), COALESCE(ci.away, 0),
		COALESCE(ci.reason, ''), COALESCE(b.handle, ''), COALESCE(ci.cabinet, ''), COALESCE(ci.slot, ''), COALESCE(ci.identity_key, '')
		FROM campaign_media cm
		JOIN media m ON m.id = cm.medium_id
		JOIN people c ON c.id = m.custodian_id
		LEFT JOIN checkins ci ON ci.campaign_id = cm.campaign_id AND ci.medium_id = cm.medium_id
		LEFT JOIN people b ON b.id = ci.by_id
		WHERE cm.campaign_id = ?
		ORDER BY m.number`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("campaign media: %w", err)
	}
	defer rows.Close()
	out := []checkin.Item{}
	for rows.Next() {
		var it checkin.Item
		var kind, status, atOpen, outcome, at, source, reason, by, cabinet, slot, key string
		var level, away int
		var seq int64
		if err := rows.Scan(&it.Number, &kind, &level, &it.Serial, &it.Model, &it.Custodian, &it.CustodianName, &it.Department, &status,
			&atOpen, &outcome, &seq, &at, &source, &away, &reason, &by, &cabinet, &slot, &key); err != nil {
			return nil, err
		}
		it.Kind, it.Level, it.Status = media.Kind(kind), media.Level(level), media.Status(status)
		it.StatusAtOpen, it.Outcome = media.Status(atOpen), checkin.Outcome(outcome)
		if seq != 0 {
			it.CheckIn = &checkin.CheckIn{Seq: seq, Number: it.Number, At: parseStamp(at), Source: checkin.Source(source),
				Manual: source == string(checkin.SourceManual), Away: away == 1, Reason: reason, By: by, Cabinet: cabinet,
				Slot: slot, IdentityKey: key, Custodian: it.Custodian}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// CheckInsSince returns the check-ins of a campaign that arrived after seq, in order
// of arrival, for `checkin watch`.
func (s *Store) CheckInsSince(ctx context.Context, campaignID string, seq int64) ([]checkin.CheckIn, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ci.seq, m.number, ci.at, ci.source, ci.away, ci.reason, COALESCE(b.handle, ''),
		ci.cabinet, ci.slot, ci.identity_key, c.handle
		FROM checkins ci JOIN media m ON m.id = ci.medium_id JOIN people c ON c.id = m.custodian_id
		LEFT JOIN people b ON b.id = ci.by_id
		WHERE ci.campaign_id = ? AND ci.seq > ? ORDER BY ci.seq`, campaignID, seq)
	if err != nil {
		return nil, fmt.Errorf("check-ins: %w", err)
	}
	defer rows.Close()
	var out []checkin.CheckIn
	for rows.Next() {
		var ci checkin.CheckIn
		var at, source string
		var away int
		if err := rows.Scan(&ci.Seq, &ci.Number, &at, &source, &away, &ci.Reason, &ci.By, &ci.Cabinet, &ci.Slot,
			&ci.IdentityKey, &ci.Custodian); err != nil {
			return nil, err
		}
		ci.At, ci.Source, ci.Away = parseStamp(at), checkin.Source(source), away == 1
		ci.Manual = ci.Source == checkin.SourceManual
		out = append(out, ci)
	}
	return out, rows.Err()
}

// Outstanding counts the media of a campaign still to be handed in: in total and of
// one custodian (by handle; "" for none).
func (s *Store) Outstanding(ctx context.Context, campaignID, custodian string) (total, ofCustodian int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.handle = ? THEN 1 ELSE 0 END), 0)
		FROM campaign_media cm JOIN media m ON m.id = cm.medium_id JOIN people c ON c.id = m.custodian_id
		WHERE cm.campaign_id = ? AND m.status IN (`+expectedIn()+`)
		AND NOT EXISTS (SELECT 1 FROM checkins ci WHERE ci.campaign_id = cm.campaign_id AND ci.medium_id = cm.medium_id)`,
		custodian, campaignID).Scan(&total, &ofCustodian)
	return total, ofCustodian, err
}

// CloseResult is what closing a campaign did.
type CloseResult struct {
	Campaign checkin.Campaign
	Vault    int // moved to (or already) in-vault
	Away     int // accounted for at the repairer, status kept
	Missing  int // flagged lost
	// Withdrawn counts media lost, destroyed or retired during the campaign.
	Withdrawn int
	Report    []byte // the saved final report
}

// CloseCampaign closes the open campaign in one transaction: every checked-in medium
// goes to in-vault, every medium still outstanding is flagged lost (missing), each
// with its own audit row (checkin.vault, checkin.missing); then report renders the
// final report from the items as closed, which is saved with the campaign, and its
// SHA-256 is written to the audit log (checkin.close).
func (s *Store) CloseCampaign(ctx context.Context, report func(c checkin.Campaign, items []checkin.Item) ([]byte, error)) (CloseResult, error) {
	var r CloseResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := openCampaignTx(ctx, tx)
		if err != nil {
			return err
		}
		items, err := campaignItemsTx(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		now := s.stamp()
		for _, it := range items {
			to, outcome := checkin.ClosePlan(it)
			var mediumID string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM media WHERE number = ?`, it.Number).Scan(&mediumID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE campaign_media SET outcome = ? WHERE campaign_id = ? AND medium_id = ?`,
				string(outcome), c.ID, mediumID); err != nil {
				return err
			}
			switch outcome {
			case checkin.OutcomeVault:
				r.Vault++
			case checkin.OutcomeAway:
				r.Away++
			case checkin.OutcomeMissing:
				r.Missing++
			case checkin.OutcomeWithdrawn:
				r.Withdrawn++
			}
			if to == it.Status {
				continue
			}
			if err := media.CheckTransition(it.Status, to); err != nil {
				return errf(ErrTransition, "transition", it.Number, it.Status, to)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE media SET status = ?, holder_id = NULL, due_at = '', updated = ? WHERE id = ?`,
				string(to), now, mediumID); err != nil {
				return fmt.Errorf("close campaign: %s: %w", it.Number, err)
			}
			kind := event.KindCheckinVault
			var d any
			if outcome == checkin.OutcomeMissing {
				kind = event.KindCheckinMissing
				d = event.CheckinMissing{CampaignID: c.ID, Custodian: it.Custodian, Deadline: c.Deadline.Format(timeLayout),
					From: it.Status, MediumID: mediumID, To: to, Year: c.Year}
			} else {
				v := event.CheckinVault{CampaignID: c.ID, Custodian: it.Custodian, From: it.Status, MediumID: mediumID, To: to, Year: c.Year}
				if ci := it.CheckIn; ci != nil {
					v.Source, v.Manual = string(ci.Source), &ci.Manual
				}
				d = v
			}
			if _, err := s.appendEvent(ctx, tx, kind, it.Number, d); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET closed = ? WHERE id = ?`, now, c.ID); err != nil {
			return fmt.Errorf("close campaign: %w", err)
		}
		c.Closed = parseStamp(now)
		closed, err := campaignItemsTx(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if r.Report, err = report(c, closed); err != nil {
			return fmt.Errorf("final report: %w", err)
		}
		sum := sha256.Sum256(r.Report)
		c.ReportSHA256 = hex.EncodeToString(sum[:])
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET report = ?, report_sha256 = ? WHERE id = ?`, r.Report, c.ReportSHA256, c.ID); err != nil {
			return fmt.Errorf("save final report: %w", err)
		}
		r.Campaign = c
		_, err = s.appendEvent(ctx, tx, event.KindCheckinClose, "", event.CheckinClose{Away: r.Away, CampaignID: c.ID,
			Expected: len(items), Missing: r.Missing, ReportBytes: len(r.Report), ReportSHA256: c.ReportSHA256, Vault: r.Vault,
			Withdrawn: r.Withdrawn, Year: c.Year})
		return err
	})
	if err != nil {
		return CloseResult{}, err
	}
	return r, nil
}

// FinalReport returns the report saved when the campaign of a year was closed.
func (s *Store) FinalReport(ctx context.Context, year int) ([]byte, checkin.Campaign, error) {
	c, err := s.Campaign(ctx, year)
	if err != nil {
		return nil, c, err
	}
	if c.IsOpen() {
		return nil, c, errf(ErrCampaignOpen, "err.ci-open", strconv.Itoa(c.Year))
	}
	var b []byte
	err = s.db.QueryRowContext(ctx, `SELECT report FROM campaigns WHERE id = ?`, c.ID).Scan(&b)
	return b, c, err
}

// Issue gives a medium from the vault to a custodian in the new year: in-vault →
// active. A medium checked in to a campaign that is still open is refused: close the
// campaign first.
func (s *Store) Issue(ctx context.Context, number, to, note string) (media.Medium, error) {
	return s.change(ctx, number, event.KindMediumIssue, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		note, err := cleanText("note", note, 2000)
		if err != nil {
			return nil, err
		}
		p, err := activePersonTx(ctx, tx, to)
		if err != nil {
			return nil, err
		}
		var year int
		err = tx.QueryRowContext(ctx, `SELECT c.year FROM checkins ci JOIN campaigns c ON c.id = ci.campaign_id
			WHERE ci.medium_id = ? AND c.closed = ''`, m.ID).Scan(&year)
		if err == nil {
			return nil, errf(ErrCheckedInCampaign, "err.ci-issue-open", m.Number, strconv.Itoa(year))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if m.Status != media.StatusInVault {
			return nil, errf(ErrTransition, "transition.issue", m.Number, m.Status)
		}
		if err := setStatus(m, media.StatusActive); err != nil {
			return nil, err
		}
		from := m.Custodian
		m.Custodian, m.Holder, m.DueAt = p.Handle, "", time.Time{}
		return func(c event.Change) any {
			return event.MediumIssue{Custodian: c.Custodian, From: c.From, FromCustodian: from, MediumID: c.MediumID, Note: note,
				To: c.To, ToCustodian: p.Handle, ToName: p.Name}
		}, nil
	})
}
