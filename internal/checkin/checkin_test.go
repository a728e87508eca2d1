package checkin

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediagate/internal/media"
)

var (
	opened   = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	deadline = time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	camp     = Campaign{ID: "c1", Year: 2026, Opened: opened, Deadline: deadline}
)

func item(num, cust, dept string, st media.Status, ci *CheckIn) Item {
	return Item{Number: num, Kind: media.KindUSBDisk, Level: media.Secret, Custodian: cust, CustodianName: "Name " + cust,
		Department: dept, Status: st, StatusAtOpen: st, CheckIn: ci}
}

func TestStateOf(t *testing.T) {
	plugged := &CheckIn{Source: SourcePlugged}
	manual := &CheckIn{Source: SourceManual, Manual: true, Reason: "cracked"}
	away := &CheckIn{Source: SourceManual, Manual: true, Away: true}
	before, after := deadline.Add(-time.Hour), deadline.Add(50*time.Hour)
	tests := []struct {
		name string
		it   Item
		now  time.Time
		want State
	}{
		{"plugged", item("A", "a", "", media.StatusActive, plugged), before, StateCheckedIn},
		{"plugged after deadline is still in", item("A", "a", "", media.StatusActive, plugged), after, StateCheckedIn},
		{"manual", item("A", "a", "", media.StatusLent, manual), before, StateManual},
		{"away", item("A", "a", "", media.StatusRepair, away), before, StateAway},
		{"outstanding", item("A", "a", "", media.StatusActive, nil), before, StateOutstanding},
		{"at the deadline is not overdue", item("A", "a", "", media.StatusActive, nil), deadline, StateOutstanding},
		{"overdue", item("A", "a", "", media.StatusLent, nil), after, StateOverdue},
		{"repair outstanding", item("A", "a", "", media.StatusRepair, nil), before, StateOutstanding},
		{"lost since open", item("A", "a", "", media.StatusLost, nil), after, StateWithdrawn},
		{"destroyed since open", item("A", "a", "", media.StatusDestroyed, nil), before, StateWithdrawn},
		{"missing after close", Item{Status: media.StatusLost, Outcome: OutcomeMissing}, after, StateMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StateOf(tt.it, camp, tt.now); got != tt.want {
				t.Errorf("StateOf = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestDaysOverdue(t *testing.T) {
	for _, tt := range []struct {
		now  time.Time
		want int
	}{
		{deadline.Add(-time.Second), 0}, {deadline, 0}, {deadline.Add(time.Second), 1},
		{deadline.Add(24 * time.Hour), 1}, {deadline.Add(24*time.Hour + time.Second), 2},
	} {
		if got := DaysOverdue(deadline, tt.now); got != tt.want {
			t.Errorf("DaysOverdue(%v) = %d; want %d", tt.now.Sub(deadline), got, tt.want)
		}
	}
}

func TestClosePlan(t *testing.T) {
	plugged := &CheckIn{Source: SourcePlugged}
	away := &CheckIn{Source: SourceManual, Manual: true, Away: true}
	tests := []struct {
		name    string
		st      media.Status
		ci      *CheckIn
		want    media.Status
		outcome Outcome
	}{
		{"active checked in", media.StatusActive, plugged, media.StatusInVault, OutcomeVault},
		{"lent checked in", media.StatusLent, plugged, media.StatusInVault, OutcomeVault},
		{"repair checked in", media.StatusRepair, plugged, media.StatusInVault, OutcomeVault},
		{"repair away keeps status", media.StatusRepair, away, media.StatusRepair, OutcomeAway},
		{"checked in then destroyed", media.StatusDestroyed, plugged, media.StatusDestroyed, OutcomeWithdrawn},
		{"active missing", media.StatusActive, nil, media.StatusLost, OutcomeMissing},
		{"lent missing", media.StatusLent, nil, media.StatusLost, OutcomeMissing},
		{"repair missing", media.StatusRepair, nil, media.StatusLost, OutcomeMissing},
		{"already lost", media.StatusLost, nil, media.StatusLost, OutcomeWithdrawn},
		{"retired", media.StatusRetired, nil, media.StatusRetired, OutcomeWithdrawn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, out := ClosePlan(item("A", "a", "", tt.st, tt.ci))
			if to != tt.want || out != tt.outcome {
				t.Errorf("ClosePlan = %s, %s; want %s, %s", to, out, tt.want, tt.outcome)
			}
			if to != tt.st {
				if err := media.CheckTransition(tt.st, to); err != nil {
					t.Errorf("plan breaks the transition table: %v", err)
				}
			}
		})
	}
}

func TestBuild(t *testing.T) {
	items := []Item{
		item("S-0003", "zhang", "Office", media.StatusActive, nil),
		item("S-0001", "zhang", "Office", media.StatusActive, &CheckIn{Source: SourcePlugged}),
		item("S-0002", "li", "Lab", media.StatusLent, &CheckIn{Source: SourceManual, Manual: true}),
		item("S-0004", "li", "Office", media.StatusRepair, nil),
		item("S-0005", "wang", "Lab", media.StatusLost, nil),
	}
	now := deadline.Add(36 * time.Hour)
	r := Build(camp, items, ByCustodian, now)
	want := Totals{Expected: 5, CheckedIn: 2, Plugged: 1, Manual: 1, Outstanding: 2, Overdue: 2, Withdrawn: 1}
	if r.Totals != want {
		t.Errorf("totals = %+v; want %+v", r.Totals, want)
	}
	var keys []string
	for _, g := range r.Groups {
		keys = append(keys, fmt.Sprintf("%s:%d/%d", g.Key, g.Totals.Expected, g.Totals.Outstanding))
	}
	if got := strings.Join(keys, " "); got != "li:2/1 wang:1/0 zhang:2/1" {
		t.Errorf("groups = %s", got)
	}
	if z := r.Groups[2]; z.Name != "Name zhang" || z.Lines[0].Number != "S-0001" || z.Lines[1].DaysOverdue != 2 {
		t.Errorf("zhang's group = %+v", z)
	}
	byDept := Build(camp, items, ByDepartment, now)
	if len(byDept.Groups) != 2 || byDept.Groups[0].Key != "Lab" || byDept.Groups[1].Totals.Expected != 3 || byDept.Groups[0].Name != "" {
		t.Errorf("by department = %+v", byDept.Groups)
	}
	if p := r.Pending(); len(p) != 2 || p[0].Number != "S-0003" || p[1].Number != "S-0004" {
		t.Errorf("pending = %+v", p)
	}
	if items[0].Number != "S-0003" {
		t.Error("Build reordered its input")
	}
	closed := camp
	closed.Closed = deadline.Add(-time.Hour)
	if r := Build(closed, items, ByCustodian, now); !r.AsOf.Equal(closed.Closed) || r.Totals.Overdue != 0 {
		t.Errorf("closed campaign reported as of %v with %d overdue", r.AsOf, r.Totals.Overdue)
	}
}

func TestWriteHTML(t *testing.T) {
	items := []Item{
		item("S-0001", "zhang", "Office", media.StatusActive, &CheckIn{Source: SourceManual, Manual: true, By: "li", Reason: "<cracked>", Cabinet: "A", Slot: "3"}),
		item("S-0002", "zhang", "Office", media.StatusActive, nil),
	}
	var b bytes.Buffer
	tr := func(key string, args ...any) string { return key + fmt.Sprint(args...) }
	if err := WriteHTML(&b, Build(camp, items, ByCustodian, opened), SheetOptions{Lang: "zh", Location: time.UTC}, tr); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`<html lang="zh-CN">`, "size: A4", "sheet.sign-custodian", "sheet.sign-inspector", "sheet.sign-officer", "level.secret",
		"&lt;cracked&gt;", "A / 3", "state.manual", `class="pending"`} {
		if !strings.Contains(out, want) {
			t.Errorf("sheet lacks %q", want)
		}
	}
}
