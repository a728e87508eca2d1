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
)

// TestHostClientAgainstTheServer runs the host side (internal/hostclient) against this
// server: enrolment with the CA fingerprint (the server presents the CA in its chain),
// the first policy, a registration reaching the host's follower, a report.
func TestHostClientAgainstTheServer(t *testing.T) {
	o := startOffice(t)
	token := o.addHost("HOST-07", media.Secret)
	dir := filepath.Join(t.TempDir(), "office")
	res, err := hostclient.Enroll(t.Context(), hostclient.EnrollOptions{Server: o.url, Token: token,
		Fingerprint: pki.Fingerprint(o.keys.CA.Cert), Host: "HOST-07", Dir: dir, Baseline: []string{"wwn:0x5000c500a1b2c3d4"}})
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	if res.PolicyErr != nil || res.Policy == nil {
		t.Fatalf("first policy: %v", res.PolicyErr)
	}
	st, err := hostclient.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hostclient.NewClient(st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	applied := make(chan *policydoc.Policy, 4)
	f := hostclient.NewFollower(hostclient.FollowerConfig{State: st, Client: c, Wait: 5 * time.Second,
		Apply:  func(_ context.Context, p *policydoc.Policy) { applied <- p },
		Record: func(context.Context, event.Kind, any) error { return nil }})
	if err := f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := <-applied
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	m := o.register(t, "4C5300011234", media.Secret)
	select {
	case p := <-applied:
		if p.Document.Version <= first.Document.Version {
			t.Errorf("version %d after %d", p.Document.Version, first.Document.Version)
		}
		found := false
		for _, pm := range p.Document.Media {
			found = found || pm.Number == m.Number
		}
		if !found {
			t.Errorf("the registered medium %s is not in the host's policy", m.Number)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the registration did not reach the host")
	}
	id, err := c.Request(t.Context(), hostclient.Request{Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C5300019999", Serial: "4C5300019999",
		VendorID: "0781", ProductID: "5567"}, Level: media.Secret, Purpose: "host side test", Requester: "alice"})
	if err != nil || id == "" {
		t.Errorf("registration request: %q, %v", id, err)
	}
	if _, err := c.Report(t.Context(), hostclient.Report{Daemon: "running", PolicyVersion: f.Status().PolicyVersion,
		Seen: []hostclient.Seen{{Medium: m.Number, Key: m.Identity.Key, Decision: "allow", Reason: "allowed", Time: time.Now().UTC()}}}); err != nil {
		t.Errorf("report: %v", err)
	}
}
