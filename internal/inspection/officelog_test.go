package inspection_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/service"
)

func origins(events []*audit.Event) string {
	var out []string
	for _, e := range events {
		o := e.Origin
		if o == "" {
			o = "office"
		}
		out = append(out, o+":"+string(e.Kind))
	}
	return strings.Join(out, ",")
}

// TestOfficeWideLog: on the office's register the log spans the hosts' collected
// rows with the log's filters; --host names a host's own log; media show lists a
// medium's mounts on every host.
func TestOfficeWideLog(t *testing.T) { engines(t, testOfficeWideLog) }

func testOfficeWideLog(t *testing.T, o *office) {
	q := func(q service.EventQuery) []*audit.Event {
		t.Helper()
		ev, err := o.svc.SearchEvents(o.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	own := q(service.EventQuery{})
	all := q(service.EventQuery{AllHosts: true})
	if len(all) != len(own)+11 {
		t.Fatalf("all hosts: %d rows, own %d + 11 collected", len(all), len(own))
	}
	if !slices.IsSortedFunc(all, func(a, b *audit.Event) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("the office-wide log is not in time order: %s", origins(all))
	}
	for _, e := range own {
		if e.Origin != "" {
			t.Errorf("own row %d has origin %q", e.Seq, e.Origin)
		}
	}
	// A host of the office: its collected log, and the office's rows about it.
	h7 := q(service.EventQuery{Host: "HOST-07"})
	collected := 0
	for _, e := range h7 {
		switch e.Origin {
		case "HOST-07":
			collected++
		case "":
			if !strings.HasPrefix(string(e.Kind), "office.") {
				t.Errorf("--host HOST-07 found the office's %s row", e.Kind)
			}
		default:
			t.Errorf("--host HOST-07 found a row of %s", e.Origin)
		}
	}
	if collected != 6 || len(h7) != 8 { // and office.host-add, office.host-token
		t.Errorf("--host HOST-07: %s", origins(h7))
	}
	// Filters apply to the collected rows as to the office's own.
	year := service.EventFilter{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := year
	m.Medium, m.Kind = "S-2026-0001", "mount."
	if got := origins(q(service.EventQuery{EventFilter: m, AllHosts: true})); got != "HOST-07:mount.attach,HOST-07:mount.detach,HOST-09:mount.violation,HOST-09:mount.attach,HOST-07:mount.attach" {
		t.Errorf("mounts of S-2026-0001 in 2026: %s", got)
	}
	if got := origins(q(service.EventQuery{EventFilter: service.EventFilter{Kind: "mount.", Limit: 2}, AllHosts: true})); got != "HOST-09:mount.attach,HOST-07:mount.attach" {
		t.Errorf("the newest 2 mount rows: %s", got)
	}
	if got := q(service.EventQuery{Custodian: "zhang", AllHosts: true, NoOwn: true}); len(got) != 0 {
		t.Errorf("collected rows naming custodian zhang: %s (the test's rows name none)", origins(got))
	}
	if got := origins(q(service.EventQuery{Person: "zhang", NoOwn: true})); got != "" {
		t.Errorf("collected rows of person zhang: %s", got)
	}
	// media show: the medium's mounts on every host.
	mh, err := o.svc.ShowMedium(o.ctx, "C-2026-0001")
	if err != nil {
		t.Fatal(err)
	}
	if got := origins(mh.Mounts); got != "HOST-09:mount.attach,HOST-09:mount.attach,HOST-09:mount.detach" {
		t.Errorf("media show C-2026-0001 mounts: %s", got)
	}
	for _, e := range mh.History {
		if e.Origin != "" {
			t.Errorf("history row from %s", e.Origin)
		}
	}
}
