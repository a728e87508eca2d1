package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

func TestOfficeEnrolToken(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, c := eng.open(t)
		ctx := context.Background()
		seed(t, s, "zhang")
		h, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "HOST-07", Level: media.Secret}, Custodian: "zhang", Location: "302"},
			"hash-a", c.now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "HOST-07", Level: media.Secret}}, "hash-b", c.now()); !errors.Is(err, ErrDuplicateHost) {
			t.Errorf("second HOST-07 = %v; want ErrDuplicateHost", err)
		}
		if _, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "HOST-08", Level: media.Secret}, Custodian: "nobody"}, "hash-c", c.now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown custodian = %v; want ErrNotFound", err)
		}
		if _, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "HOST-09", Level: media.Secret}}, "hash-9", c.now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s)
		for _, tc := range []struct {
			name, host, hash string
			code             string
		}{
			{"unknown token", "HOST-07", "nope", "err.token-unknown"},
			{"other host's token", "HOST-09", "hash-a", "err.token-other-host"},
			{"unknown host", "HOST-99", "hash-a", "err.token-other-host"},
		} {
			_, err := s.Enrol(ctx, tc.host, tc.hash, "aa", nil, "")
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrBadToken) || e.Code != tc.code {
				t.Errorf("%s: %v; want %s", tc.name, err, tc.code)
			}
		}
		if n := countRows(t, s); n != before {
			t.Errorf("refused enrolments wrote %d rows", n-before)
		}
		got, err := s.Enrol(ctx, "HOST-07", "hash-a", "aa", []string{"wwn:0x1"}, "10.0.0.1:5")
		if err != nil || got.CertSerial != "aa" || got.Enrolled.IsZero() || len(got.Baseline) != 1 {
			t.Fatalf("Enrol = %+v, %v", got, err)
		}
		if _, err := s.Enrol(ctx, "HOST-07", "hash-a", "bb", nil, ""); !errors.Is(err, ErrBadToken) {
			t.Errorf("reused token = %v; want ErrBadToken", err)
		}
		if h2, _ := s.OfficeHost(ctx, "HOST-07"); h2.CertSerial != "aa" {
			t.Errorf("reused token changed the certificate to %q", h2.CertSerial)
		}
		// A new token retires the old ones; an expired one is refused.
		if err := s.AddEnrolToken(ctx, h.Number, "hash-d", c.now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(2 * time.Minute)
		var e *Error
		if _, err := s.Enrol(ctx, "HOST-07", "hash-d", "cc", nil, ""); !errors.As(err, &e) || e.Code != "err.token-expired" {
			t.Errorf("expired token = %v", err)
		}
		r, err := s.RevokeOfficeHost(ctx, "HOST-07", "stolen")
		if err != nil || r.Revoked.IsZero() {
			t.Fatalf("Revoke = %+v, %v", r, err)
		}
		evs, _ := s.Events(ctx, EventFilter{Kind: "office."})
		var kinds []event.Kind
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		want := []event.Kind{event.KindOfficeHostAdd, event.KindOfficeHostToken, event.KindOfficeHostAdd, event.KindOfficeHostToken,
			event.KindOfficeEnroll, event.KindOfficeHostToken, event.KindOfficeHostRevoke}
		if len(kinds) != len(want) {
			t.Fatalf("office rows %v; want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Errorf("row %d = %s; want %s", i, kinds[i], want[i])
			}
		}
	})
}

func countRows(t *testing.T, s *Store) int {
	t.Helper()
	evs, err := s.Events(context.Background(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestOfficeContactAndPolicyVersion(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, c := eng.open(t)
		ctx := context.Background()
		if _, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "H1", Level: media.Secret}}, "t", c.now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		t0 := c.now()
		seen := []Seen{{Medium: "S-1", Key: "usb:1", Decision: "allow", Time: t0}}
		if err := s.HostContact(ctx, "H1", "running", 3, seen); err != nil {
			t.Fatal(err)
		}
		// An older sighting does not replace a newer one.
		if err := s.HostContact(ctx, "H1", "running", 3, []Seen{{Medium: "S-1", Decision: "block", Time: t0.Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.SeenWhere(ctx, "S-1")
		if err != nil || len(got) != 1 || got[0].Decision != "allow" || got[0].Host != "H1" {
			t.Errorf("SeenWhere = %+v, %v", got, err)
		}
		if err := s.HostContact(ctx, "NOPE", "running", 1, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("contact of unknown host = %v", err)
		}
		h, _ := s.OfficeHost(ctx, "H1")
		if h.DaemonState != "running" || h.AppliedVersion != 3 || h.LastContact.IsZero() {
			t.Errorf("host after contact = %+v", h)
		}
		set := func(v uint64, hash string) error {
			return s.SetPolicyVersions(ctx, []PolicyVersion{{Host: "H1", Version: v, Hash: hash, Issued: c.now()}})
		}
		if err := set(2, "x"); err != nil {
			t.Fatal(err)
		}
		if err := set(2, "y"); err == nil {
			t.Error("policy version set twice to 2")
		}
		if err := set(1, "y"); err == nil {
			t.Error("policy version went down")
		}
		if h, _ := s.OfficeHost(ctx, "H1"); h.PolicyVersion != 2 || h.PolicyHash != "x" {
			t.Errorf("after refused updates: version %d hash %q", h.PolicyVersion, h.PolicyHash)
		}
	})
}

func TestOfficeRequests(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		r, err := s.AddRequest(ctx, Request{Host: "H1", Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:1:2:3"}, Level: media.Secret,
			Purpose: "p", Requester: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRequest(ctx, Request{Host: "H1", Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:1"}, Level: media.Secret,
			Purpose: "bad\x1b[31m"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("control characters = %v; want ErrInvalid", err)
		}
		list, _ := s.ListRequests(ctx, RequestPending)
		if len(list) != 1 || list[0].ID != r.ID || list[0].Identity.Key != "usb:1:2:3" {
			t.Fatalf("pending = %+v", list)
		}
		if _, err := s.DecideRequest(ctx, r.ID, false, "", "", "private stick"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideRequest(ctx, r.ID, true, "S-1", "zhang", ""); !errors.Is(err, ErrRequestDecided) {
			t.Errorf("deciding twice = %v", err)
		}
		got, _ := s.Request(ctx, r.ID)
		if got.State != RequestRejected || got.Reason != "private stick" {
			t.Errorf("request = %+v", got)
		}
	})
}

// TestApproveRequestIsOneTransaction: the request, the medium, its number and both
// audit rows are written together. A failure after the medium is registered, or a
// registration that fails, leaves the request pending, no medium, no number used
// and no audit row; the approval then succeeds once and only once.
func TestApproveRequestIsOneTransaction(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		seed(t, s, "zhang")
		id := usb("4C530001231120109142")
		r, err := s.AddRequest(ctx, Request{Host: "H1", Identity: id, Level: media.Secret, Purpose: "p", Requester: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s)
		next, err := s.NextNumbers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unchanged := func(what string) {
			t.Helper()
			if got, _ := s.Request(ctx, r.ID); got.State != RequestPending || got.Number != "" {
				t.Errorf("%s: request = %+v, want pending", what, got)
			}
			if _, err := s.MediumByIdentity(ctx, id.Key); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: medium registered: %v", what, err)
			}
			if n := countRows(t, s); n != before {
				t.Errorf("%s: %d audit rows written", what, n-before)
			}
		}
		boom := errors.New("disk full")
		s.midApprove = func() error { return boom }
		if _, _, err := s.ApproveRequest(ctx, r.ID, Registration{Level: media.Secret, Custodian: "zhang"}); !errors.Is(err, boom) {
			t.Fatalf("approve with a failure in the middle = %v", err)
		}
		unchanged("failure after the registration")
		s.midApprove = nil
		if _, _, err := s.ApproveRequest(ctx, r.ID, Registration{Level: media.Secret, Custodian: "nobody"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("approve for an unknown custodian = %v", err)
		}
		unchanged("registration refused")

		got, m, err := s.ApproveRequest(ctx, r.ID, Registration{Level: media.Secret, Custodian: "zhang", Identity: usb("OTHER")})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != RequestApproved || got.Number != m.Number || m.Identity.Key != id.Key || m.Custodian != "zhang" {
			t.Errorf("approved %+v, medium %+v", got, m)
		}
		// The failed attempts used no number.
		if m.Number != next[media.Secret] {
			t.Errorf("approved as %s; the next secret number was %s", m.Number, next[media.Secret])
		}
		evs, _ := s.Events(ctx, EventFilter{})
		var kinds []event.Kind
		for _, e := range evs[before:] {
			kinds = append(kinds, e.Kind)
		}
		if len(kinds) < 2 || kinds[0] != event.KindMediumRegister || kinds[1] != event.KindOfficeRequestApprove {
			t.Errorf("audit rows of the approval = %v", kinds)
		}
		after := countRows(t, s)
		if _, _, err := s.ApproveRequest(ctx, r.ID, Registration{Level: media.Secret, Custodian: "zhang"}); !errors.Is(err, ErrRequestDecided) {
			t.Errorf("approving twice = %v", err)
		}
		if n := countRows(t, s); n != after {
			t.Errorf("second approval wrote %d rows", n-after)
		}
	})
}

// TestMediaChangedSinceReadsOnlyTheChanged: the office server asks after every change
// for the media changed since its last look; on SQLite the query must use the index
// on updated (not walk every medium in number order), and the answer is sorted by
// number all the same.
func TestMediaChangedSinceReadsOnlyTheChanged(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	seed(t, s, "zhang")
	for i := range 5 {
		register(t, s, fmt.Sprintf("4C53000123112010%04d", i), media.Secret, "zhang")
	}
	since := c.now().Add(time.Second)
	c.t = since.Add(time.Second)
	b := register(t, s, "4C530001231120109998", media.Confidential, "zhang")
	a := register(t, s, "4C530001231120109999", media.Secret, "zhang")
	got, err := s.MediaChangedSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Number > got[1].Number || (got[0].Number != a.Number && got[0].Number != b.Number) {
		t.Fatalf("changed since = %+v", got)
	}
	rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+mediaChangedSinceQuery, since.UTC().Format(timeLayout))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "INDEX media_updated") {
		t.Errorf("query plan does not use the index on updated:\n%s", strings.Join(plan, "\n"))
	}
}

// TestVaultStationHostsAndTheirCheckIns: a host's vault-station mark is kept and can
// be taken back; a station's check-in id is recorded once, its first outcome kept.
func TestVaultStationHostsAndTheirCheckIns(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, c := eng.open(t)
		ctx := context.Background()
		h, err := s.AddOfficeHost(ctx, OfficeHost{Host: media.Host{Number: "HOST-01", Level: media.Secret, VaultStation: true}}, "hash", c.now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.OfficeHost(ctx, "HOST-01"); !got.VaultStation || !h.VaultStation {
			t.Fatalf("vault station not kept: %+v", got)
		}
		no := false
		if got, err := s.UpdateOfficeHost(ctx, "HOST-01", OfficeHostUpdate{VaultStation: &no}); err != nil || got.VaultStation {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if got, _ := s.OfficeHost(ctx, "HOST-01"); got.VaultStation {
			t.Error("vault station mark not taken back")
		}
		if _, done, err := s.StationCheckInOutcome(ctx, "ci-1"); err != nil || done {
			t.Fatalf("unknown id: done %v, %v", done, err)
		}
		if err := s.RecordStationCheckIn(ctx, "ci-1", "HOST-01", "checked-in"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordStationCheckIn(ctx, "ci-1", "HOST-01", "refused"); err != nil {
			t.Fatalf("the same id again: %v", err)
		}
		if out, done, err := s.StationCheckInOutcome(ctx, "ci-1"); err != nil || !done || out != "checked-in" {
			t.Errorf("outcome = %q %v %v, want the first", out, done, err)
		}
		if err := s.RecordStationCheckIn(ctx, strings.Repeat("x", 65), "HOST-01", "x"); !errors.Is(err, ErrInvalid) {
			t.Errorf("an id of 65 characters: %v", err)
		}
	})
}
