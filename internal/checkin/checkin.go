// Package checkin is the year-end check-in campaign's logic without storage: which
// media must come back, what state each one is in at a given time, what closing the
// campaign does to each, and the report grouped by custodian or department.
//
// Every year-end all classified media are handed to the office and kept centrally in
// its iron cabinet (每年底交由校办公室集中保存于铁质文件柜中). The registry stores
// campaigns and check-ins; this package decides. No I/O, no clock: now is passed in.
package checkin

import (
	"math"
	"time"

	"mediagate/internal/media"
)

// Source says how a medium was checked in.
type Source string

const (
	SourcePlugged Source = "plugged" // its identity was read from the device at the vault station
	SourceManual  Source = "manual"  // marked by hand with a reason (a cracked disc, a medium at the repairer)
)

// Campaign is one year's check-in campaign.
type Campaign struct {
	ID       string    `json:"id"`
	Year     int       `json:"year"`
	Opened   time.Time `json:"opened"`
	Deadline time.Time `json:"deadline"`
	Closed   time.Time `json:"closed,omitzero"`
	// ReportSHA256 is the hex SHA-256 of the final report saved at close.
	ReportSHA256 string `json:"report_sha256,omitempty"`
}

// IsOpen reports whether the campaign has not been closed.
func (c Campaign) IsOpen() bool { return c.Closed.IsZero() }

// CheckIn is one medium handed in during a campaign.
type CheckIn struct {
	Seq    int64     `json:"-"` // order of arrival in the registry
	Number string    `json:"number"`
	At     time.Time `json:"at"`
	Source Source    `json:"source"`
	Manual bool      `json:"manual"`
	// Away marks a medium in repair that is accounted for at the repairer: it is
	// not in the vault and keeps its status when the campaign closes.
	Away        bool   `json:"away,omitempty"`
	Reason      string `json:"reason,omitempty"`
	By          string `json:"by,omitempty"` // person handle who handed it in or vouched for it
	Cabinet     string `json:"cabinet,omitempty"`
	Slot        string `json:"slot,omitempty"`
	IdentityKey string `json:"identity_key,omitempty"` // the identity read from the device, when plugged
	Custodian   string `json:"custodian,omitempty"`
}

// Outcome is what closing the campaign did to an expected medium.
type Outcome string

const (
	OutcomeNone      Outcome = ""          // campaign still open
	OutcomeVault     Outcome = "vault"     // checked in, now in the vault
	OutcomeAway      Outcome = "away"      // accounted for at the repairer, status kept
	OutcomeMissing   Outcome = "missing"   // not handed in: flagged lost
	OutcomeWithdrawn Outcome = "withdrawn" // lost, destroyed or retired during the campaign
)

// Item is one expected medium with its current registry state and check-in.
type Item struct {
	Number string      `json:"number"`
	Kind   media.Kind  `json:"kind"`
	Level  media.Level `json:"level"`
	// Serial and Model are what an inspector compares with the medium in hand: its
	// serial and its brand and model (empty where the register does not hold them).
	Serial        string       `json:"serial,omitempty"`
	Model         string       `json:"model,omitempty"`
	Custodian     string       `json:"custodian"`
	CustodianName string       `json:"custodian_name"`
	Department    string       `json:"department,omitempty"`
	Status        media.Status `json:"status"`         // now
	StatusAtOpen  media.Status `json:"status_at_open"` // when the campaign opened
	Outcome       Outcome      `json:"outcome,omitempty"`
	CheckIn       *CheckIn     `json:"check_in,omitempty"`
}

// MustReturn reports whether a medium in this status must come back at year-end.
// Active and lent media are with people; media in repair are expected too (they may
// be accounted for by hand with a reason, see Away). Media already in the vault,
// lost, destroyed or retired are not expected.
func MustReturn(s media.Status) bool {
	return s == media.StatusActive || s == media.StatusLent || s == media.StatusRepair
}

// ExpectedStatuses lists the statuses for which MustReturn is true.
func ExpectedStatuses() []media.Status {
	return []media.Status{media.StatusActive, media.StatusLent, media.StatusRepair}
}

// State is where an expected medium stands in a campaign.
type State string

const (
	StateCheckedIn   State = "checked-in"  // plugged at the vault station
	StateManual      State = "manual"      // checked in by hand
	StateAway        State = "away"        // accounted for at the repairer
	StateOutstanding State = "outstanding" // not yet handed in, deadline not passed
	StateOverdue     State = "overdue"     // not handed in after the deadline
	StateMissing     State = "missing"     // not handed in when the campaign closed
	StateWithdrawn   State = "withdrawn"   // lost, destroyed or retired since the campaign opened
)

// States lists all states in report order.
func States() []State {
	return []State{StateCheckedIn, StateManual, StateAway, StateOutstanding, StateOverdue, StateMissing, StateWithdrawn}
}

// Pending reports whether a medium in this state is still to be handed in.
func (s State) Pending() bool { return s == StateOutstanding || s == StateOverdue }

// StateOf says where an item stands at now.
func StateOf(it Item, c Campaign, now time.Time) State {
	if ci := it.CheckIn; ci != nil {
		switch {
		case ci.Away:
			return StateAway
		case ci.Manual:
			return StateManual
		}
		return StateCheckedIn
	}
	switch it.Outcome {
	case OutcomeMissing:
		return StateMissing
	case OutcomeWithdrawn:
		return StateWithdrawn
	}
	if !MustReturn(it.Status) {
		return StateWithdrawn
	}
	if now.After(c.Deadline) {
		return StateOverdue
	}
	return StateOutstanding
}

// DaysOverdue counts started days past the deadline; 0 when not past it.
func DaysOverdue(deadline, now time.Time) int {
	if !now.After(deadline) {
		return 0
	}
	return int(math.Ceil(now.Sub(deadline).Hours() / 24))
}

// ClosePlan says what closing the campaign does to an item: the status it must get
// (equal to its status when nothing changes) and the outcome to record.
//
//   - checked in (plugged or by hand): into the vault, when the transition table allows
//     it; a checked-in medium reported lost or destroyed since keeps that status and
//     counts as withdrawn
//   - accounted for away (at the repairer): keeps its status
//   - not checked in and still active, lent or in repair: flagged lost (missing)
//   - not checked in and lost, destroyed or retired since the campaign opened: withdrawn
func ClosePlan(it Item) (media.Status, Outcome) {
	if ci := it.CheckIn; ci != nil {
		switch {
		case ci.Away:
			return it.Status, OutcomeAway
		case it.Status == media.StatusInVault:
			return it.Status, OutcomeVault
		case media.CanTransition(it.Status, media.StatusInVault):
			return media.StatusInVault, OutcomeVault
		}
		return it.Status, OutcomeWithdrawn
	}
	if MustReturn(it.Status) && media.CanTransition(it.Status, media.StatusLost) {
		return media.StatusLost, OutcomeMissing
	}
	return it.Status, OutcomeWithdrawn
}
