// Package officefake is an office server that speaks only the host endpoints of the
// office protocol (enrolment, policy long-poll, reports, registration requests), for
// the tests of the host side: the hostclient package's and, until the real server
// runs there, the end-to-end scenarios'. It keeps no register: a test publishes the
// policy documents it wants each host to get, and reads back what hosts sent.
//
// It has an ed25519 CA, a server certificate for the names and addresses given to New
// (its TLS chain presents the CA after it), and a policy signing key.
package officefake

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

// Report is what a host reported (POST /v1/host/report).
type Report struct {
	Host          string `json:"-"`
	Daemon        string `json:"daemon"`
	PolicyVersion uint64 `json:"policy_version"`
	Seen          []struct {
		Medium   string    `json:"medium"`
		Key      string    `json:"key"`
		Decision string    `json:"decision"`
		Reason   string    `json:"reason"`
		Time     time.Time `json:"time"`
	} `json:"seen"`
	CheckIns []struct {
		ID     string         `json:"id"`
		Seen   media.Identity `json:"seen"`
		Device string         `json:"device"`
	} `json:"checkins"`
}

// Request is a registration request a host sent (POST /v1/host/requests).
type Request struct {
	ID        string         `json:"-"`
	Host      string         `json:"-"`
	Identity  media.Identity `json:"identity"`
	Level     media.Level    `json:"level"`
	Purpose   string         `json:"purpose"`
	Requester string         `json:"requester"`
	Label     string         `json:"label,omitempty"`
}

// Office is the fake server.
type Office struct {
	CA        *x509.Certificate
	caKey     ed25519.PrivateKey
	PolicyKey ed25519.PrivateKey
	srvKey    ed25519.PrivateKey
	srvDER    []byte

	mu       sync.Mutex
	tokens   map[string]string // token → host
	requests int               // every request received
	policy   map[string][]byte // host → envelope served
	version  map[string]uint64 // host → version of that envelope
	deltas   map[string]fakeDelta
	changed  chan struct{} // closed and replaced when a policy changes
	reports  []Report
	regs     []Request
	baseline map[string][]string // host → baseline sent at enrolment
	chain    [][]byte            // the server's certificate chain as presented
	answer   func(map[string]string)

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// New makes the office's keys and a server certificate for the given DNS names and
// IP addresses.
func New(names ...string) (*Office, error) {
	o := &Office{tokens: map[string]string{}, policy: map[string][]byte{}, version: map[string]uint64{},
		changed: make(chan struct{}), baseline: map[string][]string{}}
	var err error
	if _, o.caKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if _, o.PolicyKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if _, o.srvKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mediagate test office CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, o.caKey.Public(), o.caKey)
	if err != nil {
		return nil, err
	}
	if o.CA, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "office"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, n)
		}
	}
	if o.srvDER, err = x509.CreateCertificate(rand.Reader, srvTmpl, o.CA, o.srvKey.Public(), o.caKey); err != nil {
		return nil, err
	}
	o.chain = [][]byte{o.srvDER, o.CA.Raw}
	return o, nil
}

// Fingerprint is the CA fingerprint `host enroll` is given.
func (o *Office) Fingerprint() string {
	sum := sha256.Sum256(o.CA.Raw)
	return hex.EncodeToString(sum[:])
}

// Start serves on addr ("127.0.0.1:0" for any port) until Stop.
func (o *Office) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(o.CA)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.Certificates = []tls.Certificate{{Certificate: o.chain, PrivateKey: o.srvKey}}
		return c, nil
	}
	o.mu.Lock()
	o.ln = ln
	o.srv = &http.Server{Handler: http.HandlerFunc(o.serve), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	o.done = make(chan struct{})
	srv, done := o.srv, o.done
	o.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(tls.NewListener(ln, cfg))
	}()
	return nil
}

// Addr is the address served, "" when stopped.
func (o *Office) Addr() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln == nil {
		return ""
	}
	return o.ln.Addr().String()
}

// URL is https:// and Addr.
func (o *Office) URL() string { return "https://" + o.Addr() }

// Stop closes the listener and every connection (hosts see the server gone).
func (o *Office) Stop() {
	o.mu.Lock()
	srv, done := o.srv, o.done
	o.srv, o.ln = nil, nil
	o.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// LeafOnly makes the server present only its own certificate (true), or its chain
// with the CA (false, the default).
func (o *Office) LeafOnly(leaf bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.chain = [][]byte{o.srvDER}
	if !leaf {
		o.chain = append(o.chain, o.CA.Raw)
	}
}

// Token issues a one-time enrolment token for host.
func (o *Office) Token(host string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	t := hex.EncodeToString(b)
	o.mu.Lock()
	o.tokens[t] = host
	o.mu.Unlock()
	return t
}

// AnswerWith rewrites enrolment answers (tests of bad answers); nil stops.
func (o *Office) AnswerWith(f func(map[string]string)) {
	o.mu.Lock()
	o.answer = f
	o.mu.Unlock()
}

// Count is how many HTTP requests the server received.
func (o *Office) Count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

// Baseline is what host sent as its internal disks at enrolment.
func (o *Office) Baseline(host string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.baseline[host]
}

// Reports returns what hosts reported, oldest first.
func (o *Office) Reports() []Report {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Report(nil), o.reports...)
}

// Requests returns the registration requests received, oldest first.
func (o *Office) Requests() []Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Request(nil), o.regs...)
}

// Sign signs d with the office's policy key.
func (o *Office) Sign(d policydoc.Document) ([]byte, error) { return policydoc.Sign(d, o.PolicyKey) }

// Publish serves env as host's policy of the given version and wakes its long-polls.
func (o *Office) Publish(host string, version uint64, env []byte) {
	o.mu.Lock()
	o.policy[host], o.version[host] = env, version
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// PublishDelta serves env as host's policy of the given version, and delta to a host
// that holds version from and asks for deltas.
func (o *Office) PublishDelta(host string, version uint64, env []byte, from uint64, delta []byte) {
	o.mu.Lock()
	if o.deltas == nil {
		o.deltas = map[string]fakeDelta{}
	}
	o.deltas[host] = fakeDelta{from: from, env: delta}
	o.mu.Unlock()
	o.Publish(host, version, env)
}

type fakeDelta struct {
	from uint64
	env  []byte
}

// PublishDoc signs d and publishes it as its host's policy.
func (o *Office) PublishDoc(d policydoc.Document) error {
	env, err := o.Sign(d)
	if err != nil {
		return err
	}
	o.Publish(d.Host, d.Version, env)
	return nil
}

// Version is the version of host's policy served, 0 for none.
func (o *Office) Version(host string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.version[host]
}

func (o *Office) serve(w http.ResponseWriter, r *http.Request) {
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
		deadline := time.After(time.Duration(min(wait, 60)) * time.Second)
		for {
			o.mu.Lock()
			env, v, ch := o.policy[host], o.version[host], o.changed
			o.mu.Unlock()
			if env != nil && v > after {
				o.mu.Lock()
				d, ok := o.deltas[host]
				o.mu.Unlock()
				if ok && d.from == after && r.URL.Query().Get("delta") == "1" {
					env = d.env
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(env)
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
		if err := decode(r.Body, &rep); err != nil {
			http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
			return
		}
		rep.Host = host
		o.mu.Lock()
		o.reports = append(o.reports, rep)
		o.mu.Unlock()
		if len(rep.CheckIns) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// A vault station's check-ins: each is taken as checked in.
		type outcome struct {
			ID      string `json:"id"`
			Outcome string `json:"outcome"`
		}
		var ans struct {
			CheckIns []outcome `json:"checkins"`
		}
		for _, c := range rep.CheckIns {
			ans.CheckIns = append(ans.CheckIns, outcome{ID: c.ID, Outcome: "checked-in"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	case "/v1/host/requests":
		var req Request
		if err := decode(r.Body, &req); err != nil {
			http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		req.Host, req.ID = host, "REQ-"+strconv.Itoa(len(o.regs)+1)
		o.regs = append(o.regs, req)
		o.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"id": req.ID})
	default:
		http.NotFound(w, r)
	}
}

func decode(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return err
	}
	if len(b) > 1<<20 {
		return errors.New("too large")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (o *Office) enroll(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string   `json:"token"`
		Host     string   `json:"host"`
		CSR      string   `json:"csr"`
		Baseline []string `json:"baseline,omitempty"`
	}
	if err := decode(r.Body, &req); err != nil {
		http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	ok := req.Token != "" && o.tokens[req.Token] == req.Host
	if ok {
		delete(o.tokens, req.Token) // single use
		o.baseline[req.Host] = req.Baseline
	}
	answer := o.answer
	o.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"token refused"}`, http.StatusForbidden)
		return
	}
	blk, _ := pem.Decode([]byte(req.CSR))
	if blk == nil {
		http.Error(w, `{"error":"bad csr"}`, http.StatusBadRequest)
		return
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		http.Error(w, `{"error":"bad csr"}`, http.StatusBadRequest)
		return
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: req.Host},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, o.CA, csr.PublicKey, o.caKey)
	if err != nil {
		http.Error(w, `{"error":"sign"}`, http.StatusInternalServerError)
		return
	}
	ans := map[string]string{
		"certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"ca":          string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.CA.Raw})),
		"policy_key":  base64.StdEncoding.EncodeToString(o.PolicyKey.Public().(ed25519.PublicKey)),
	}
	if answer != nil {
		answer(ans)
	}
	_ = json.NewEncoder(w).Encode(ans)
}

// SelfSigned is a PEM certificate of another CA with the given CN, for answers that
// must be refused.
func SelfSigned(cn string) (string, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// WaitReports waits until cond holds for the reports received, or ctx ends.
func (o *Office) WaitReports(ctx context.Context, cond func([]Report) bool) error {
	for {
		if cond(o.Reports()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reports: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
