package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/carry"
	"mediagate/internal/event"
	"mediagate/internal/hostclient"
	"mediagate/internal/media"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/server"
	"mediagate/internal/service"
)

// enrollByFile enrols a standalone host by file against o: request, answer, host.
func enrollByFile(t *testing.T, o *office, files *server.Files, host string) *hostclient.State {
	t.Helper()
	token := o.addHost(host, media.Secret)
	dir := filepath.Join(t.TempDir(), "office")
	req, err := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir, Host: host, Token: token, Baseline: []string{"wwn:0x5000c500a1b2c3d4"}})
	if err != nil {
		t.Fatal(err)
	}
	ans, _, err := files.EnrollFile(t.Context(), req, server.EnrollOptions{Host: host})
	if err != nil {
		t.Fatalf("enroll-file: %v", err)
	}
	res, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: pki.Fingerprint(o.keys.CA.Cert)})
	if err != nil {
		t.Fatalf("host takes the answer: %v", err)
	}
	return res.State
}

func TestEnrolmentByFile(t *testing.T) {
	o := startOffice(t)
	files := server.NewFiles(o.local.Service, o.keys, o.clock, nil)
	m := o.register(t, "4C5300010001", media.Secret)
	ctx := t.Context()
	fp := pki.Fingerprint(o.keys.CA.Cert)

	dir := filepath.Join(t.TempDir(), "office")
	req, err := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir, Host: "HOST-09"})
	if err != nil {
		t.Fatal(err)
	}
	// Refused before anything changes: no such host, another host, no token and no
	// approval, a request altered or truncated.
	if _, _, err := files.EnrollFile(ctx, req, server.EnrollOptions{Host: "HOST-09", Approve: true}); !errors.Is(err, server.ErrUnknownHost) {
		t.Errorf("host not in the register: %v", err)
	}
	o.addHost("HOST-09", media.Secret)
	o.addHost("HOST-10", media.Secret)
	if _, _, err := files.EnrollFile(ctx, req, server.EnrollOptions{Host: "HOST-10", Approve: true}); !errors.Is(err, carry.ErrOtherHost) {
		t.Errorf("request of HOST-09 answered as HOST-10: %v", err)
	}
	if _, _, err := files.EnrollFile(ctx, req, server.EnrollOptions{Host: "HOST-09"}); !errors.Is(err, server.ErrNoApproval) {
		t.Errorf("no token, no approval: %v", err)
	}
	flipped := bytes.Clone(req)
	flipped[bytes.Index(flipped, []byte(`"payload": "`))+30] ^= 0x02
	if _, _, err := files.EnrollFile(ctx, flipped, server.EnrollOptions{Host: "HOST-09", Approve: true}); !errors.Is(err, carry.ErrBadSignature) {
		t.Errorf("altered request: %v", err)
	}
	if _, _, err := files.EnrollFile(ctx, req[:len(req)-10], server.EnrollOptions{Host: "HOST-09", Approve: true}); !errors.Is(err, carry.ErrMalformed) {
		t.Errorf("truncated request: %v", err)
	}
	if h, _ := o.local.OfficeHost(ctx, "HOST-09"); h.CertSerial != "" {
		t.Fatalf("a refused request enrolled the host: %+v", h)
	}

	ans, _, err := files.EnrollFile(ctx, req, server.EnrollOptions{Host: "HOST-09", Approve: true})
	if err != nil {
		t.Fatal(err)
	}
	// The host refuses a wrong fingerprint, an altered answer, an answer from another
	// office; nothing is stored.
	other := t.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: other, Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	otherKeys, _ := pki.Load(other)
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: pki.Fingerprint(otherKeys.CA.Cert)}); !errors.Is(err, hostclient.ErrFingerprint) {
		t.Errorf("another office's fingerprint: %v", err)
	}
	bad := bytes.Clone(ans)
	bad[bytes.Index(bad, []byte(`"payload": "`))+200] ^= 0x01
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: bad, Fingerprint: fp}); !errors.Is(err, carry.ErrBadSignature) && !errors.Is(err, carry.ErrMalformed) {
		t.Errorf("altered answer: %v", err)
	}
	if hostclient.Enrolled(dir) {
		t.Fatal("a refused answer enrolled the host")
	}
	res, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: fp})
	if err != nil {
		t.Fatalf("the answer: %v", err)
	}
	st := res.State
	if !st.Standalone() || st.Host != "HOST-09" || len(st.Baseline) != 0 && st.Baseline[0] == "" {
		t.Errorf("enrolment %+v", st.Enrolment)
	}
	if res.Policy == nil || len(res.Policy.Document.Media) != 1 || res.Policy.Document.Media[0].Number != m.Number {
		t.Fatalf("first policy: %+v", res.Policy)
	}
	if p, _, err := st.CachedPolicy(); err != nil || p.Document.Version != res.Policy.Document.Version {
		t.Errorf("policy cache: %v", err)
	}
	h, _ := o.local.OfficeHost(ctx, "HOST-09")
	if leaf := st.Cert.Leaf; h.CertSerial == "" || (leaf != nil && pki.SerialHex(leaf) != h.CertSerial) {
		t.Errorf("register's certificate serial %q", h.CertSerial)
	}
	// Replays: the same request again (the host is enrolled now), the same answer
	// again on the host.
	if _, _, err := files.EnrollFile(ctx, req, server.EnrollOptions{Host: "HOST-09", Approve: true}); !errors.Is(err, server.ErrEnrolled) {
		t.Errorf("request replayed: %v", err)
	}
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: fp}); !errors.Is(err, hostclient.ErrAlreadyEnrolled) {
		t.Errorf("answer replayed: %v", err)
	}
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: fp, Force: true}); !errors.Is(err, hostclient.ErrNoPending) {
		t.Errorf("answer replayed with --force: %v", err)
	}
	// A request with a token spends it; the same token again is refused.
	dir2 := filepath.Join(t.TempDir(), "office")
	tok, err := o.local.NewEnrolToken(ctx, "HOST-10", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req2, _ := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir2, Host: "HOST-10", Token: tok.Token})
	if _, _, err := files.EnrollFile(ctx, req2, server.EnrollOptions{Host: "HOST-10"}); err != nil {
		t.Fatalf("request with its token: %v", err)
	}
	req3, _ := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir2, Host: "HOST-10", Token: tok.Token})
	if _, _, err := files.EnrollFile(ctx, req3, server.EnrollOptions{Host: "HOST-10"}); !errors.Is(err, service.ErrBadToken) {
		t.Errorf("token used twice: %v", err)
	}
	// The answer to an older request of the host (it wrote another since) does not
	// fit the key waiting for an answer.
	o.addHost("HOST-11", media.Secret)
	dir3 := filepath.Join(t.TempDir(), "office")
	older, _ := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir3, Host: "HOST-11"})
	if _, err := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir3, Host: "HOST-11"}); err != nil {
		t.Fatal(err)
	}
	ansOlder, _, err := files.EnrollFile(ctx, older, server.EnrollOptions{Host: "HOST-11", Approve: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir3, Response: ansOlder, Fingerprint: fp}); !errors.Is(err, hostclient.ErrEnrollAnswer) {
		t.Errorf("answer to an older request: %v", err)
	}
	// And another host's answer does not fit either.
	if _, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir3, Response: ans, Fingerprint: fp}); !errors.Is(err, carry.ErrOtherHost) {
		t.Errorf("HOST-09's answer on HOST-11: %v", err)
	}
	if hostclient.Enrolled(dir3) {
		t.Error("a refused answer enrolled HOST-11")
	}
}

// TestPolicyExportIsTheOnlineEnvelope: the file is the very envelope the server
// sends an enrolled host over the network.
func TestPolicyExportIsTheOnlineEnvelope(t *testing.T) {
	o := startOffice(t)
	e := o.mustEnroll("HOST-07", media.Secret)
	o.register(t, "4C5300010002", media.Secret)
	time.Sleep(300 * time.Millisecond) // the server computes after the registration
	status, online := e.policy(t, o, 0, 0)
	if status != http.StatusOK {
		t.Fatalf("online policy: %d", status)
	}
	files := server.NewFiles(o.local.Service, o.keys, o.clock, nil)
	file, version, err := files.ExportPolicy(t.Context(), "HOST-07")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, online) {
		doc := openEnvelope(t, online, e.pub)
		t.Fatalf("exported policy (version %d) differs from the online one (version %d)", version, doc.Version)
	}
	if _, _, err := files.ExportPolicy(t.Context(), "HOST-404"); !errors.Is(err, server.ErrNoPolicy) {
		t.Errorf("unknown host: %v", err)
	}
}

// memLedger is an in-memory stand-in for the office's ledger (internal/office/ledger)
// in this package's tests: it keeps each host's head and refuses rows that do not
// continue it.
type memLedger struct {
	key   ed25519.PrivateKey
	heads map[string]anchor.Ack
	got   int
}

func (l *memLedger) Head(_ context.Context, host string) (anchor.Ack, error) {
	return l.heads[host], nil
}

func (l *memLedger) Receive(_ context.Context, host string, rows []*audit.Event) (anchor.Ack, error) {
	h := l.heads[host]
	for _, e := range rows {
		switch {
		case e.Seq <= h.Seq:
			continue
		case e.Seq != h.Seq+1 || (h.Seq > 0 && e.PrevHash != h.Hash):
			return anchor.Ack{}, fmt.Errorf("row %d does not continue row %d", e.Seq, h.Seq)
		}
		h = anchor.Sign(anchor.Ack{Host: e.HostID, Seq: e.Seq, Hash: e.Hash, Time: time.Now()}, l.key)
		l.got++
	}
	l.heads[host] = h
	return h, nil
}

func hostChain(t *testing.T, n int, reg string) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	var prevSeq int64
	prevHash := ""
	for i := range n {
		d, _ := audit.Details(event.CarryRefused{Error: "x", File: "f", Reason: "old", Type: "ack"})
		e := &audit.Event{ID: fmt.Sprintf("row-%s-%d", reg, i), Time: time.Now(), HostID: reg, Kind: event.KindCarryRefused,
			Actor: audit.Actor{User: "root"}, Details: d}
		audit.Seal(e, prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		out = append(out, e)
	}
	return out
}

func TestLogImportRefusals(t *testing.T) {
	o := startOffice(t)
	files := server.NewFiles(o.local.Service, o.keys, o.clock, nil)
	st9 := enrollByFile(t, o, files, "HOST-09")
	st10 := enrollByFile(t, o, files, "HOST-10")
	led := &memLedger{key: o.keys.PolicyKey, heads: map[string]anchor.Ack{}}
	rows := hostChain(t, 6, "reg-9")
	seal := func(st *hostclient.State, after int64, rows []*audit.Event) []byte {
		b, _, err := st.SealLog(after, rows, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := seal(st9, 0, rows[:4])
	imp, err := files.ImportLog(t.Context(), first, led, false)
	if err != nil {
		t.Fatalf("first file: %v", err)
	}
	if imp.Ack.Seq != 4 || imp.Ack.Hash != rows[3].Hash || imp.Host != "HOST-09" || imp.Ack.Verify(o.keys.PolicyKey.Public().(ed25519.PublicKey)) != nil {
		t.Fatalf("acknowledgement %+v", imp.Ack)
	}
	second := seal(st9, 4, rows[4:])
	flipped := bytes.Clone(second)
	flipped[bytes.Index(flipped, []byte(`"payload": "`))+60] ^= 0x01
	// HOST-10 signs a file that says it holds HOST-09's rows.
	forged, err := carry.NewLogBatch("HOST-09", 4, rows[4:], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forgedFile, err := carry.Seal(carry.KindLog, forged, st10.Cert.PrivateKey.(ed25519.PrivateKey),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st10.Cert.Certificate[0]}))
	if err != nil {
		t.Fatal(err)
	}
	// HOST-09's file with HOST-10's certificate put in.
	var env carry.Envelope
	if err := json.Unmarshal(second, &env); err != nil {
		t.Fatal(err)
	}
	env.Cert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st10.Cert.Certificate[0]}))
	otherCert, _ := json.Marshal(env)
	// HOST-09's rows signed by a host of another office (its CA, its certificate).
	elsewhere := t.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: elsewhere, Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	otherOffice, _ := pki.Load(elsewhere)
	csr, key, _ := pki.MakeCSR("HOST-09")
	certPEM, err := otherOffice.CA.IssueHost(csr, "HOST-09", pki.NewSerial(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := carry.NewLogBatch("HOST-09", 4, rows[4:], time.Now())
	foreign, err := carry.Seal(carry.KindLog, batch, key, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"signed by a host of another office", foreign, carry.ErrCert},
		{"truncated", second[:len(second)-50], carry.ErrMalformed},
		{"a byte flipped", flipped, carry.ErrBadSignature},
		{"rows of HOST-09 signed by HOST-10", forgedFile, carry.ErrOtherHost},
		{"HOST-10's certificate on HOST-09's file", otherCert, carry.ErrOtherKey},
		{"replayed", first, carry.ErrReplay},
		{"older than what the office holds", seal(st9, 0, rows[:2]), carry.ErrOld},
		{"an enrolment request instead", mustRequest(t), carry.ErrKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := led.got
			_, err := files.ImportLog(t.Context(), tt.file, led, false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if led.got != before {
				t.Errorf("a refused file stored rows")
			}
		})
	}
	// The lost acknowledgement: the same file again with ackAgain gives it again.
	if imp, err := files.ImportLog(t.Context(), first, led, true); err != nil || imp.Ack.Seq != 4 {
		t.Errorf("--ack-again: %+v, %v", imp.Ack, err)
	}
	// A host enrolled again: files signed with its old certificate are refused; a
	// revoked host's too.
	tok, _ := o.local.NewEnrolToken(t.Context(), "HOST-09", time.Hour)
	dir := filepath.Join(t.TempDir(), "office")
	req, _ := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: dir, Host: "HOST-09", Token: tok.Token})
	ans, _, err := files.EnrollFile(t.Context(), req, server.EnrollOptions{Host: "HOST-09"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.ImportLog(t.Context(), second, led, false); !errors.Is(err, server.ErrStaleCert) {
		t.Errorf("old certificate: %v", err)
	}
	if _, err := o.local.RevokeOfficeHost(t.Context(), "HOST-10", "scrapped"); err != nil {
		t.Fatal(err)
	}
	if _, err := files.ImportLog(t.Context(), seal(st10, 0, hostChain(t, 2, "reg-10")), led, false); !errors.Is(err, server.ErrRevoked) {
		t.Errorf("revoked host: %v", err)
	}
	// The rows go in with the host's current certificate.
	res, err := hostclient.EnrollFromFile(hostclient.ResponseFileOptions{Dir: dir, Response: ans, Fingerprint: pki.Fingerprint(o.keys.CA.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	if imp, err := files.ImportLog(t.Context(), seal(res.State, 4, rows[4:]), led, false); err != nil || imp.Ack.Seq != 6 {
		t.Fatalf("second file: %+v, %v", imp.Ack, err)
	}
	// Every refusal above is the caller's to record (Refused): one row each.
	files.Refused(t.Context(), carry.KindLog, flipped, "HOST-09", carry.ErrBadSignature)
	evs, err := o.local.Events(t.Context(), service.EventFilter{Kind: string(event.KindCarryRefused)})
	if err != nil || len(evs) != 1 {
		t.Fatalf("refusal rows: %d, %v", len(evs), err)
	}
	d, _ := event.As[event.CarryRefused](evs[0].Kind, evs[0].Details)
	if d.Reason != "bad-signature" || d.File != carry.Digest(flipped) || d.Type != "log" {
		t.Errorf("refusal row %+v", d)
	}
	if evs, _ := o.local.Events(t.Context(), service.EventFilter{Kind: string(event.KindCarryLogImport)}); len(evs) != 3 {
		t.Errorf("%d log-import rows, want 3 (two files taken in, one acknowledged again)", len(evs))
	}
}

func mustRequest(t *testing.T) []byte {
	t.Helper()
	b, err := hostclient.RequestFile(hostclient.RequestFileOptions{Dir: t.TempDir(), Host: "HOST-09"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogImportCatchesARewrittenLog: with the office's ledger, a log file whose rows
// differ from rows the office took in before (the host's log rewritten or rolled back
// and written again) marks the host broken and is refused as such.
func TestLogImportCatchesARewrittenLog(t *testing.T) {
	o := startOffice(t)
	files := server.NewFiles(o.local.Service, o.keys, o.clock, nil)
	st := enrollByFile(t, o, files, "HOST-09")
	store, ok := o.local.Service.Store().(ledger.Store)
	if !ok {
		t.Fatal("the register is not a ledger store")
	}
	led, err := ledger.New(ledger.Config{Store: store, Key: o.keys.PolicyKey})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(after int64, rows []*audit.Event) []byte {
		b, _, err := st.SealLog(after, rows, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := files.ImportLog(t.Context(), seal(0, hostChain(t, 4, "reg-9")), led, false); err != nil {
		t.Fatal(err)
	}
	// The same register id, another history from row 1: a rewritten log.
	other := hostChain(t, 6, "reg-9")
	for _, e := range other {
		e.ID += "-rewritten"
		audit.Seal(e, e.Seq-1, "")
	}
	for i := 1; i < len(other); i++ {
		audit.Seal(other[i], other[i-1].Seq, other[i-1].Hash)
	}
	_, err = files.ImportLog(t.Context(), seal(0, other), led, false)
	if !errors.Is(err, ledger.ErrBroken) || server.FileReason(err) != "chain" {
		t.Fatalf("rewritten log: %v (reason %q)", err, server.FileReason(err))
	}
	c, err := led.Chain(t.Context(), mustHostID(t, o, "HOST-09"))
	if err != nil || !c.Broken() || c.BrokenSeq != 1 {
		t.Errorf("chain after the rewritten log: %+v, %v", c, err)
	}
}

func mustHostID(t *testing.T, o *office, number string) string {
	t.Helper()
	h, err := o.local.OfficeHost(t.Context(), number)
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}
