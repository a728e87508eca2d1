package cli

import (
	"context"
	"log/slog"
	"mediagate/internal/daemon"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/media"
	"mediagate/internal/officefake"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// enrol marks e's host as enrolled with an office server (the marker the register
// commands look at; the rest of the enrolment is the hostclient package's).
func (e *env) enrol(server string) {
	e.t.Helper()
	dir := filepath.Join(filepath.Dir(e.db), "office")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	body := `{"server":"` + server + `","host":"HOST-07"}`
	if err := os.WriteFile(filepath.Join(dir, "enrolment.json"), []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func TestRegisterCommandsRefuseOnAnEnrolledHost(t *testing.T) {
	e := newEnv(t)
	e.create()
	if _, stderr, code := e.run("person", "add", "zhang", "--name", "张三"); code != 0 {
		t.Fatalf("person add before enrolment: %d %s", code, stderr)
	}
	e.enrol("https://office.example:8443")
	for _, args := range [][]string{
		{"person", "add", "li", "--name", "李四"},
		{"person", "list"},
		{"host", "init", "--number", "H-1", "--level", "secret"},
		{"media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001", "--level", "secret", "--custodian", "zhang"},
		{"media", "list"},
		{"media", "lost", "S-1"},
		{"numbering", "set", "--pattern", "{LEVEL}-{SEQ}"},
		{"checkin", "open", "--year", "2026"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			_, stderr, code := e.run(args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (%s)", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, "office server https://office.example:8443") || !strings.Contains(stderr, "'"+strings.Join(args[:2], " ")+"'") {
				t.Errorf("message: %s", stderr)
			}
		})
	}
	// media register points at media request too.
	_, stderr, _ := e.run("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "X1", "--level", "secret", "--custodian", "zhang")
	if !strings.Contains(stderr, "media request") {
		t.Errorf("media register does not point at media request: %s", stderr)
	}
	// What is this host's own stays: the log, the audit check.
	if _, stderr, code := e.run("audit", "verify"); code != 0 {
		t.Errorf("audit verify on an enrolled host: %d %s", code, stderr)
	}
	// In Chinese too.
	if _, stderr, code := e.run("--lang", "zh", "media", "list"); code != ExitUsage || !strings.Contains(stderr, "办公室服务器") {
		t.Errorf("zh: %d %s", code, stderr)
	}
}

func TestMediaRequestNeedsAnEnrolment(t *testing.T) {
	e := newEnv(t)
	_, stderr, code := e.run("media", "request", "--from-device", "/dev/sdb", "--level", "secret", "--purpose", "x")
	if code != ExitUsage || !strings.Contains(stderr, "not enrolled") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	_, stderr, code = e.run("media", "request", "--from-device", "/dev/sdb", "--level", "secret")
	if code != ExitUsage || !strings.Contains(stderr, "purpose") {
		t.Errorf("without --purpose: exit %d: %s", code, stderr)
	}
}

func TestEnrollRefusesTwiceAndNeedsAHostNumber(t *testing.T) {
	e := newEnv(t)
	args := []string{"host", "enroll", "--server", "https://127.0.0.1:1", "--token", "t", "--ca-fingerprint", strings.Repeat("ab", 32)}
	_, stderr, code := e.run(append(args, emptyRoots(t)...)...)
	if code != ExitUsage || !strings.Contains(stderr, "--host") {
		t.Errorf("no host number: exit %d: %s", code, stderr)
	}
	e.enrol("https://office.example:8443")
	_, stderr, code = e.run(append(args, "--host", "HOST-07")...)
	if code != ExitUsage || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, "https://office.example:8443") {
		t.Errorf("second enrolment: exit %d: %s", code, stderr)
	}
}

// TestDaemonWiringOnAnEnrolledHost enrols a host with the protocol fake and checks
// what the daemon of that host decides from: the cached policy, re-verified, and the
// follower's status.
func TestDaemonWiringOnAnEnrolledHost(t *testing.T) {
	o, err := officefake.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	doc := policydoc.Document{Host: "HOST-07", Version: 4, Profile: policydoc.Profile{Number: "HOST-07", Level: media.TopSecret, Mode: media.ModeEnforce},
		Media: []policydoc.Medium{{Number: "TS-1", Kind: media.KindUSBDisk, Level: media.TopSecret, Access: media.AccessReadWrite,
			Custodian: "li", Status: media.StatusActive, Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:46f4:0001:W1"}}},
		People: []policydoc.Person{{Handle: "li", Active: true}}}
	if err := o.PublishDoc(doc); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	app := &App{DBPath: e.db, Now: time.Now, Paths: testPaths(t), createRegister: true} // as the daemon opens it
	defer app.close()
	if _, err := hostclient.Enroll(t.Context(), hostclient.EnrollOptions{Server: o.URL(), Token: o.Token("HOST-07"),
		Fingerprint: o.Fingerprint(), Host: "HOST-07", Dir: app.officeDir()}); err != nil {
		t.Fatal(err)
	}
	local, err := app.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	od, err := wireOffice(t.Context(), app, local.Store(), slog.New(slog.DiscardHandler))
	if err != nil || od == nil || od.follower == nil {
		t.Fatalf("wireOffice = %+v, %v", od, err)
	}
	h, err := od.store.Host(t.Context())
	if err != nil || h.Number != "HOST-07" || h.Level != media.TopSecret {
		t.Fatalf("host profile from the policy = %+v, %v", h, err)
	}
	if m, err := od.store.MediumByIdentity(t.Context(), "usb:46f4:0001:W1"); err != nil || m.Number != "TS-1" {
		t.Errorf("medium from the policy = %+v, %v", m, err)
	}
	if st := od.status(); st.Server != o.URL() || st.PolicyVersion != 4 {
		t.Errorf("office status = %+v", st)
	}
	// The policy.applied row of the cache load is in the local log.
	svc, err := app.Service(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Events(t.Context(), service.EventFilter{Kind: string(event.KindPolicyApplied)})
	if err != nil || len(evs) != 1 {
		t.Errorf("policy.applied rows: %d, %v", len(evs), err)
	}
	// A tampered cache leaves the next daemon without a policy: it blocks every medium.
	path := filepath.Join(app.officeDir(), hostclient.FilePolicy)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"signature":"`, `"signature":"AA`, 1)), 0o600)
	od, _ = wireOffice(t.Context(), app, local.Store(), slog.New(slog.DiscardHandler))
	if _, err := od.store.Host(t.Context()); err == nil {
		t.Error("a tampered cache gave the daemon a host profile")
	}
	// The good cache is accepted again; once the local log records a newer version in
	// force, the same file is a rolled-back cache and is refused.
	os.WriteFile(path, b, 0o600)
	od, _ = wireOffice(t.Context(), app, local.Store(), slog.New(slog.DiscardHandler))
	if h, err := od.store.Host(t.Context()); err != nil || h.Number != "HOST-07" {
		t.Fatalf("the good cache again: %+v, %v", h, err)
	}
	st, err := hostclient.Load(app.officeDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Store().RecordEvent(t.Context(), event.KindPolicyApplied, "", event.PolicyApplied{Host: "HOST-07",
		KeyID: st.PolicyKeyID, Previous: 4, Source: event.PolicyFromServer, Version: 6}); err != nil {
		t.Fatal(err)
	}
	od, _ = wireOffice(t.Context(), app, local.Store(), slog.New(slog.DiscardHandler))
	if _, err := od.store.Host(t.Context()); err == nil {
		t.Error("a cache of version 4 after version 6 was in force gave the daemon a host profile")
	}
}

// TestHostCommandsRefuseAPostgreSQLRegister: a classified host's daemon and its
// enrolment need a register in a local file (the policy cache, the host key and the
// disc key live beside it, and a host never waits on the network); with a postgres://
// register they refuse with exit 2 before connecting anywhere, and nothing is read or
// written relative to the working directory.
func TestHostCommandsRefuseAPostgreSQLRegister(t *testing.T) {
	e := newEnv(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	// An enrolment marker in the working directory must not make anything "enrolled".
	if err := os.WriteFile("enrolment.json", []byte(`{"server":"https://evil.example","host":"X"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	pg := "postgres://mediagate@127.0.0.1:1/office?sslmode=disable"
	for _, args := range [][]string{
		{"--db", pg, "daemon"},
		{"--db", pg, "host", "enroll", "--server", "https://10.0.0.5:8443", "--token", "t", "--ca-fingerprint", "ab", "--host", "H-1"},
	} {
		_, stderr, code := e.run(args...)
		if code != ExitUsage || !strings.Contains(stderr, "local file") || !strings.Contains(stderr, "'mediagate "+args[2]) {
			t.Errorf("%v: exit %d: %s", args[2:], code, stderr)
		}
	}
	if _, stderr, code := e.run("--lang", "zh", "--db", pg, "daemon"); code != ExitUsage || !strings.Contains(stderr, "本地文件") {
		t.Errorf("zh: exit %d: %s", code, stderr)
	}
	// media request: not enrolled (the marker in the working directory is no enrolment).
	if _, stderr, code := e.run("--db", pg, "media", "request", "--from-device", "/dev/null", "--level", "secret", "--purpose", "x"); code != ExitUsage ||
		!strings.Contains(stderr, "not enrolled") {
		t.Errorf("media request: exit %d: %s", code, stderr)
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 1 {
		t.Errorf("files written to the working directory: %v", ents)
	}
}

// TestEnrolledVaultStationQueuesForTheOffice: the daemon's vault station on an enrolled
// host decides nothing itself: a plugged device goes to the follower's queue for the
// server (once, as Claim allows), after waiting for the block device when the policy's
// record binds a capacity not readable yet; a standalone host has no station.
func TestEnrolledVaultStationQueuesForTheOffice(t *testing.T) {
	st := &hostclient.State{Enrolment: hostclient.Enrolment{Server: "https://office.example:8443", Host: "HOST-01"}}
	f := hostclient.NewFollower(hostclient.FollowerConfig{State: st, Apply: func(context.Context, *policydoc.Policy) {}})
	o := &officeDaemon{store: daemon.NewPolicyStore(nil, nil), follower: f}
	bound := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:CAP1", Serial: "CAP1", Capacity: 64 << 20}
	o.store.Set(&policydoc.Policy{Document: policydoc.Document{Host: "HOST-01", Version: 1,
		Profile: policydoc.Profile{Number: "HOST-01", Level: media.Secret, Mode: media.ModeEnforce, VaultStation: true},
		Media: []policydoc.Medium{{Number: "S-1", Kind: media.KindUSBDisk, Level: media.Secret, Status: media.StatusActive,
			Custodian: "zhang", Identity: bound}}}})
	station := o.station()
	ctx := context.Background()
	usbStage := bound
	usbStage.Capacity = 0
	if res, err := station.CheckInPlug(ctx, service.PlugRequest{Seen: usbStage, WaitPending: true}); err != nil || !res.Pending {
		t.Errorf("capacity not readable yet: %+v, %v; want pending", res, err)
	}
	claimed := false
	claim := func() bool { defer func() { claimed = true }(); return !claimed }
	for range 2 { // the USB and the block-device stage: one check-in
		if _, err := station.CheckInPlug(ctx, service.PlugRequest{Seen: bound, Device: "/devices/usb2/2-1", WaitPending: true, Claim: claim}); err != nil {
			t.Fatal(err)
		}
	}
	unknown := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:PRIV"}
	if res, err := station.CheckInPlug(ctx, service.PlugRequest{Seen: unknown, WaitPending: true}); err != nil || !res.Queued {
		t.Errorf("an unregistered stick: %+v, %v; want queued for the server to refuse", res, err)
	}
	if n := f.PendingCheckIns(); n != 2 {
		t.Errorf("%d check-ins queued, want 2", n)
	}
	if n := o.status().CheckInsQueued; n != 2 {
		t.Errorf("status says %d check-ins wait for the server, want 2", n)
	}
	if (&officeDaemon{store: o.store, follower: f, standalone: true}).station() != nil {
		t.Error("a standalone host has a vault station")
	}
}
