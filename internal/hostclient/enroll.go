package hostclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mediagate/internal/policydoc"
)

// Refusals of Enroll before anything is sent or stored.
var (
	ErrAlreadyEnrolled = errors.New("this host is already enrolled")
	ErrFingerprint     = errors.New("the server's CA does not have the given fingerprint")
	ErrEnrollAnswer    = errors.New("the server's enrolment answer does not fit the request")
)

// EnrollOptions are the inputs of Enroll.
type EnrollOptions struct {
	Server      string // https://host[:port]
	Token       string
	Fingerprint string   // of the office CA, as `server init` printed it
	Host        string   // this host's number, as the token was issued for
	Dir         string   // enrolment directory (Dir of the database path)
	Force       bool     // replace an existing enrolment
	Baseline    []string // identity keys of the internal disks (see Enrolment.Baseline)
	Now         func() time.Time
	// Resolve finds the addresses of the server's name (default: the system's
	// resolver). They are recorded with the enrolment: the daemon dials them and
	// resolves nothing (its sandbox reaches no name server).
	Resolve func(ctx context.Context, host string) ([]net.IP, error)
}

// enrollRequest is the body of POST /v1/enroll. Baseline (the internal disks, for
// the office's host register) is optional.
type enrollRequest struct {
	Token    string   `json:"token"`
	Host     string   `json:"host"`
	CSR      string   `json:"csr"`
	Baseline []string `json:"baseline,omitempty"`
}

// EnrollResult is an enrolment done: the state stored, and the first policy or why
// it could not be fetched (the daemon fetches it then).
type EnrollResult struct {
	State     *State
	Policy    *policydoc.Policy
	PolicyErr error
}

// Enroll enrols this host with the office server. It connects, checks that the
// server's certificate chain holds the office CA with the given fingerprint and that
// the server's certificate was issued by that CA for the address dialled, and only
// then sends the token with a fresh ed25519 key's certificate request. It checks the
// answer (the certificate is ours, for this host, from that CA), stores the
// enrolment (mode 0600 in a 0700 directory) and fetches the first policy.
func Enroll(ctx context.Context, o EnrollOptions) (*EnrollResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if Enrolled(o.Dir) && !o.Force {
		return nil, ErrAlreadyEnrolled
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("office server address %q: want https://host[:port]", o.Server)
	}
	server := "https://" + u.Host
	fp := NormFingerprint(o.Fingerprint)
	if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
		return nil, fmt.Errorf("CA fingerprint %q: want 64 hex digits (SHA-256)", o.Fingerprint)
	}
	if o.Host == "" || o.Token == "" {
		return nil, errors.New("enrol: host number and token are required")
	}

	var addrs []string
	if net.ParseIP(u.Hostname()) == nil {
		resolve := o.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, host string) ([]net.IP, error) {
				return net.DefaultResolver.LookupIP(ctx, "ip", host)
			}
		}
		ips, err := resolve(ctx, u.Hostname())
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("resolve office server %s: %v", u.Hostname(), err)
		}
		for _, ip := range ips {
			if a := ip.String(); !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
	}

	pin := &caPin{fingerprint: fp, name: u.Hostname()}
	tr := &http.Transport{
		DialContext: pinnedDial(addrs),
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS13,
			// The chain is checked by VerifyConnection against the pinned CA alone,
			// before the request (and its token) is written.
			InsecureSkipVerify: true,
			VerifyConnection:   pin.verify,
		},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	defer hc.CloseIdleConnections()

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enrol: make host key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: o.Host}}, priv)
	if err != nil {
		return nil, fmt.Errorf("enrol: make certificate request: %w", err)
	}
	body, _ := json.Marshal(enrollRequest{Token: o.Token, Host: o.Host, Baseline: o.Baseline,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if perr := pin.failure(); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("enrol with %s: %w", server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("enrol with %s: %w", server, statusError(resp))
	}
	var ans struct {
		Certificate string `json:"certificate"`
		CA          string `json:"ca"`
		PolicyKey   string `json:"policy_key"`
	}
	if err := decodeBody(resp.Body, &ans); err != nil {
		return nil, fmt.Errorf("enrol with %s: %w", server, err)
	}
	ca := pin.pinned()
	gotCA, err := parseCert([]byte(ans.CA))
	if err != nil || ca == nil || !bytes.Equal(gotCA.Raw, ca.Raw) {
		return nil, fmt.Errorf("%w: the CA it returned is not the one with fingerprint %s", ErrEnrollAnswer, fp)
	}
	cert, err := parseCert([]byte(ans.Certificate))
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrEnrollAnswer, err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("%w: the certificate is not for this host's new key", ErrEnrollAnswer)
	}
	if err := checkHostCert(cert, ca, o.Host); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnrollAnswer, err)
	}
	policyKey, err := parsePolicyKey(strings.TrimSpace(ans.PolicyKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnrollAnswer, err)
	}

	st := &State{Dir: o.Dir, CA: ca, PolicyKey: policyKey, Enrolment: Enrolment{
		Server: server, Host: o.Host, CAFingerprint: fp, PolicyKeyID: policydoc.KeyID(policyKey), Enrolled: o.Now().UTC(),
		Baseline: o.Baseline, Addresses: addrs,
	}}
	if err := st.store(priv, cert); err != nil {
		return nil, err
	}
	loaded, err := Load(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("enrol: stored enrolment does not load: %w", err)
	}
	res := &EnrollResult{State: loaded}
	res.Policy, res.PolicyErr = fetchFirst(ctx, loaded)
	return res, nil
}

// store writes the enrolment: keys and certificates first, enrolment.json (what
// makes the host enrolled) last. A policy cached under an earlier enrolment goes.
func (st *State) store(priv ed25519.PrivateKey, cert *x509.Certificate) error {
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	if err := os.Chmod(st.Dir, 0o700); err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	enr, _ := json.MarshalIndent(st.Enrolment, "", "  ")
	if err := os.Remove(filepath.Join(st.Dir, FileEnrolment)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("enrol: %w", err)
	}
	if err := os.Remove(filepath.Join(st.Dir, FilePolicy)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("enrol: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{FileKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})},
		{FileCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})},
		{FileCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st.CA.Raw})},
		{FilePolicyKey, []byte(base64.StdEncoding.EncodeToString(st.PolicyKey) + "\n")},
		{FileEnrolment, append(enr, '\n')},
	} {
		if err := writeFileAtomic(filepath.Join(st.Dir, f.name), f.b); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
	}
	return nil
}

// fetchFirst fetches, verifies and caches the host's first policy.
func fetchFirst(ctx context.Context, st *State) (*policydoc.Policy, error) {
	c, err := NewClient(st)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	env, err := c.Policy(ctx, 0, 0, false)
	if err != nil {
		return nil, err
	}
	if env == nil {
		return nil, errors.New("the server has no policy for this host yet")
	}
	p, err := policydoc.Verify(env, st.PolicyKey, st.Host, 0)
	if err != nil {
		return nil, err
	}
	if err := st.SavePolicy(p); err != nil {
		return nil, err
	}
	return p, nil
}

// caPin checks a server's certificate chain against a CA known only by its
// fingerprint: the CA must be in the chain the server presents, and the server's
// certificate must be issued by it for the name dialled.
type caPin struct {
	fingerprint, name string

	mu  sync.Mutex
	ca  *x509.Certificate
	err error
}

func (p *caPin) verify(cs tls.ConnectionState) error {
	err := p.check(cs)
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	return err
}

func (p *caPin) check(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: the server presented no certificate", ErrFingerprint)
	}
	var ca *x509.Certificate
	for _, c := range cs.PeerCertificates {
		if Fingerprint(c) == p.fingerprint {
			ca = c
		}
	}
	if ca == nil && len(cs.PeerCertificates) == 1 {
		return fmt.Errorf("%w: the server presented only its own certificate; it must present the office CA after it (its chain: server certificate, then CA certificate)",
			ErrFingerprint)
	}
	if ca == nil {
		return fmt.Errorf("%w: no certificate in the server's chain has fingerprint %s (the chain's last is %s)",
			ErrFingerprint, p.fingerprint, Fingerprint(cs.PeerCertificates[len(cs.PeerCertificates)-1]))
	}
	if !ca.IsCA {
		return fmt.Errorf("%w: the certificate with that fingerprint is not a CA", ErrFingerprint)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: p.name}); err != nil {
		return fmt.Errorf("%w: the server's certificate is not issued by it for %s: %v", ErrFingerprint, p.name, err)
	}
	p.mu.Lock()
	p.ca = ca
	p.mu.Unlock()
	return nil
}

func (p *caPin) pinned() *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ca
}

func (p *caPin) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// pinnedDial dials the server at the addresses recorded for its name (in order, the
// first that answers), so that nothing is resolved; with none recorded (a server
// given as an address, or an enrolment made before addresses were recorded) it dials
// as usual.
func pinnedDial(addrs []string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if len(addrs) == 0 {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var first error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a, port))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}
}
