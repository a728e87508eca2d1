package hostclient

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

// fakeOffice is an office server speaking the host endpoints of office-api.md, for
// the tests of this package: an ed25519 CA, a server certificate for 127.0.0.1 whose
// chain includes the CA, a policy key, and one policy per host.
type fakeOffice struct {
	t         *testing.T
	srv       *httptest.Server
	caKey     ed25519.PrivateKey
	ca        *x509.Certificate
	policyKey ed25519.PrivateKey
	chain     [][]byte // the server's certificate chain as presented

	mu       sync.Mutex
	token    string
	host     string
	requests int               // every request received
	policy   map[string][]byte // host → envelope served
	version  map[string]uint64 // host → version of that envelope
	changed  chan struct{}     // closed and replaced when a policy changes
	reports  []Report
	regs     []Request
	baseline []string                // of the last enrolment
	answer   func(map[string]string) // rewrites the enrolment answer (tests of bad answers)
}

func newFakeOffice(t *testing.T) *fakeOffice {
	t.Helper()
	o := &fakeOffice{t: t, token: "tok-1", host: "HOST-07", policy: map[string][]byte{}, version: map[string]uint64{},
		changed: make(chan struct{})}
	_, o.caKey, _ = ed25519.GenerateKey(rand.Reader)
	_, o.policyKey, _ = ed25519.GenerateKey(rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "office CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, o.caKey.Public(), o.caKey)
	if err != nil {
		t.Fatal(err)
	}
	o.ca, _ = x509.ParseCertificate(der)
	_, srvKey, _ := ed25519.GenerateKey(rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "office"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, o.ca, srvKey.Public(), o.caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(o.ca)
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(o.serve))
	o.chain = [][]byte{srvDER, der}
	o.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER, der}, PrivateKey: srvKey}}}
	base := o.srv.TLS
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.Certificates = []tls.Certificate{{Certificate: o.chain, PrivateKey: srvKey}}
		return c, nil
	}
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *fakeOffice) url() string { return o.srv.URL }

func (o *fakeOffice) fingerprint() string { return Fingerprint(o.ca) }

func (o *fakeOffice) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

// doc is a policy document for host with one medium per serial.
func (o *fakeOffice) doc(host string, version uint64, serials ...string) policydoc.Document {
	d := policydoc.Document{Host: host, Version: version, IssuedAt: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
		Profile: policydoc.Profile{Number: host, Level: media.Secret, Mode: media.ModeEnforce},
		People:  []policydoc.Person{{Handle: "alice", Active: true, Login: "alice"}}}
	for _, s := range serials {
		d.Media = append(d.Media, policydoc.Medium{Number: "S-" + s, Kind: media.KindUSBDisk, Level: media.Secret,
			Access: media.AccessReadWrite, Custodian: "alice", Status: media.StatusActive,
			Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + s, Serial: s}})
	}
	return d
}

// publish serves env as host's policy of the given version and wakes long-polls.
func (o *fakeOffice) publish(host string, version uint64, env []byte) {
	o.mu.Lock()
	o.policy[host], o.version[host] = env, version
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// sign signs d with the office's policy key.
func (o *fakeOffice) sign(d policydoc.Document) []byte {
	env, err := policydoc.Sign(d, o.policyKey)
	if err != nil {
		o.t.Fatal(err)
	}
	return env
}

func (o *fakeOffice) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests++
	o.mu.Unlock()
	if r.URL.Path == "/v1/enroll" {
		o.enroll(w, r)
		return
	}
	// Every host endpoint: the host is the client certificate's CN.
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		http.Error(w, `{"error":"client certificate required"}`, http.StatusUnauthorized)
		return
	}
	host := r.TLS.PeerCertificates[0].Subject.CommonName
	switch r.URL.Path {
	case "/v1/host/policy":
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
		deadline := time.After(time.Duration(wait) * time.Second)
		for {
			o.mu.Lock()
			env, v, ch := o.policy[host], o.version[host], o.changed
			o.mu.Unlock()
			if env != nil && v > after {
				w.Header().Set("Content-Type", "application/json")
				w.Write(env)
				return
			}
			select {
			case <-ch:
			case <-deadline:
				w.WriteHeader(http.StatusNoContent)
				return
			case <-r.Context().Done():
				return
			}
		}
	case "/v1/host/report":
		var rep Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		o.reports = append(o.reports, rep)
		o.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "/v1/host/requests":
		var req Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		o.regs = append(o.regs, req)
		id := "REQ-" + strconv.Itoa(len(o.regs))
		o.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"id": id})
	default:
		http.NotFound(w, r)
	}
}

func (o *fakeOffice) enroll(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req enrollRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	ok := req.Token == o.token && req.Host == o.host
	o.baseline = req.Baseline
	if ok {
		o.token = "" // single use
	}
	o.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"token refused"}`, http.StatusForbidden)
		return
	}
	blk, _ := pem.Decode([]byte(req.CSR))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		http.Error(w, `{"error":"bad csr"}`, http.StatusBadRequest)
		return
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: req.Host},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, o.ca, csr.PublicKey, o.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ans := map[string]string{
		"certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"ca":          string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.ca.Raw})),
		"policy_key":  base64.StdEncoding.EncodeToString(o.policyKey.Public().(ed25519.PublicKey)),
	}
	if o.answer != nil {
		o.answer(ans)
	}
	json.NewEncoder(w).Encode(ans)
}

// selfSigned is a certificate of another CA, for answers that must be refused.
func selfSigned(t *testing.T, cn string) string {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}
