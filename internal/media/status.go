package media

import (
	"errors"
	"fmt"
	"strings"
)

// Status is where a registered medium is in its life.
type Status string

const (
	StatusActive    Status = "active"    // with its custodian, usable
	StatusLent      Status = "lent"      // borrowed by another person with approval, due back
	StatusInVault   Status = "in-vault"  // kept in the office's iron cabinet
	StatusRepair    Status = "repair"    // sent for repair with approval
	StatusLost      Status = "lost"      // reported lost
	StatusDestroyed Status = "destroyed" // destroyed by a designated person; terminal
	StatusRetired   Status = "retired"   // taken out of use; terminal
)

// ErrUnknownStatus is returned by ParseStatus for input that names no status.
var ErrUnknownStatus = errors.New("unknown status")

// ErrTransition is returned when a status change is not allowed.
var ErrTransition = errors.New("status change not allowed")

// Statuses lists all statuses.
func Statuses() []Status {
	return []Status{StatusActive, StatusLent, StatusInVault, StatusRepair, StatusLost, StatusDestroyed, StatusRetired}
}

// statusZH are the Chinese names ParseStatus accepts on input; messages name
// statuses through the catalogue (internal/catalog).
var statusZH = map[Status]string{
	StatusActive:    "在用",
	StatusLent:      "借出",
	StatusInVault:   "入柜保存",
	StatusRepair:    "送修",
	StatusLost:      "丢失",
	StatusDestroyed: "已销毁",
	StatusRetired:   "已停用",
}

// Valid reports whether s is a defined status.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusLent, StatusInVault, StatusRepair, StatusLost, StatusDestroyed, StatusRetired:
		return true
	}
	return false
}

// Usable reports whether a medium in this status may work on any host at all.
// Lent media are usable by the borrower; everything else is not.
func (s Status) Usable() bool { return s == StatusActive || s == StatusLent }

// ParseStatus accepts a status key or its Chinese name.
func ParseStatus(v string) (Status, error) {
	norm := strings.ToLower(strings.TrimSpace(v))
	norm = strings.NewReplacer("_", "-", " ", "-").Replace(norm)
	for s, zh := range statusZH {
		if norm == string(s) || norm == zh {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownStatus, v)
}

// Action names a lifecycle operation that changes a medium's status.
type Action string

const (
	ActLend     Action = "lend"
	ActReturn   Action = "return"
	ActLose     Action = "lost"
	ActFound    Action = "found"
	ActRepair   Action = "repair"
	ActRepaired Action = "repaired"
	ActDestroy  Action = "destroy"
	ActRetire   Action = "retire"
	ActCheckIn  Action = "check-in" // year-end hand-in to the vault
	ActIssue    Action = "issue"    // from the vault back to a custodian
)

// transitions is the one table of allowed status changes. Anything not listed is refused.
// Destroyed and retired are terminal. A lost medium that is found comes back as active.
var transitions = map[Status]map[Status]Action{
	StatusActive: {
		StatusLent:      ActLend,
		StatusInVault:   ActCheckIn,
		StatusRepair:    ActRepair,
		StatusLost:      ActLose,
		StatusDestroyed: ActDestroy,
		StatusRetired:   ActRetire,
	},
	StatusLent: {
		StatusActive:  ActReturn,
		StatusInVault: ActCheckIn,
		StatusLost:    ActLose,
	},
	StatusInVault: {
		StatusActive:    ActIssue,
		StatusRepair:    ActRepair,
		StatusLost:      ActLose,
		StatusDestroyed: ActDestroy,
		StatusRetired:   ActRetire,
	},
	StatusRepair: {
		StatusActive:    ActRepaired,
		StatusInVault:   ActCheckIn,
		StatusLost:      ActLose,
		StatusDestroyed: ActDestroy,
		StatusRetired:   ActRetire,
	},
	StatusLost: {
		StatusActive:    ActFound,
		StatusDestroyed: ActDestroy,
		StatusRetired:   ActRetire,
	},
	StatusDestroyed: {},
	StatusRetired:   {},
}

// ActionOf returns the one action that takes a medium from one status to another, if
// any: in-vault → active is an issue, never a "found" or "repaired".
func ActionOf(from, to Status) (Action, bool) {
	a, ok := transitions[from][to]
	return a, ok
}

// CanTransition reports whether a medium may go from one status to another.
func CanTransition(from, to Status) bool {
	_, ok := transitions[from][to]
	return ok
}

// CheckTransition returns nil when from → to is allowed and a wrapped ErrTransition otherwise.
func CheckTransition(from, to Status) error {
	if !from.Valid() || !to.Valid() {
		return fmt.Errorf("%w: %q → %q", ErrTransition, from, to)
	}
	if !CanTransition(from, to) {
		return fmt.Errorf("%w: %s → %s", ErrTransition, from, to)
	}
	return nil
}

// Terminal reports whether no status can follow s.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// InUse reports whether a medium in status s is still held and used by the office:
// active, lent, in the vault or in repair. Lost media and the terminal statuses are not.
func (s Status) InUse() bool { return s.Valid() && !s.Terminal() && s != StatusLost }
