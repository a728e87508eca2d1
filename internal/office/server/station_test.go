package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/media"
	"mediagate/internal/office/pki"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// stationHost enrols a host with hostclient against the real server and runs its
// follower; outcomes receives the server's answer to each check-in.
func stationHost(t *testing.T, o *office, number string, station bool) (*hostclient.Follower, *hostclient.Client, chan hostclient.StationOutcome) {
	t.Helper()
	res, err := o.local.AddOfficeHost(context.Background(), service.AddHostRequest{Number: number, Level: media.Secret, VaultStation: station})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "office")
	if _, err := hostclient.Enroll(t.Context(), hostclient.EnrollOptions{Server: o.url, Token: res.Token,
		Fingerprint: pki.Fingerprint(o.keys.CA.Cert), Host: number, Dir: dir}); err != nil {
		t.Fatalf("enrol: %v", err)
	}
	st, err := hostclient.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hostclient.NewClient(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	outcomes := make(chan hostclient.StationOutcome, 16)
	f := hostclient.NewFollower(hostclient.FollowerConfig{State: st, Client: c, Wait: 5 * time.Second, ReportEvery: time.Hour,
		Apply:     func(context.Context, *policydoc.Policy) {},
		Record:    func(context.Context, event.Kind, any) error { return nil },
		CheckedIn: func(so hostclient.StationOutcome) { outcomes <- so }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f, c, outcomes
}

func outcome(t *testing.T, ch chan hostclient.StationOutcome) hostclient.StationOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(15 * time.Second):
		t.Fatal("no answer to the check-in")
	}
	return hostclient.StationOutcome{}
}

// TestVaultStationChecksInToTheOfficeCampaign: a vault-station host reports what is
// plugged there; the server checks it in to its own campaign with the service's
// rules, once per reported id; a medium not registered is refused with its audit
// row; a host that is not a vault station checks nothing in.
func TestVaultStationChecksInToTheOfficeCampaign(t *testing.T) {
	o := startOffice(t)
	ctx := context.Background()
	m := o.register(t, "4C530001231120109142", media.Secret)
	other := o.register(t, "4C530001231120109143", media.Secret)
	if _, err := o.local.OpenCampaign(ctx, service.OpenCampaignRequest{}); err != nil {
		t.Fatal(err)
	}
	year := o.clock().Year()
	f, c, outs := stationHost(t, o, "HOST-01", true)

	f.CheckIn(hostclient.StationCheckIn{ID: "plug-1", Seen: m.Identity, Device: "/devices/usb2/2-1"})
	if got := outcome(t, outs); got.ID != "plug-1" || got.Outcome != service.StationCheckedIn || got.Number != m.Number {
		t.Fatalf("check-in = %+v", got)
	}
	rep, err := o.local.CampaignReport(ctx, year, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Expected != 2 || rep.Totals.CheckedIn != 1 || rep.Totals.Plugged != 1 {
		t.Errorf("office campaign after the station's check-in: %+v", rep.Totals)
	}
	rows := func(kind event.Kind) int {
		evs, err := o.local.Events(ctx, service.EventFilter{Kind: string(kind)})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	ins := rows(event.KindCheckinIn)

	// The same report again (its answer lost): the first outcome, nothing written.
	again, err := c.Report(ctx, hostclient.Report{Daemon: "running", CheckIns: []hostclient.StationCheckIn{{ID: "plug-1", Seen: m.Identity}}})
	if err != nil || len(again) != 1 || again[0].Outcome != service.StationCheckedIn {
		t.Fatalf("report sent again: %+v, %v", again, err)
	}
	if n := rows(event.KindCheckinIn); n != ins {
		t.Errorf("a report sent again wrote %d check-in rows", n-ins)
	}

	// Not registered: refused, with the campaign's audit row.
	refusals := rows(event.KindCheckinRefused)
	f.CheckIn(hostclient.StationCheckIn{Seen: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:PRIVATE0001", Serial: "PRIVATE0001"}})
	if got := outcome(t, outs); got.Outcome != service.StationRefused || got.Code == "" {
		t.Errorf("unregistered stick = %+v", got)
	}
	if n := rows(event.KindCheckinRefused); n != refusals+1 {
		t.Errorf("refusal rows: %d new", n-refusals)
	}

	// Another host, not a vault station: nothing checked in.
	f2, _, outs2 := stationHost(t, o, "HOST-02", false)
	f2.CheckIn(hostclient.StationCheckIn{Seen: other.Identity})
	if got := outcome(t, outs2); got.Outcome != service.StationNotStation {
		t.Errorf("check-in from a host that is no vault station = %+v", got)
	}
	if rep, _ := o.local.CampaignReport(ctx, year, ""); rep.Totals.CheckedIn != 1 {
		t.Errorf("checked in after the other host: %+v", rep.Totals)
	}
	// Made a station on the server, its policy says so, and the next plug counts.
	yes := true
	if _, err := o.local.UpdateOfficeHost(ctx, service.UpdateHostRequest{Number: "HOST-02", VaultStation: &yes}); err != nil {
		t.Fatal(err)
	}
	f2.CheckIn(hostclient.StationCheckIn{Seen: other.Identity})
	if got := outcome(t, outs2); got.Outcome != service.StationCheckedIn || got.Number != other.Number {
		t.Errorf("check-in once a station = %+v", got)
	}
	waitPolicy(t, func() bool { p := f2.Current(); return p != nil && p.Document.Profile.VaultStation })
}

func waitPolicy(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the host's policy does not say it is a vault station")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
