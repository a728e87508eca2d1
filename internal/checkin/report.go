package checkin

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// GroupBy says how a report groups its lines.
type GroupBy string

const (
	ByCustodian  GroupBy = "custodian"
	ByDepartment GroupBy = "department"
)

// ParseGroupBy accepts "custodian" (also "") or "department".
func ParseGroupBy(s string) (GroupBy, error) {
	switch GroupBy(s) {
	case "", ByCustodian:
		return ByCustodian, nil
	case ByDepartment:
		return ByDepartment, nil
	}
	return "", fmt.Errorf("unknown grouping %q (want custodian or department)", s)
}

// Totals counts the items of a report or a group by state. CheckedIn counts plugged
// and manual check-ins; Outstanding counts every medium still to be handed in,
// Overdue the part of those past the deadline.
type Totals struct {
	Expected    int `json:"expected"`
	CheckedIn   int `json:"checked_in"`
	Plugged     int `json:"plugged"`
	Manual      int `json:"manual"`
	Away        int `json:"away"`
	Outstanding int `json:"outstanding"`
	Overdue     int `json:"overdue"`
	Missing     int `json:"missing"`
	Withdrawn   int `json:"withdrawn"`
}

func (t *Totals) add(s State) {
	t.Expected++
	switch s {
	case StateCheckedIn:
		t.CheckedIn++
		t.Plugged++
	case StateManual:
		t.CheckedIn++
		t.Manual++
	case StateAway:
		t.Away++
	case StateOutstanding:
		t.Outstanding++
	case StateOverdue:
		t.Outstanding++
		t.Overdue++
	case StateMissing:
		t.Missing++
	case StateWithdrawn:
		t.Withdrawn++
	}
}

// Left is how many are still to be handed in.
func (t Totals) Left() int { return t.Outstanding }

// Line is one item of a report with its state.
type Line struct {
	Item
	State       State `json:"state"`
	DaysOverdue int   `json:"days_overdue,omitempty"`
}

// Group is the lines of one custodian or department.
type Group struct {
	Key    string `json:"key"`            // custodian handle or department
	Name   string `json:"name,omitempty"` // custodian's full name
	Lines  []Line `json:"lines"`
	Totals Totals `json:"totals"`
}

// Report is a campaign's state at one time.
type Report struct {
	Campaign Campaign  `json:"campaign"`
	AsOf     time.Time `json:"as_of"`
	By       GroupBy   `json:"by"`
	Totals   Totals    `json:"totals"`
	Groups   []Group   `json:"groups"`
}

// Build makes the report of a campaign at now, grouped by custodian or department.
// A closed campaign is reported as of its close. Groups are sorted by key and lines by
// number; items is not modified.
func Build(c Campaign, items []Item, by GroupBy, now time.Time) Report {
	if !c.IsOpen() {
		now = c.Closed
	}
	if by == "" {
		by = ByCustodian
	}
	r := Report{Campaign: c, AsOf: now, By: by, Groups: []Group{}}
	index := map[string]int{}
	for _, it := range items {
		key := it.Custodian
		if by == ByDepartment {
			key = it.Department
		}
		gi, ok := index[key]
		if !ok {
			gi = len(r.Groups)
			index[key] = gi
			g := Group{Key: key}
			if by == ByCustodian {
				g.Name = it.CustodianName
			}
			r.Groups = append(r.Groups, g)
		}
		st := StateOf(it, c, now)
		l := Line{Item: it, State: st}
		if st == StateOverdue {
			l.DaysOverdue = DaysOverdue(c.Deadline, now)
		}
		g := &r.Groups[gi]
		g.Lines = append(g.Lines, l)
		g.Totals.add(st)
		r.Totals.add(st)
	}
	slices.SortFunc(r.Groups, func(a, b Group) int { return cmp.Compare(a.Key, b.Key) })
	for _, g := range r.Groups {
		if !slices.IsSortedFunc(g.Lines, byNumber) {
			slices.SortFunc(g.Lines, byNumber)
		}
	}
	return r
}

func byNumber(a, b Line) int { return cmp.Compare(a.Number, b.Number) }

// Pending returns the report's lines still to be handed in, by number.
func (r Report) Pending() []Line {
	var out []Line
	for _, g := range r.Groups {
		for _, l := range g.Lines {
			if l.State.Pending() {
				out = append(out, l)
			}
		}
	}
	slices.SortFunc(out, byNumber)
	return out
}
