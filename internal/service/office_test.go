package service_test

import (
	"errors"
	"testing"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/service"
)

func TestOfficeHostAndToken(t *testing.T) {
	b := newBed(t)
	before := b.rec.count()
	for _, bad := range []service.AddHostRequest{
		{Number: "", Level: media.Secret},
		{Number: "H1", Level: media.Level(9)},
		{Number: "H1", Level: media.Secret, Mode: "sometimes"},
		{Number: "H1", Level: media.Secret, AllowDevices: []string{"046d:c52b"}}, // no interfaces: nothing to pin on a server
	} {
		if _, err := b.svc.AddOfficeHost(b.ctx, bad); !errors.Is(err, service.ErrBadRequest) {
			t.Errorf("AddOfficeHost(%+v) = %v; want a bad request", bad, err)
		}
	}
	res, err := b.svc.AddOfficeHost(b.ctx, service.AddHostRequest{Number: "HOST-07", Level: media.Secret, Custodian: "zhang",
		AllowDevices: []string{"046d:c52b=03/01/01"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Token) < 32 || !res.Expires.Equal(b.now.Add(service.DefaultTokenTTL)) || b.rec.count() != before+1 {
		t.Errorf("token %q expires %v; changed %d times", res.Token, res.Expires, b.rec.count()-before)
	}
	if len(res.Host.DevicePins) != 1 {
		t.Errorf("pins %+v", res.Host.DevicePins)
	}
	if _, err := b.svc.Enrol(b.ctx, service.EnrolRequest{Host: "HOST-07", Token: res.Token + "x", CertSerial: "1"}); !errors.Is(err, service.ErrBadToken) {
		t.Errorf("wrong token = %v", err)
	}
	h, err := b.svc.Enrol(b.ctx, service.EnrolRequest{Host: "HOST-07", Token: res.Token, CertSerial: "1", Baseline: []string{"wwn:0x1"}})
	if err != nil || h.CertSerial != "1" {
		t.Fatalf("Enrol = %+v, %v", h, err)
	}
	if _, err := b.svc.Enrol(b.ctx, service.EnrolRequest{Host: "HOST-07", Token: res.Token, CertSerial: "2"}); !errors.Is(err, service.ErrBadToken) {
		t.Errorf("reused token = %v", err)
	}
	if _, err := b.svc.Enrol(b.ctx, service.EnrolRequest{Host: "HOST-07", Token: res.Token, Baseline: []string{"bad\x00key"}}); !errors.Is(err, service.ErrBadRequest) {
		t.Errorf("control characters in the baseline = %v", err)
	}
}

func TestHostReportClock(t *testing.T) {
	b := newBed(t)
	if _, err := b.svc.AddOfficeHost(b.ctx, service.AddHostRequest{Number: "HOST-07", Level: media.Secret}); err != nil {
		t.Fatal(err)
	}
	m := b.register("4C530001231120109142", 0)
	// A host whose clock runs three hours ahead: its sighting is dated at the
	// server's time, not in the future.
	err := b.svc.RecordHostReport(b.ctx, "HOST-07", service.HostReport{Daemon: "running", PolicyVersion: 4,
		Seen: []service.Seen{{Medium: m.Number, Key: m.Identity.Key, Decision: "allow", Time: b.now.Add(3 * time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	seen, err := b.svc.SeenWhere(b.ctx, m.Number)
	if err != nil || len(seen) != 1 || !seen[0].Time.Equal(b.now) || seen[0].Host != "HOST-07" {
		t.Errorf("SeenWhere = %+v, %v", seen, err)
	}
	for _, bad := range []service.HostReport{
		{Daemon: "running\x1b[2J"},
		{Seen: []service.Seen{{Medium: "S-1", Decision: "perhaps"}}},
		{Seen: make([]service.Seen, 1001)},
	} {
		if err := b.svc.RecordHostReport(b.ctx, "HOST-07", bad); !errors.Is(err, service.ErrBadRequest) {
			t.Errorf("report %.60v = %v; want a bad request", bad, err)
		}
	}
}

func TestRegistrationRequestRules(t *testing.T) {
	b := newBed(t)
	// A weak serial is refused at approval as at registration.
	r, err := b.svc.SubmitRegistration(b.ctx, "HOST-07", service.SubmitRequest{Identity: stick("", 0), Level: media.Secret, Purpose: "p", Requester: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.ApproveRegistration(b.ctx, service.ApproveRequest{ID: r.ID, Custodian: "zhang"}); code(err) != "err.weak-serial" {
		t.Errorf("approving a weak serial = %v", err)
	}
	if _, err := b.svc.RejectRegistration(b.ctx, r.ID, " "); !errors.Is(err, service.ErrBadRequest) {
		t.Errorf("reject without a reason = %v", err)
	}
	if _, err := b.svc.RejectRegistration(b.ctx, r.ID, "no serial"); err != nil {
		t.Fatal(err)
	}
	// A registered medium cannot be requested.
	m := b.register("4C530001231120109142", 0)
	if _, err := b.svc.SubmitRegistration(b.ctx, "HOST-07", service.SubmitRequest{Identity: m.Identity, Level: media.Secret}); code(err) != "err.request-registered" {
		t.Errorf("request for %s = %v", m.Number, err)
	}
	// A good one is registered with the host's identity and the officer's custodian.
	r2, err := b.svc.SubmitRegistration(b.ctx, "HOST-07", service.SubmitRequest{Identity: stick("60A44C413A8FF0B0E9A30027", 0), Level: media.Confidential, Purpose: "项目"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.ApproveRegistration(b.ctx, service.ApproveRequest{ID: r2.ID, Custodian: "li"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Medium.Custodian != "li" || res.Medium.Level != media.Confidential || res.Medium.Note != "项目" || res.Request.State != service.RequestApproved {
		t.Errorf("approved: %+v", res)
	}
	pending, _ := b.svc.Requests(b.ctx, service.RequestPending)
	if len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}
