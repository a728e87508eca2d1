package hostclient

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/carry"
	"mediagate/internal/event"
	"mediagate/internal/policydoc"
)

// Enrolment by file, for a standalone host (单机) that never reaches the server: the
// host writes a request signed with its new key (RequestFile), the officer carries it
// to the server (`server host enroll-file`) and the answer back (EnrollFromFile). The
// checks of the answer are those of the network enrolment (Enroll): the CA is the one
// with the fingerprint the officer gives, the certificate is for the new key and this
// host, issued by that CA for client authentication, the policy key is 32 bytes; and
// the answer is signed with the CA's key, since no TLS connection vouches for it.

// FilePending holds the key of a request written and not answered yet (0600).
const FilePending = "enroll-pending.json"

// ErrNoPending is returned by EnrollFromFile when this host wrote no request.
var ErrNoPending = errors.New("no enrolment request of this host is waiting for an answer (write one with host enroll --request)")

type pending struct {
	Host     string    `json:"host"`
	Key      string    `json:"key"` // PKCS #8 PEM
	Baseline []string  `json:"baseline,omitempty"`
	Created  time.Time `json:"created"`
}

// RequestFileOptions are the inputs of RequestFile.
type RequestFileOptions struct {
	Dir      string // enrolment directory
	Host     string
	Token    string // optional one-time token
	Baseline []string
	Force    bool
	Now      func() time.Time
}

// RequestFile makes this host's key pair, keeps it as pending in the enrolment
// directory and returns the signed request file. A second request replaces the
// first (only the newest key's answer is accepted).
func RequestFile(o RequestFileOptions) ([]byte, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if Enrolled(o.Dir) && !o.Force {
		return nil, ErrAlreadyEnrolled
	}
	req := carry.EnrollRequest{Host: o.Host, Token: o.Token, Baseline: o.Baseline, Created: o.Now().UTC().Truncate(time.Millisecond)}
	req.CSR = "-" // checked below with the real one
	if err := req.Check(); err != nil {
		return nil, fmt.Errorf("enrolment request: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enrolment request: make host key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: o.Host}}, priv)
	if err != nil {
		return nil, fmt.Errorf("enrolment request: %w", err)
	}
	req.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	out, err := carry.Seal(carry.KindEnrollRequest, req, priv, nil)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	p, _ := json.Marshal(pending{Host: o.Host, Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		Baseline: o.Baseline, Created: req.Created})
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("enrolment request: %w", err)
	}
	if err := os.Chmod(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("enrolment request: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(o.Dir, FilePending), p); err != nil {
		return nil, fmt.Errorf("enrolment request: %w", err)
	}
	return out, nil
}

// ResponseFileOptions are the inputs of EnrollFromFile.
type ResponseFileOptions struct {
	Dir         string
	Response    []byte // the answer file's bytes
	Fingerprint string // of the office CA, as `server init` printed it
	Force       bool
	Now         func() time.Time
}

// EnrollFromFile checks the office's answer to this host's pending request and
// stores the enrolment (and the first policy, when the answer carries one). Nothing
// is stored when a check fails.
func EnrollFromFile(o ResponseFileOptions) (*EnrollResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if Enrolled(o.Dir) && !o.Force {
		return nil, ErrAlreadyEnrolled
	}
	fp := NormFingerprint(o.Fingerprint)
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("CA fingerprint %q: want 64 hex digits (SHA-256)", o.Fingerprint)
	}
	raw, err := os.ReadFile(filepath.Join(o.Dir, FilePending))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPending
	}
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	var pend pending
	if err := json.Unmarshal(raw, &pend); err != nil {
		return nil, fmt.Errorf("enrol: %s: %w", FilePending, err)
	}
	blk, _ := pem.Decode([]byte(pend.Key))
	if blk == nil {
		return nil, fmt.Errorf("enrol: %s: no key", FilePending)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	priv, ok := k.(ed25519.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("enrol: %s: not an ed25519 key", FilePending)
	}

	sealed, err := carry.Parse(o.Response, carry.KindEnrollResponse)
	if err != nil {
		return nil, err
	}
	// The signer is the CA the answer names: it is decoded before the signature is
	// checked, and trusted only once its fingerprint is the one the officer gave.
	var ans carry.EnrollResponse
	if err := carry.DecodeStrict(sealed.Payload, &ans); err != nil {
		return nil, fmt.Errorf("read enrolment answer: %w", err)
	}
	ca, err := parseCert([]byte(ans.CA))
	if err != nil {
		return nil, fmt.Errorf("read enrolment answer: %w: CA: %v", carry.ErrInvalid, err)
	}
	if Fingerprint(ca) != fp {
		return nil, fmt.Errorf("%w (the answer's CA has %s)", ErrFingerprint, Fingerprint(ca))
	}
	caPub, ok := ca.PublicKey.(ed25519.PublicKey)
	if !ok || !ca.IsCA {
		return nil, fmt.Errorf("%w: the office CA is not an ed25519 CA", ErrFingerprint)
	}
	if err := sealed.Verify(caPub); err != nil {
		return nil, err
	}
	if err := ans.Check(); err != nil {
		return nil, fmt.Errorf("read enrolment answer: %w", err)
	}
	if ans.Host != pend.Host {
		return nil, fmt.Errorf("%w: answer for host %q, this host asked as %q", carry.ErrOtherHost, ans.Host, pend.Host)
	}
	cert, err := parseCert([]byte(ans.Certificate))
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrEnrollAnswer, err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("%w: the certificate is not for this host's pending key (an answer to another or an older request)", ErrEnrollAnswer)
	}
	if err := checkHostCert(cert, ca, pend.Host); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnrollAnswer, err)
	}
	policyKey, err := parsePolicyKey(strings.TrimSpace(ans.PolicyKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnrollAnswer, err)
	}
	var first *policydoc.Policy
	if len(ans.Policy) > 0 {
		var env []byte
		if err := json.Unmarshal(ans.Policy, &env); err != nil {
			return nil, fmt.Errorf("%w: policy: %v", ErrEnrollAnswer, err)
		}
		if first, err = policydoc.Verify(env, policyKey, pend.Host, 0); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEnrollAnswer, err)
		}
	}

	st := &State{Dir: o.Dir, CA: ca, PolicyKey: policyKey, Enrolment: Enrolment{
		Host: pend.Host, CAFingerprint: fp, PolicyKeyID: policydoc.KeyID(policyKey), Enrolled: o.Now().UTC(), Baseline: pend.Baseline,
	}}
	if err := st.store(priv, cert); err != nil {
		return nil, err
	}
	loaded, err := Load(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("enrol: stored enrolment does not load: %w", err)
	}
	res := &EnrollResult{State: loaded, Policy: first}
	if first != nil {
		if err := loaded.SavePolicy(first); err != nil {
			return nil, err
		}
	} else {
		res.PolicyErr = errors.New("the answer carries no policy yet: carry one in with policy import")
	}
	if err := os.Remove(filepath.Join(o.Dir, FilePending)); err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	return res, nil
}

// Standalone reports whether the host was enrolled by file: it has no server to
// reach, and its policy and log travel by file.
func (e Enrolment) Standalone() bool { return e.Server == "" }

// SealLog writes the host's rows (continuing row after, the last one the office
// acknowledged) as a log file signed with the host's key, carrying its certificate.
func (st *State) SealLog(after int64, rows []*audit.Event, now time.Time) ([]byte, carry.LogBatch, error) {
	priv, ok := st.Cert.PrivateKey.(ed25519.PrivateKey)
	if !ok || len(st.Cert.Certificate) == 0 {
		return nil, carry.LogBatch{}, errors.New("seal log: the host key is not an ed25519 key")
	}
	b, err := carry.NewLogBatch(st.Host, after, rows, now)
	if err != nil {
		return nil, b, fmt.Errorf("seal log: %w", err)
	}
	out, err := carry.Seal(carry.KindLog, b, priv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st.Cert.Certificate[0]}))
	return out, b, err
}

// ImportPolicy verifies a policy carried in by file and writes it to the cache,
// where the daemon's cache watcher puts it in force and decides every present device
// again (within CheckEvery), as it does for a policy from the server. The policy must
// be signed with the enrolled policy key, for this host, and of a version above both
// the cache's and highWater (the highest version the host's log records as once in
// force): the same policy again is a replay, an older one a rollback. record writes
// the audit row: policy.applied (source import) or policy.refused.
func ImportPolicy(ctx context.Context, st *State, envelope []byte, highWater uint64,
	record func(ctx context.Context, kind event.Kind, details any) error) (p *policydoc.Policy, prev uint64, err error) {
	cur, _, cerr := st.CachedPolicy()
	if cerr == nil && cur != nil {
		prev = cur.Document.Version
	}
	floor := max(prev, highWater)
	p, err = policydoc.Verify(envelope, st.PolicyKey, st.Host, floor+1)
	if err == nil {
		err = st.SavePolicy(p)
	}
	if err != nil {
		if reason := policydoc.Reason(err); reason != "" {
			if rerr := record(ctx, event.KindPolicyRefused, event.PolicyRefused{Error: err.Error(), Host: st.Host, InForce: floor,
				Reason: reason, Source: event.PolicyFromImport}); rerr != nil {
				return nil, prev, errors.Join(err, rerr)
			}
		}
		return nil, prev, err
	}
	err = record(ctx, event.KindPolicyApplied, event.PolicyApplied{Host: st.Host, IssuedAt: p.Document.IssuedAt.UTC(),
		KeyID: st.PolicyKeyID, Media: len(p.Document.Media), Previous: prev, Source: event.PolicyFromImport, Version: p.Document.Version})
	return p, prev, err
}
