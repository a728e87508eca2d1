package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/checkin"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/service"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// refusals returns the reasons of the checkin.refused rows, oldest first.
func (b *bed) refusals() []string {
	b.t.Helper()
	ev, err := b.svc.Events(b.ctx, service.EventFilter{Kind: "checkin.refused"})
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, e := range ev {
		out = append(out, e.Medium+"|"+string(e.Details))
	}
	return out
}

// TestCheckInPlug runs the plug check-in (CLI and vault station alike) over the
// identity cases, among them the two the old comparator let through.
func TestCheckInPlug(t *testing.T) {
	const good = "4C530001231120109142"
	for _, tc := range []struct {
		name    string
		seen    func(media.Identity) media.Identity
		number  string // as the officer names it
		wait    bool
		code    string // service.Error code, or "" for a check-in
		pending bool
	}{
		{name: "the registered stick", seen: func(id media.Identity) media.Identity { return id }},
		{name: "stick now also presents a wireless interface", code: "err.ci-mismatch",
			seen: func(id media.Identity) media.Identity {
				id.InterfaceClasses = []int{policy.ClassMassStorage, policy.ClassWireless}
				return id
			}},
		{name: "clone with the registered serial, capacity not read yet", code: "err.ci-mismatch",
			seen: func(id media.Identity) media.Identity { id.Capacity = 0; return id }},
		{name: "clone at the USB stage of the vault station waits", wait: true, pending: true,
			seen: func(id media.Identity) media.Identity { id.Capacity = 0; return id }},
		{name: "clone with another capacity", code: "err.ci-mismatch",
			seen: func(id media.Identity) media.Identity { id.Capacity = 8 << 30; return id }},
		{name: "unregistered", code: "err.ci-unregistered",
			seen: func(media.Identity) media.Identity { return stick("A0000000000000000001", 16<<30) }},
		{name: "not the number named", number: "S-2026-0099", code: "err.ci-mismatch",
			seen: func(id media.Identity) media.Identity { return id }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			m := b.register(good, 16<<30)
			if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
				t.Fatal(err)
			}
			n0 := b.rec.count()
			res, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: tc.seen(m.Identity), Device: "/dev/sdb",
				Number: tc.number, WaitPending: tc.wait, Cabinet: "A", Slot: "3"})
			rep, rerr := b.svc.CampaignReport(b.ctx, 0, checkin.ByCustodian)
			if rerr != nil {
				t.Fatal(rerr)
			}
			refused := b.refusals()
			switch {
			case tc.code != "":
				if code(err) != tc.code {
					t.Fatalf("CheckInPlug = %v; want %s", err, tc.code)
				}
				if len(refused) != 1 || rep.Totals.CheckedIn != 0 {
					t.Errorf("refusal logged %q, checked in %d; want one refusal, none in", refused, rep.Totals.CheckedIn)
				}
			case tc.pending:
				if err != nil || !res.Pending || len(refused) != 0 || rep.Totals.CheckedIn != 0 {
					t.Errorf("pending: %+v, %v, refused %q, in %d", res, err, refused, rep.Totals.CheckedIn)
				}
			default:
				if err != nil || res.CheckIn.Number != m.Number || res.Left != 0 || rep.Totals.Plugged != 1 {
					t.Fatalf("check-in: %+v, %v; plugged %d", res, err, rep.Totals.Plugged)
				}
				if b.rec.count() != n0+1 {
					t.Error("a check-in did not tell the daemon to decide again")
				}
			}
		})
	}
}

func TestCheckInPlugNotExpectedAndClaim(t *testing.T) {
	b := newBed(t)
	if _, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("4C530001231120109142", 0)}); !errors.Is(err, service.ErrNoCampaign) {
		t.Errorf("no campaign: %v", err)
	}
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	late := b.register("4C530001231120109142", 0) // registered after the campaign opened
	_, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: late.Identity, Device: "usb:2-1"})
	if !errors.Is(err, service.ErrNotExpected) {
		t.Fatalf("not expected: %v", err)
	}
	if r := b.refusals(); len(r) != 1 || !bytes.Contains([]byte(r[0]), []byte(service.WhyNotExpected)) {
		t.Errorf("refusals %q", r)
	}
	// A claim that says no writes nothing, refusal or check-in.
	res, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("A0000000000000000001", 0), Claim: func() bool { return false }})
	if err != nil || !res.Dropped || len(b.refusals()) != 1 {
		t.Errorf("dropped: %+v, %v, refusals %d", res, err, len(b.refusals()))
	}
}

// fixedReport is a final report with every state, built from fixed values.
func fixedReport() checkin.Report {
	opened := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	closed := time.Date(2027, 1, 5, 17, 30, 0, 0, time.UTC)
	c := checkin.Campaign{ID: "c-2026", Year: 2026, Opened: opened, Deadline: time.Date(2026, 12, 31, 23, 59, 59, 999e6, time.UTC), Closed: closed}
	item := func(num, cust, dept string, st media.Status, ci *checkin.CheckIn, out checkin.Outcome) checkin.Item {
		return checkin.Item{Number: num, Kind: media.KindUSBDisk, Level: media.Secret, Custodian: cust, CustodianName: "姓名 " + cust,
			Department: dept, Status: st, StatusAtOpen: media.StatusActive, CheckIn: ci, Outcome: out}
	}
	at := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	items := []checkin.Item{
		item("S-2026-0001", "zhang", "办公室", media.StatusInVault, &checkin.CheckIn{Number: "S-2026-0001", At: at, Source: checkin.SourcePlugged, Cabinet: "A", Slot: "3"}, checkin.OutcomeVault),
		item("S-2026-0002", "zhang", "办公室", media.StatusInVault, &checkin.CheckIn{Number: "S-2026-0002", At: at, Source: checkin.SourceManual, Manual: true, Reason: "光盘破裂", By: "li"}, checkin.OutcomeVault),
		item("S-2026-0003", "li", "保密办", media.StatusLost, nil, checkin.OutcomeMissing),
	}
	return checkin.Build(c, items, checkin.ByCustodian, closed)
}

// TestFinalReportBytesGolden pins the canonical bytes of the final report: their
// SHA-256 is in the audit log of every closed campaign, so they must never change.
func TestFinalReportBytesGolden(t *testing.T) {
	got, err := service.FinalReportBytes(fixedReport())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := service.FinalReportBytes(fixedReport())
	if !bytes.Equal(got, again) {
		t.Fatal("the same report encodes to different bytes")
	}
	golden := filepath.Join("testdata", "final-report.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("final report bytes changed; closed campaigns would no longer verify\n got: %s\nwant: %s", got, want)
	}
}

// TestCloseSavesCanonicalReport closes a campaign and checks the saved report is the
// canonical encoding of the final report, with its SHA-256 on the campaign and in the log.
func TestCloseSavesCanonicalReport(t *testing.T) {
	b := newBed(t)
	in := b.register("4C530001231120109142", 0)
	b.register("4C530001231120109143", 0)
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: in.Identity}); err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(24 * time.Hour)
	res, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{Early: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Vault != 1 || res.Missing != 1 {
		t.Errorf("closed: %d in vault, %d missing", res.Vault, res.Missing)
	}
	canon, _ := service.FinalReportBytes(res.Final)
	saved, c, err := b.svc.FinalReport(b.ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(saved)
	if !bytes.Equal(saved, canon) || hex.EncodeToString(sum[:]) != c.ReportSHA256 {
		t.Errorf("saved report is not the canonical bytes or its hash differs")
	}
	ev, _ := b.svc.Events(b.ctx, service.EventFilter{Kind: "checkin.close"})
	if len(ev) != 1 || !bytes.Contains(ev[0].Details, []byte(c.ReportSHA256)) {
		t.Errorf("checkin.close row does not carry the report hash: %v", ev)
	}
}

func TestOpenCampaignDefaultDeadline(t *testing.T) {
	b := newBed(t)
	res, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 31, 23, 59, 59, 999e6, time.UTC)
	if res.Campaign.Year != 2026 || !res.Campaign.Deadline.Equal(want) {
		t.Errorf("campaign %d, deadline %v; want 2026, %v", res.Campaign.Year, res.Campaign.Deadline, want)
	}
	if _, err := b.svc.OpenCampaign(context.Background(), service.OpenCampaignRequest{Year: 99999}); !errors.Is(err, service.ErrBadRequest) {
		t.Errorf("year 99999: %v", err)
	}
}

// TestCloseBeforeDeadline: before the deadline a close is refused unless confirmed
// (Early) and changes nothing; PlanClose says exactly what the close then does.
func TestCloseBeforeDeadline(t *testing.T) {
	b := newBed(t)
	in := b.register("4C530001231120109142", 0)
	out := b.register("4C530001231120109143", 0)
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: in.Identity}); err != nil {
		t.Fatal(err)
	}
	before, _ := b.svc.Events(b.ctx, service.EventFilter{})
	_, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{})
	var se *service.Error
	if !errors.As(err, &se) || se.Code != "err.ci-close-early" || !errors.Is(err, service.ErrRefused) {
		t.Fatalf("close before the deadline: %v; want err.ci-close-early", err)
	}
	after, _ := b.svc.Events(b.ctx, service.EventFilter{})
	if len(after) != len(before) {
		t.Errorf("a refused close wrote %d audit rows", len(after)-len(before))
	}
	plan, err := b.svc.PlanClose(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.BeforeDeadline || plan.Vault != 1 || plan.Missing != 1 || len(plan.MissingItems) != 1 || plan.MissingItems[0].Number != out.Number {
		t.Errorf("plan %+v; want before deadline, 1 in vault, %s missing", plan, out.Number)
	}
	if n, _ := b.svc.Events(b.ctx, service.EventFilter{}); len(n) != len(before) {
		t.Errorf("PlanClose wrote audit rows")
	}
	res, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{Early: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Vault != plan.Vault || res.Missing != plan.Missing || res.Away != plan.Away || res.Withdrawn != plan.Withdrawn {
		t.Errorf("close %+v differs from its plan %+v", res.CloseResult, plan)
	}

	// After the deadline no confirmation is needed.
	if _, err := b.svc.Issue(b.ctx, service.IssueRequest{Number: in.Number, To: "zhang"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2027}); err != nil {
		t.Fatal(err)
	}
	b.now = time.Date(2028, 1, 2, 0, 0, 0, 0, time.UTC)
	if plan, err := b.svc.PlanClose(b.ctx); err != nil || plan.BeforeDeadline {
		t.Errorf("plan after the deadline: %+v, %v", plan, err)
	}
	if _, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{}); err != nil {
		t.Errorf("close after the deadline: %v", err)
	}
}
