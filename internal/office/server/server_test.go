package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/event"
	"mediagate/internal/media"
	officeledger "mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/server"
	"mediagate/internal/office/wire"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// office is a server on loopback with real TLS, its register and keys.
type office struct {
	t      *testing.T
	dir    string
	url    string
	local  *service.Local
	keys   *pki.Office
	srv    *server.Server
	ledger *officeledger.Ledger
	now    time.Time
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func (o *office) clock() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.now
}

func (o *office) advance(d time.Duration) {
	o.mu.Lock()
	o.now = o.now.Add(d)
	o.mu.Unlock()
}

func startOffice(t *testing.T) *office {
	t.Helper()
	o := &office{t: t, dir: t.TempDir(), now: time.Now()}
	if _, err := pki.Init(pki.InitOptions{Dir: o.dir, Name: "localhost", Addrs: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	keys, err := pki.Load(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	o.keys = keys
	var srv *server.Server
	ctx := context.Background()
	local, err := service.OpenLocal(ctx, filepath.Join(o.dir, "office.db"), service.LocalOptions{Create: true, Now: o.clock,
		Actor:   audit.Actor{UID: 0, User: "root"},
		Service: service.Config{Changed: func(ctx context.Context) { srv.Changed(ctx) }}})
	if err != nil {
		t.Fatal(err)
	}
	o.local = local
	o.ledger, err = officeledger.New(officeledger.Config{Store: local.Service.Store().(officeledger.Store), Key: keys.PolicyKey, Now: o.clock,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = server.New(server.Config{Service: local.Service, Office: keys, Now: o.clock, Ledger: o.ledger, Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Message: func(code string, args []any) string { return catalog.T("en", code, args...) }})
	if err != nil {
		t.Fatal(err)
	}
	o.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.url = "https://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	o.cancel, o.done = cancel, make(chan error, 1)
	go func() { o.done <- srv.Serve(sctx, ln) }()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-o.done; err != nil {
			t.Errorf("serve: %v", err)
		}
		local.Close()
	})
	return o
}

// client is an HTTPS client trusting the office CA, with cert as its client
// certificate when given.
func (o *office) client(cert *tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: o.keys.CA.Pool(), MinVersion: tls.VersionTLS13}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 90 * time.Second}
}

func (o *office) addHost(number string, level media.Level) string {
	o.t.Helper()
	res, err := o.local.AddOfficeHost(context.Background(), service.AddHostRequest{Number: number, Level: level, Department: "办公室"})
	if err != nil {
		o.t.Fatal(err)
	}
	return res.Token
}

type enrolled struct {
	host   string
	cert   tls.Certificate
	pub    ed25519.PublicKey
	client *http.Client
}

func (o *office) enroll(host, token string) (*enrolled, int, *wire.Error) {
	o.t.Helper()
	csr, key, err := pki.MakeCSR(host)
	if err != nil {
		o.t.Fatal(err)
	}
	status, body := o.post(o.client(nil), wire.PathEnroll, wire.EnrollRequest{Token: token, Host: host, CSR: string(csr)})
	if status != http.StatusOK {
		return nil, status, decodeErr(o.t, body)
	}
	var res wire.EnrollResponse
	if err := json.Unmarshal(body, &res); err != nil {
		o.t.Fatal(err)
	}
	keyPEM, _ := pki.KeyPEM(key)
	cert, err := tls.X509KeyPair([]byte(res.Certificate), keyPEM)
	if err != nil {
		o.t.Fatal(err)
	}
	pub, err := base64.StdEncoding.DecodeString(res.PolicyKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		o.t.Fatalf("policy key %q", res.PolicyKey)
	}
	return &enrolled{host: host, cert: cert, pub: pub, client: o.client(&cert)}, status, nil
}

func (o *office) mustEnroll(host string, level media.Level) *enrolled {
	o.t.Helper()
	e, status, werr := o.enroll(host, o.addHost(host, level))
	if e == nil {
		o.t.Fatalf("enroll %s: %d %+v", host, status, werr)
	}
	return e
}

func (o *office) post(c *http.Client, path string, v any) (int, []byte) {
	o.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		o.t.Fatal(err)
	}
	return o.postRaw(c, path, b)
}

func (o *office) postRaw(c *http.Client, path string, b []byte) (int, []byte) {
	o.t.Helper()
	resp, err := c.Post(o.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		o.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func decodeErr(t *testing.T, body []byte) *wire.Error {
	t.Helper()
	var e wire.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return &e
}

// policy fetches the host's policy after version after, waiting up to wait seconds.
func (e *enrolled) policy(t *testing.T, o *office, after uint64, wait int) (int, []byte) {
	t.Helper()
	resp, err := e.client.Get(fmt.Sprintf("%s%s?after=%d&wait=%d", o.url, wire.PathPolicy, after, wait))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// openEnvelope checks the signature and returns the document.
func openEnvelope(t *testing.T, env []byte, pub ed25519.PublicKey) server.Document {
	t.Helper()
	var e struct{ Payload, Signature, KeyID string }
	dec := json.NewDecoder(bytes.NewReader(env))
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("envelope %q: %v", env, err)
	}
	payload, _ := base64.StdEncoding.DecodeString(e.Payload)
	sig, _ := base64.StdEncoding.DecodeString(e.Signature)
	if !ed25519.Verify(pub, append([]byte("mediagate-policy/1\n"), payload...), sig) {
		t.Fatal("policy signature does not verify")
	}
	var doc server.Document
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	// What a host does with it: policydoc.Verify accepts it.
	if _, err := policydoc.Verify(env, pub, doc.Host, doc.Version); err != nil {
		t.Fatalf("the host side refuses the policy: %v", err)
	}
	return doc
}

func (o *office) refusals(t *testing.T) []event.OfficeRefused {
	t.Helper()
	evs, err := o.local.Events(context.Background(), service.EventFilter{Kind: string(event.KindOfficeRefused)})
	if err != nil {
		t.Fatal(err)
	}
	var out []event.OfficeRefused
	for _, e := range evs {
		d, err := event.As[event.OfficeRefused](e.Kind, e.Details)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (o *office) rowCount(t *testing.T) int {
	t.Helper()
	evs, err := o.local.Events(context.Background(), service.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func (o *office) register(t *testing.T, serial string, level media.Level, hosts ...string) media.Medium {
	t.Helper()
	ctx := context.Background()
	if _, err := o.local.Person(ctx, "zhang"); err != nil {
		if _, err := o.local.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := service.IdentityFromFields(service.IdentityFields{Kind: "usb-disk", Vendor: "0781", Product: "5567", Serial: serial})
	if err != nil {
		t.Fatal(err)
	}
	res, err := o.local.Register(ctx, service.RegisterRequest{Identity: id, Level: level, Custodian: "zhang", AllowedHosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	return res.Medium
}

func TestEnrollAndPolicy(t *testing.T) {
	o := startOffice(t)
	m := o.register(t, "4C530001231120109142", media.Secret)
	o.register(t, "4C530001231120109199", media.TopSecret) // above the host: not in its policy
	h := o.mustEnroll("HOST-07", media.Secret)

	status, env := h.policy(t, o, 0, 5)
	if status != http.StatusOK {
		t.Fatalf("policy: %d %s", status, env)
	}
	doc := openEnvelope(t, env, h.pub)
	if doc.Host != "HOST-07" || doc.Profile.Level != media.Secret || doc.Version == 0 {
		t.Fatalf("document %+v", doc)
	}
	if len(doc.Media) != 1 || doc.Media[0].Number != m.Number || len(doc.People) != 1 || doc.People[0].Handle != "zhang" {
		t.Fatalf("media %+v people %+v; want only %s and its custodian", doc.Media, doc.People, m.Number)
	}
	// The same version again is the very same bytes.
	if _, again := h.policy(t, o, 0, 5); !bytes.Equal(again, env) {
		t.Error("the same version was signed to other bytes")
	}
	// Nothing changed: the long poll ends with 204 after wait.
	start := time.Now()
	if status, _ := h.policy(t, o, doc.Version, 1); status != http.StatusNoContent {
		t.Errorf("unchanged policy: %d; want 204", status)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("long poll returned after %v; want the 1 s wait", d)
	}

	// A loss reported on the server wakes the waiting host.
	type result struct {
		status int
		env    []byte
		at     time.Time
	}
	got := make(chan result, 1)
	go func() {
		s, b := h.policy(t, o, doc.Version, 30)
		got <- result{s, b, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	lost := time.Now()
	if _, err := o.local.SetStatus(context.Background(), service.StatusRequest{Number: m.Number, Change: service.ChangeLost}); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.status != http.StatusOK {
		t.Fatalf("after loss: %d", r.status)
	}
	if d := r.at.Sub(lost); d > time.Second {
		t.Errorf("the loss reached the host after %v; want within 1 s", d)
	}
	doc2 := openEnvelope(t, r.env, h.pub)
	if doc2.Version <= doc.Version || doc2.Media[0].Status != media.StatusLost {
		t.Errorf("after loss: version %d (was %d), media %+v", doc2.Version, doc.Version, doc2.Media)
	}

	// A change to a medium above the host's level leaves its version alone.
	o.register(t, "4C530001231120109777", media.TopSecret)
	o.srv.Kick()
	if status, _ := h.policy(t, o, doc2.Version, 1); status != http.StatusNoContent {
		t.Errorf("a top-secret registration changed a secret host's policy: %d", status)
	}
	// A medium limited to another host is not in this one's policy.
	o.register(t, "4C530001231120109888", media.Secret, "HOST-99")
	if status, _ := h.policy(t, o, doc2.Version, 1); status != http.StatusNoContent {
		t.Errorf("a medium limited to HOST-99 changed HOST-07's policy: %d", status)
	}

	// Report: last contact, daemon state, applied version, media seen.
	status, body := o.post(h.client, wire.PathReport, wire.Report{Daemon: "running", PolicyVersion: doc2.Version,
		Seen: []wire.Sighting{{Medium: m.Number, Key: m.Identity.Key, Decision: "block", Reason: "lost", Time: time.Now().Add(-time.Minute)}}})
	if status != http.StatusNoContent {
		t.Fatalf("report: %d %s", status, body)
	}
	view, err := o.local.ShowOfficeHost(context.Background(), "HOST-07")
	if err != nil {
		t.Fatal(err)
	}
	if view.Host.DaemonState != "running" || view.Host.AppliedVersion != doc2.Version || len(view.Seen) != 1 || view.Seen[0].Decision != "block" {
		t.Errorf("host after report: %+v", view)
	}
}

func TestPolicyAfterRestartIsTheSameBytes(t *testing.T) {
	o := startOffice(t)
	o.register(t, "4C530001231120109142", media.Secret)
	h := o.mustEnroll("HOST-07", media.Secret)
	_, env := h.policy(t, o, 0, 5)
	// A second server on the same register and keys (a restart).
	srv2, err := server.New(server.Config{Service: o.local.Service, Office: o.keys, Now: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv2.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	if err := srv2.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	o2 := &office{t: t, url: "https://" + ln.Addr().String()}
	_, env2 := h.policy(t, o2, 0, 5)
	if !bytes.Equal(env, env2) {
		t.Error("after a restart the same version is signed to other bytes; a host would refuse it")
	}
}

// TestHostileRequests sends every kind of bad request: each gets a clear error, an
// office.refused row, and changes nothing else.
func TestHostileRequests(t *testing.T) {
	o := startOffice(t)
	h := o.mustEnroll("HOST-07", media.Secret)
	tokenB := o.addHost("HOST-08", media.Secret)
	revoked := o.mustEnroll("HOST-09", media.Secret)
	if _, err := o.local.RevokeOfficeHost(context.Background(), "HOST-09", "stolen"); err != nil {
		t.Fatal(err)
	}
	// Another CA's certificate claiming to be HOST-07.
	otherDir := t.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: otherDir, Name: "evil"}); err != nil {
		t.Fatal(err)
	}
	other, _ := pki.Load(otherDir)
	csr, key, _ := pki.MakeCSR("HOST-07")
	forged, err := other.CA.IssueHost(csr, "HOST-07", pki.NewSerial(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := pki.KeyPEM(key)
	forgedCert, _ := tls.X509KeyPair(forged, kp)
	// An officer's certificate on a host endpoint.
	offPEM, offKey, serial, err := o.keys.CA.IssueOfficer("wang", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.local.AddOfficer(context.Background(), "wang", serial); err != nil {
		t.Fatal(err)
	}
	offCert, _ := tls.X509KeyPair(offPEM, offKey)
	// HOST-07's certificate after HOST-07 enrolled again is stale.
	stale := o.client(&h.cert)
	tok, err := o.local.NewEnrolToken(context.Background(), "HOST-07", 0)
	if err != nil {
		t.Fatal(err)
	}
	h2, _, werr := o.enroll("HOST-07", tok.Token)
	if h2 == nil {
		t.Fatalf("re-enrol: %+v", werr)
	}

	big := bytes.Repeat([]byte("a"), wire.MaxBody+10)
	goodCSR, _, _ := pki.MakeCSR("HOST-08")
	cases := []struct {
		name   string
		client *http.Client
		path   string
		body   []byte
		status int
		code   string
	}{
		{"no client certificate", o.client(nil), wire.PathReport, []byte(`{}`), 401, "no-cert"},
		{"certificate of another CA", o.client(&forgedCert), wire.PathReport, []byte(`{}`), 401, "bad-cert"},
		{"revoked host", revoked.client, wire.PathReport, []byte(`{"daemon":"running"}`), 403, "revoked"},
		{"superseded certificate", stale, wire.PathReport, []byte(`{"daemon":"running"}`), 403, "stale-cert"},
		{"officer on a host endpoint", o.client(&offCert), wire.PathReport, []byte(`{}`), 403, "not-host"},
		{"host on an officer endpoint", h2.client, wire.PathOfficer + wire.OpListMedia, []byte(`{}`), 403, "not-officer"},
		{"oversized body", h2.client, wire.PathReport, big, 413, "too-large"},
		{"truncated body", h2.client, wire.PathReport, []byte(`{"daemon":"run`), 400, "bad-body"},
		{"trailing data", h2.client, wire.PathReport, []byte(`{"daemon":"running"} {}`), 400, "bad-body"},
		{"unknown field (a host naming another host)", h2.client, wire.PathReport, []byte(`{"daemon":"running","host":"HOST-08"}`), 400, "bad-body"},
		{"bad decision", h2.client, wire.PathReport, []byte(`{"daemon":"running","seen":[{"medium":"S-1","key":"k","decision":"maybe","time":"2026-01-01T00:00:00Z"}]}`), 400, "service"},
		{"unknown token", o.client(nil), wire.PathEnroll, mustJSON(wire.EnrollRequest{Token: "guess", Host: "HOST-08", CSR: string(goodCSR)}), 403, "bad-token"},
		{"token of another host", o.client(nil), wire.PathEnroll, mustJSON(wire.EnrollRequest{Token: tokenB, Host: "HOST-07", CSR: string(goodCSR)}), 403, "bad-token"},
		{"garbage CSR", o.client(nil), wire.PathEnroll, mustJSON(wire.EnrollRequest{Token: tokenB, Host: "HOST-08", CSR: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}), 400, "bad-csr"},
		{"unknown endpoint", h2.client, "/v1/host/everything", []byte(`{}`), 404, "not-found"},
		{"unknown officer op", o.client(&offCert), wire.PathOfficer + "drop-tables", []byte(`{}`), 404, "unknown-op"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := o.refusals(t)
			hostsBefore, _ := o.local.OfficeHosts(context.Background())
			status, body := o.postRaw(c.client, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d (%s); want %d", status, body, c.status)
			}
			e := decodeErr(t, body)
			if e.Message == "" || (c.code != "service" && e.Code != "office."+c.code) {
				t.Errorf("error %+v; want code office.%s and a message", e, c.code)
			}
			after := o.refusals(t)
			if len(after) != len(before)+1 {
				t.Fatalf("%d office.refused rows written; want 1", len(after)-len(before))
			}
			if got := after[len(after)-1]; c.code != "service" && got.Code != c.code || got.Endpoint != c.path {
				t.Errorf("audit row %+v; want code %s at %s", got, c.code, c.path)
			}
			hostsAfter, _ := o.local.OfficeHosts(context.Background())
			for i := range hostsAfter {
				a, b := hostsBefore[i], hostsAfter[i]
				if a.CertSerial != b.CertSerial || a.AppliedVersion != b.AppliedVersion || a.DaemonState != b.DaemonState || !a.Enrolled.Equal(b.Enrolled) {
					t.Errorf("host %s changed: %+v → %+v", a.Number, a, b)
				}
			}
		})
	}

	// A used token is refused the second time, and the host keeps its certificate.
	t.Run("reused token", func(t *testing.T) {
		if e, status, werr := o.enroll("HOST-07", tok.Token); e != nil || status != 403 || werr.Code != "office.bad-token" {
			t.Errorf("reused token: %d %+v", status, werr)
		}
		if status, _ := o.post(h2.client, wire.PathReport, wire.Report{Daemon: "running"}); status != http.StatusNoContent {
			t.Errorf("the host's certificate stopped working after a refused re-use: %d", status)
		}
	})
	// An expired token.
	t.Run("expired token", func(t *testing.T) {
		o.advance(25 * time.Hour)
		defer o.advance(-25 * time.Hour)
		if e, status, werr := o.enroll("HOST-08", tokenB); e != nil || status != 403 || !strings.Contains(werr.Message, "expired") {
			t.Errorf("expired token: %d %+v", status, werr)
		}
	})
	// A revoked host's waiting long poll ends when it is revoked.
	t.Run("revoked while waiting", func(t *testing.T) {
		got := make(chan int, 1)
		go func() { s, _ := h2.policy(t, o, 1<<40, 30); got <- s }()
		time.Sleep(200 * time.Millisecond)
		if _, err := o.local.RevokeOfficeHost(context.Background(), "HOST-07", "lost laptop"); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != http.StatusForbidden {
				t.Errorf("revoked host's long poll: %d; want 403", s)
			}
		case <-time.After(5 * time.Second):
			t.Error("revoked host's long poll still open after 5 s")
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestRegistrationRequest: a host's request, approved by an officer, is in the
// host's next policy; a request naming a registered medium is refused.
func TestRegistrationRequest(t *testing.T) {
	o := startOffice(t)
	ctx := context.Background()
	h := o.mustEnroll("HOST-07", media.Secret)
	_, env := h.policy(t, o, 0, 5)
	v := openEnvelope(t, env, h.pub).Version
	id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:NEWSTICK0001", Serial: "NEWSTICK0001", VendorID: "0781", ProductID: "5567"}
	status, body := o.post(h.client, wire.PathRequests, wire.RegistrationRequest{Identity: id, Level: media.Secret, Purpose: "项目资料", Requester: "alice"})
	if status != http.StatusOK {
		t.Fatalf("request: %d %s", status, body)
	}
	var rid wire.RequestID
	_ = json.Unmarshal(body, &rid)
	reqs, err := o.local.Requests(ctx, service.RequestPending)
	if err != nil || len(reqs) != 1 || reqs[0].ID != rid.ID || reqs[0].Host != "HOST-07" {
		t.Fatalf("pending %+v, %v", reqs, err)
	}
	if _, err := o.local.AddPerson(ctx, media.Person{Handle: "alice", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	res, err := o.local.ApproveRegistration(ctx, service.ApproveRequest{ID: rid.ID, Custodian: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	status, env = h.policy(t, o, v, 5)
	if status != http.StatusOK {
		t.Fatalf("policy after approval: %d", status)
	}
	doc := openEnvelope(t, env, h.pub)
	if len(doc.Media) != 1 || doc.Media[0].Number != res.Medium.Number || doc.Media[0].Identity.Key != id.Key {
		t.Errorf("policy after approval: %+v", doc.Media)
	}
	// Approving twice is refused; a request for a registered medium too.
	if _, err := o.local.ApproveRegistration(ctx, service.ApproveRequest{ID: rid.ID, Custodian: "alice"}); err == nil {
		t.Error("approved twice")
	}
	status, _ = o.post(h.client, wire.PathRequests, wire.RegistrationRequest{Identity: id, Level: media.Secret, Purpose: "again"})
	if status != http.StatusConflict {
		t.Errorf("request for a registered medium: %d; want 409", status)
	}
}

// TestSealMatchesSign: the envelope the server assembles from encoded entries is
// byte for byte what signing the Document gives.
func TestSealMatchesSign(t *testing.T) {
	o := startOffice(t)
	o.register(t, "4C530001231120109142", media.Secret)
	o.register(t, "4C530001231120109143", media.Confidential, "HOST-07")
	h := o.mustEnroll("HOST-07", media.Secret)
	_, env := h.policy(t, o, 0, 5)
	doc := openEnvelope(t, env, h.pub)
	again, err := server.SignForTest(doc, o.keys.PolicyKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(env, again) {
		t.Errorf("assembled envelope differs from Sign:\n%s\n%s", env, again)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TestIncrementalReadSeesEveryChange: between full reads the server reads only the
// media changed since its last look; a registration and a status change made in
// the same millisecond as the previous compute are still seen.
func TestIncrementalReadSeesEveryChange(t *testing.T) {
	o := startOffice(t)
	h := o.mustEnroll("HOST-07", media.Secret)
	_, env := h.policy(t, o, 0, 5)
	v := openEnvelope(t, env, h.pub).Version
	var first media.Medium
	for i := range 5 {
		o.advance(2 * time.Minute) // beyond the re-read margin: older media are not read again
		m := o.register(t, fmt.Sprintf("4C53000123112010%04d", i), media.Secret)
		if i == 0 {
			first = m
		}
		status, env := h.policy(t, o, v, 5)
		if status != http.StatusOK {
			t.Fatalf("registration %d not in the policy: %d", i, status)
		}
		doc := openEnvelope(t, env, h.pub)
		v = doc.Version
		found := false
		for _, e := range doc.Media {
			found = found || e.Number == m.Number
		}
		if !found || len(doc.Media) != i+1 {
			t.Fatalf("round %d: %d media, %s found %v", i, len(doc.Media), m.Number, found)
		}
	}
	// A change of the oldest medium, read back incrementally.
	o.advance(2 * time.Minute)
	if _, err := o.local.SetStatus(context.Background(), service.StatusRequest{Number: first.Number, Change: service.ChangeLost}); err != nil {
		t.Fatal(err)
	}
	status, env := h.policy(t, o, v, 5)
	if status != http.StatusOK {
		t.Fatalf("loss not in the policy: %d", status)
	}
	doc := openEnvelope(t, env, h.pub)
	if len(doc.Media) != 5 || doc.Media[0].Number != first.Number || doc.Media[0].Status != media.StatusLost {
		t.Errorf("after the loss: %+v", doc.Media)
	}
}
