package hostclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mediagate/internal/officefake"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

func enrollOpts(o *fakeOffice, dir string) EnrollOptions {
	return EnrollOptions{Server: o.url(), Token: o.Token("HOST-07"), Fingerprint: o.fingerprint(), Host: "HOST-07", Dir: dir,
		Baseline: []string{"wwn:0x5000c500a1b2c3d4"}}
}

func TestEnrollStoresStateAndFirstPolicy(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 3, o.sign(o.doc("HOST-07", 3, "A1")))
	dir := filepath.Join(t.TempDir(), "office")
	res, err := Enroll(t.Context(), enrollOpts(o, dir))
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if res.PolicyErr != nil || res.Policy == nil || res.Policy.Document.Version != 3 {
		t.Fatalf("first policy: %+v, %v", res.Policy, res.PolicyErr)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{FileEnrolment, FileKey, FileCert, FileCA, FilePolicyKey, FilePolicy} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	st, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if st.Host != "HOST-07" || st.Server != o.url() || st.CAFingerprint != o.fingerprint() || len(st.Baseline) != 1 {
		t.Errorf("state = %+v", st.Enrolment)
	}
	if b := o.Baseline("HOST-07"); len(b) != 1 || b[0] != "wwn:0x5000c500a1b2c3d4" {
		t.Errorf("baseline sent = %q", b)
	}
	p, _, err := st.CachedPolicy()
	if err != nil || p == nil || p.Document.Version != 3 {
		t.Errorf("cached policy: %v", err)
	}

	// Once only, unless forced (and the token is single use on the server).
	if _, err := Enroll(t.Context(), enrollOpts(o, dir)); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("second enrolment: %v", err)
	}
	opts := enrollOpts(o, dir)
	opts.Force = true
	if _, err := Enroll(t.Context(), opts); err != nil {
		t.Errorf("forced enrolment: %v", err)
	}
}

func TestEnrollChecksTheCABeforeSendingAnything(t *testing.T) {
	o := newFakeOffice(t)
	dir := filepath.Join(t.TempDir(), "office")
	opts := enrollOpts(o, dir)
	opts.Fingerprint = strings.Repeat("ab", 32)
	_, err := Enroll(t.Context(), opts)
	if !errors.Is(err, ErrFingerprint) {
		t.Fatalf("wrong fingerprint: %v", err)
	}
	if n := o.count(); n != 0 {
		t.Errorf("the server received %d requests before the CA was checked", n)
	}
	if Enrolled(dir) {
		t.Error("a refused enrolment left state behind")
	}
	// A fingerprint in upper case with colons is the same fingerprint.
	fp := strings.ToUpper(o.fingerprint())
	var b strings.Builder
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fp[i : i+2])
	}
	opts.Fingerprint = b.String()

	// A server that presents only its own certificate cannot be checked: refused
	// with a message that says what the server must send.
	o.LeafOnly(true)
	if _, err := Enroll(t.Context(), opts); !errors.Is(err, ErrFingerprint) || !strings.Contains(err.Error(), "only its own certificate") {
		t.Errorf("leaf-only chain: %v", err)
	}
	if n := o.count(); n != 0 {
		t.Errorf("the server received %d requests", n)
	}
	o.LeafOnly(false)
	if _, err := Enroll(t.Context(), opts); err != nil {
		t.Errorf("colon-separated fingerprint: %v", err)
	}
}

func TestEnrollRefusesBadInputAndAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   func(*EnrollOptions)
		answer func(map[string]string)
		want   error
	}{
		{"http server", func(o *EnrollOptions) { o.Server = strings.Replace(o.Server, "https", "http", 1) }, nil, nil},
		{"short fingerprint", func(o *EnrollOptions) { o.Fingerprint = "abcd" }, nil, nil},
		{"token refused", func(o *EnrollOptions) { o.Token = "wrong" }, nil, ErrServer},
		{"host of another token", func(o *EnrollOptions) { o.Host = "HOST-08" }, nil, ErrServer},
		{"another CA in the answer", nil, func(a map[string]string) { a["ca"] = selfSigned(t, "evil CA") }, ErrEnrollAnswer},
		{"certificate for another key", nil, func(a map[string]string) { a["certificate"] = selfSigned(t, "HOST-07") }, ErrEnrollAnswer},
		{"bad policy key", nil, func(a map[string]string) { a["policy_key"] = "AAAA" }, ErrEnrollAnswer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := newFakeOffice(t)
			o.AnswerWith(tt.answer)
			dir := filepath.Join(t.TempDir(), "office")
			opts := enrollOpts(o, dir)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			_, err := Enroll(t.Context(), opts)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Enroll error = %v, want %v", err, tt.want)
			}
			if Enrolled(dir) {
				t.Error("a refused enrolment left state behind")
			}
		})
	}
}

// follow enrols with o and returns a Follower over the enrolment, with the policies
// it applied and the audit rows it wrote.
type followed struct {
	f       *Follower
	st      *State
	mu      sync.Mutex
	applied []uint64
	rows    []any
}

func (fw *followed) appliedVersions() []uint64 {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return append([]uint64(nil), fw.applied...)
}

func (fw *followed) refusals() []event.PolicyRefused {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	var out []event.PolicyRefused
	for _, r := range fw.rows {
		if x, ok := r.(event.PolicyRefused); ok {
			out = append(out, x)
		}
	}
	return out
}

func follow(t *testing.T, o *fakeOffice) *followed {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "office")
	if _, err := Enroll(t.Context(), enrollOpts(o, dir)); err != nil {
		t.Fatal(err)
	}
	st, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	fw := &followed{st: st}
	fw.f = NewFollower(FollowerConfig{State: st, Client: c, Wait: 2 * time.Second, CheckEvery: 50 * time.Millisecond,
		ReportEvery: time.Hour, MaxBackoff: 200 * time.Millisecond,
		Apply: func(_ context.Context, p *policydoc.Policy) {
			fw.mu.Lock()
			fw.applied = append(fw.applied, p.Document.Version)
			fw.mu.Unlock()
		},
		Record: func(_ context.Context, k event.Kind, d any) error {
			if err := event.Check(k, d); err != nil {
				t.Errorf("audit row: %v", err)
			}
			fw.mu.Lock()
			fw.rows = append(fw.rows, d)
			fw.mu.Unlock()
			return nil
		}})
	return fw
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFollowerAppliesNewPoliciesAndRefusesBadOnes(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 1, o.sign(o.doc("HOST-07", 1)))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatalf("LoadCache: %v", err)
	}
	if v := fw.appliedVersions(); len(v) != 1 || v[0] != 1 {
		t.Fatalf("applied from the cache: %v", v)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); fw.f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	o.publish("HOST-07", 2, o.sign(o.doc("HOST-07", 2, "A1")))
	waitFor(t, "version 2", func() bool { return fw.f.Status().PolicyVersion == 2 })
	t.Logf("a new policy was in force %v after it was published", time.Since(start))
	if p, _, err := fw.st.CachedPolicy(); err != nil || p.Document.Version != 2 {
		t.Errorf("cache after version 2: %v", err)
	}

	// Refused, each with a row; the policy in force stays.
	other := newFakeOffice(t) // another office's key
	bad := []struct {
		env    []byte
		reason string
	}{
		{other.sign(o.doc("HOST-07", 3)), "other-key"},
		{o.sign(o.doc("HOST-08", 4)), "other-host"},
		{bytes.Replace(o.sign(o.doc("HOST-07", 5)), []byte(`"signature":"`), []byte(`"signature":"A`), 1), "bad-signature"},
	}
	for i, b := range bad {
		o.publish("HOST-07", uint64(10+i), b.env)
		waitFor(t, b.reason, func() bool {
			rs := fw.refusals()
			return len(rs) > i && rs[i].Reason == b.reason
		})
	}
	if v := fw.f.Status().PolicyVersion; v != 2 {
		t.Errorf("version in force after refusals: %d", v)
	}
	if r := fw.f.Status().Refused; r == nil || r.Reason != "bad-signature" || r.Source != event.PolicyFromServer {
		t.Errorf("status refusal = %+v", r)
	}
	// A lower version, offered as the server's answer, is refused too.
	if _, err := fw.f.Offer(t.Context(), o.sign(o.doc("HOST-07", 1)), event.PolicyFromServer); !errors.Is(err, policydoc.ErrOldVersion) {
		t.Errorf("lower version: %v", err)
	}
	// The refused policy did not reach the cache.
	if p, _, err := fw.st.CachedPolicy(); err != nil || p.Document.Version != 2 {
		t.Errorf("cache after refusals: %v", err)
	}
	o.publish("HOST-07", 20, o.sign(o.doc("HOST-07", 20, "A1", "A2")))
	waitFor(t, "version 20", func() bool { return fw.f.Status().PolicyVersion == 20 })
}

func TestFollowerPutsBackATamperedCache(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 4, o.sign(o.doc("HOST-07", 4, "A1")))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(fw.st.Dir, FilePolicy)
	good, _ := os.ReadFile(path)
	// Someone marks themselves active in the cache: the signature no longer holds.
	d := o.doc("HOST-07", 4, "A1", "EVIL")
	forged := newFakeOffice(t).sign(d)
	if err := os.WriteFile(path, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	fw.f.CheckCache(t.Context(), path)
	if rs := fw.refusals(); len(rs) != 1 || rs[0].Source != event.PolicyFromFile || rs[0].InForce != 4 {
		t.Fatalf("refusals = %+v", rs)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
		t.Error("the tampered cache was not put back")
	}
	if v := fw.f.Status().PolicyVersion; v != 4 {
		t.Errorf("version in force: %d", v)
	}
	// A deleted cache is written back; a newer signed policy carried in is applied.
	os.Remove(path)
	fw.f.CheckCache(t.Context(), path)
	if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
		t.Error("the deleted cache was not written back")
	}
	if err := os.WriteFile(path, o.sign(o.doc("HOST-07", 5, "A1", "A2")), 0o600); err != nil {
		t.Fatal(err)
	}
	fw.f.CheckCache(t.Context(), path)
	if v := fw.f.Status().PolicyVersion; v != 5 {
		t.Errorf("a newer signed policy in the file: version %d in force", v)
	}
	if n := len(fw.refusals()); n != 1 {
		t.Errorf("%d refusals, want 1", n)
	}
}

func TestFollowerKeepsEnforcingWhileTheServerIsDown(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 7, o.sign(o.doc("HOST-07", 7, "A1")))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	o.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); fw.f.Run(ctx) }()
	waitFor(t, "unreachable", func() bool { return !fw.f.Status().UnreachableSince.IsZero() })
	st := fw.f.Status()
	if st.PolicyVersion != 7 || st.LastError == "" {
		t.Errorf("status while down: %+v", st)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done
	if v := fw.appliedVersions(); len(v) != 1 {
		t.Errorf("applied %v while the server was down", v)
	}
}

func TestReportsAndRequests(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 2, o.sign(o.doc("HOST-07", 2)))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); fw.f.Run(ctx) }()
	fw.f.Seen(Seen{Medium: "S-A1", Key: "usb:0781:5567:A1", Decision: "allow", Reason: "allowed", Time: time.Now().UTC()})
	waitFor(t, "a report with the medium", func() bool {
		for _, r := range o.Reports() {
			if len(r.Seen) == 1 && r.Seen[0].Medium == "S-A1" && r.PolicyVersion == 2 && r.Daemon == "running" {
				return true
			}
		}
		return false
	})
	cancel()
	<-done
	reps := o.Reports()
	last := reps[len(reps)-1]
	if last.Daemon != "stopped" {
		t.Errorf("last report says the daemon is %q", last.Daemon)
	}

	c, err := NewClient(fw.st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Request(t.Context(), Request{Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:N1"},
		Level: media.Secret, Purpose: "audit files", Requester: "alice"})
	if err != nil || id != "REQ-1" {
		t.Fatalf("Request = %q, %v", id, err)
	}
	got := o.Requests()[0]
	if got.Requester != "alice" || got.Level != media.Secret || got.Identity.Key != "usb:0781:5567:N1" {
		t.Errorf("request received = %+v", got)
	}
}

func TestBackoffGrowsWithJitterAndStaysBounded(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := backoff(n, 30*time.Second)
		base := min(time.Second<<min(n-1, 10), 30*time.Second)
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("backoff(%d) = %v, want %v ± 20%%", n, d, base)
		}
		if n > 1 && base > prev && d < prev/2 {
			t.Errorf("backoff(%d) = %v shrank from %v", n, d, prev)
		}
		prev = d
	}
}

func TestUnitDropInAllowsOnlyTheServer(t *testing.T) {
	ips, err := ServerAddresses(t.Context(), "https://10.0.2.2:8443")
	if err != nil || len(ips) != 1 || ips[0].String() != "10.0.2.2" {
		t.Fatalf("ServerAddresses = %v, %v", ips, err)
	}
	got := UnitDropIn("https://10.0.2.2:8443", append(ips, ips[0]))
	for _, want := range []string{"[Service]\n", "RestrictAddressFamilies=AF_INET AF_INET6\n", "IPAddressAllow=10.0.2.2\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, got)
		}
	}
	if _, err := ServerAddresses(t.Context(), "not a url"); err == nil {
		t.Error("a bad address resolved")
	}
}

func TestFollowerKnowsTheServerAtOnce(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 1, o.sign(o.doc("HOST-07", 1)))
	fw := follow(t, o)
	fw.f.cfg.Wait = MaxWait // a long-poll that would hold the first answer for a minute
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); fw.f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// waitFor gives up after 10 s, long before the 60 s long-poll would answer.
	waitFor(t, "first contact", func() bool { return !fw.f.Status().LastContact.IsZero() })
}

// A policy cache copied back to an older version while the daemon was stopped is
// refused at start: the local audit log says a newer one was in force (HighWater). No
// policy is in force then, so every medium stays blocked until the server answers.
func TestFollowerRefusesARolledBackCache(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 3, o.sign(o.doc("HOST-07", 3, "A1")))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(fw.st.Dir, FilePolicy)
	old, _ := os.ReadFile(path) // version 3, as an attacker keeps it

	// Version 5 was in force later (the audit log says so); the cache is put back to 3.
	restarted := NewFollower(FollowerConfig{State: fw.st, Client: fw.f.cfg.Client, Apply: fw.f.cfg.Apply, Record: fw.f.cfg.Record,
		HighWater: func(context.Context) (uint64, error) { return 5, nil }})
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := restarted.LoadCache(t.Context()); err == nil {
		t.Fatal("a cache older than the version in force before was accepted")
	}
	if restarted.Current() != nil {
		t.Errorf("version %d in force from a rolled-back cache", restarted.Current().Document.Version)
	}
	rs := fw.refusals()
	if len(rs) == 0 || rs[len(rs)-1].Source != event.PolicyFromCache {
		t.Errorf("no refusal row for the rolled-back cache: %+v", rs)
	}
	// The same cache with no newer version on record is accepted.
	again := NewFollower(FollowerConfig{State: fw.st, Client: fw.f.cfg.Client, Apply: fw.f.cfg.Apply, Record: fw.f.cfg.Record,
		HighWater: func(context.Context) (uint64, error) { return 3, nil }})
	if err := again.LoadCache(t.Context()); err != nil || again.Current() == nil {
		t.Errorf("cache at the recorded version: %v", err)
	}
}

// TestFollowerAppliesDeltasAndFallsBack: a delta from the version in force is applied
// and cached as a policy that verifies on its own; a delta for another base makes the
// follower ask for the whole document at once (no refusal row); a delta with a bad
// signature is refused with a row and the whole document is asked for next.
func TestFollowerAppliesDeltasAndFallsBack(t *testing.T) {
	o := newFakeOffice(t)
	v1 := o.doc("HOST-07", 1, "A1", "A2", "A3")
	o.publish("HOST-07", 1, o.sign(v1))
	fw := follow(t, o)
	if err := fw.f.LoadCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); fw.f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "version 1", func() bool { return fw.f.Status().PolicyVersion == 1 })
	cur := fw.f.Current()

	deltaEnv := func(from *policydoc.Policy, to policydoc.Document, edit func(*policydoc.Delta)) []byte {
		d, err := policydoc.Diff(from.Payload, from.Document, to)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&d)
		}
		env, err := policydoc.SignDeltaDoc(d, o.PolicyKey)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	v2 := o.doc("HOST-07", 2, "A1", "A2", "A3", "A4")
	v2.Media[1].Status = media.StatusLost
	o.PublishDelta("HOST-07", 2, o.sign(v2), 1, deltaEnv(cur, v2, nil))
	waitFor(t, "version 2", func() bool { return fw.f.Status().PolicyVersion == 2 })
	p2, raw, err := fw.st.CachedPolicy()
	if err != nil || p2.Document.Version != 2 || !bytes.Contains(raw, []byte(`"delta":"`)) {
		t.Fatalf("cache after a delta: %v (%.80s)", err, raw)
	}
	if p2.Document.Media[1].Status != media.StatusLost || len(p2.Document.Media) != 4 {
		t.Errorf("document after a delta: %+v", p2.Document.Media)
	}

	// A delta for another base: the whole document, and no refusal row.
	v3 := o.doc("HOST-07", 3, "A1", "A4")
	o.PublishDelta("HOST-07", 3, o.sign(v3), 2, deltaEnv(p2, v3, func(d *policydoc.Delta) { d.FromDigest = policydoc.Digest(nil) }))
	waitFor(t, "version 3", func() bool { return fw.f.Status().PolicyVersion == 3 })
	if _, raw, _ := fw.st.CachedPolicy(); bytes.Contains(raw, []byte(`"delta":"`)) {
		t.Error("the whole document was not what the host cached")
	}
	if rs := fw.refusals(); len(rs) != 0 {
		t.Errorf("a delta for another base was recorded as refused: %+v", rs)
	}

	// A delta with a bad signature: refused with a row, then the whole document.
	p3 := fw.f.Current()
	v4 := o.doc("HOST-07", 4, "A1", "A4", "A5")
	bad := bytes.Replace(deltaEnv(p3, v4, nil), []byte(`"signature":"`), []byte(`"signature":"A`), 1)
	o.PublishDelta("HOST-07", 4, o.sign(v4), 3, bad)
	waitFor(t, "version 4", func() bool { return fw.f.Status().PolicyVersion == 4 })
	if rs := fw.refusals(); len(rs) != 1 || rs[0].Reason != "bad-signature" {
		t.Errorf("refusals = %+v", rs)
	}
}

// flakyReports is a PolicyClient whose reports fail while down is set.
type flakyReports struct {
	mu      sync.Mutex
	down    bool
	tries   int
	got     []StationCheckIn
	answers int
}

func (c *flakyReports) Policy(ctx context.Context, after uint64, wait time.Duration, delta bool) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *flakyReports) Report(ctx context.Context, r Report) ([]StationOutcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries++
	if c.down {
		return nil, errors.New("connection refused")
	}
	var outs []StationOutcome
	for _, ci := range r.CheckIns {
		c.got = append(c.got, ci)
		outs = append(outs, StationOutcome{ID: ci.ID, Outcome: "checked-in"})
	}
	c.answers += len(outs)
	return outs, nil
}

// TestVaultStationCheckInsWaitForTheServer: check-ins made while the server is down
// stay queued, each with its id, and reach the server once it answers.
func TestVaultStationCheckInsWaitForTheServer(t *testing.T) {
	c := &flakyReports{down: true}
	answered := make(chan StationOutcome, 4)
	f := NewFollower(FollowerConfig{State: &State{Enrolment: Enrolment{Host: "HOST-01"}}, Client: c, ReportEvery: 50 * time.Millisecond,
		Apply: func(context.Context, *policydoc.Policy) {}, CheckedIn: func(o StationOutcome) { answered <- o }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.report(ctx) }()
	defer func() { cancel(); <-done }()
	f.CheckIn(StationCheckIn{Seen: media.Identity{Key: "usb:1:2:A"}})
	f.CheckIn(StationCheckIn{Seen: media.Identity{Key: "usb:1:2:B"}})
	waitFor(t, "reports tried while down", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.tries >= 2 })
	if n := f.PendingCheckIns(); n != 2 {
		t.Fatalf("%d check-ins queued while the server is down, want 2", n)
	}
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
	for range 2 {
		select {
		case <-answered:
		case <-time.After(10 * time.Second):
			t.Fatal("queued check-ins did not reach the server")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 2 || c.got[0].ID == "" || c.got[0].ID == c.got[1].ID || c.got[0].Seen.Key != "usb:1:2:A" {
		t.Errorf("check-ins received = %+v", c.got)
	}
	if n := f.PendingCheckIns(); n != 0 {
		t.Errorf("%d check-ins still queued", n)
	}
}

// TestEnrolledHostResolvesNoName: a server given by name is resolved once, at
// enrolment, and its addresses are recorded; from then on the host dials them and
// resolves nothing (the daemon's sandbox reaches no name server). The name here
// (.invalid) resolves nowhere, yet the enrolled host reaches the server, and the
// server's certificate is still checked for that name.
func TestEnrolledHostResolvesNoName(t *testing.T) {
	fo, err := officefake.New("office.invalid")
	if err != nil {
		t.Fatal(err)
	}
	if err := fo.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fo.Stop)
	o := &fakeOffice{Office: fo, t: t}
	o.publish("HOST-07", 3, o.sign(o.doc("HOST-07", 3, "A1")))
	_, port, _ := net.SplitHostPort(fo.Addr())
	server := "https://office.invalid:" + port
	var lookups int
	opts := enrollOpts(o, filepath.Join(t.TempDir(), "office"))
	opts.Server = server
	opts.Resolve = func(_ context.Context, host string) ([]net.IP, error) {
		lookups++
		if host != "office.invalid" {
			return nil, fmt.Errorf("lookup %s", host)
		}
		return []net.IP{net.ParseIP("127.0.0.1")}, nil
	}
	res, err := Enroll(t.Context(), opts)
	if err != nil {
		t.Fatalf("enrol by name: %v", err)
	}
	if lookups != 1 || !slices.Equal(res.State.Addresses, []string{"127.0.0.1"}) || res.Policy == nil {
		t.Fatalf("enrolment: %d lookups, addresses %v", lookups, res.State.Addresses)
	}
	st, err := Load(opts.Dir)
	if err != nil || st.Server != server || !slices.Equal(st.Addresses, []string{"127.0.0.1"}) {
		t.Fatalf("loaded enrolment: %+v, %v", st, err)
	}
	c, err := NewClient(st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o.publish("HOST-07", 4, o.sign(o.doc("HOST-07", 4, "A1", "A2")))
	env, err := c.Policy(t.Context(), 3, 0, false)
	if err != nil || env == nil {
		t.Fatalf("policy by the recorded address: %v", err)
	}
	// The name is still what the certificate is checked against.
	st.Server = "https://other.invalid:" + port
	c2, _ := NewClient(st)
	defer c2.Close()
	if _, err := c2.Policy(t.Context(), 3, 0, false); err == nil {
		t.Error("a server name its certificate does not carry was accepted")
	}
	// A name that does not resolve at enrolment: nothing is stored.
	opts2 := enrollOpts(o, filepath.Join(t.TempDir(), "office"))
	opts2.Server = "https://nowhere.invalid:" + port
	opts2.Resolve = func(context.Context, string) ([]net.IP, error) { return nil, errors.New("no such host") }
	if _, err := Enroll(t.Context(), opts2); err == nil || Enrolled(opts2.Dir) {
		t.Errorf("enrolment with an unresolvable name: %v", err)
	}
}
