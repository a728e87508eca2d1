package server

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"mediagate/internal/anchor"
	"mediagate/internal/audit"
	"mediagate/internal/carry"
	"mediagate/internal/event"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/service"
)

// The office's side of a standalone host (单机): its enrolment, its policy and its
// log carried by file (internal/carry). The checks are the network's: the same
// enrolment (enrol), the same policy book and envelope, the same ledger.

// Receiver takes a host's audit rows into the office's copy of its chain and
// acknowledges them: *ledger.Ledger; host is the office host id.
type Receiver interface {
	Receive(ctx context.Context, host string, rows []*audit.Event) (anchor.Ack, error)
}

// Files handles carried files against the office's register and keys.
type Files struct {
	svc    *service.Service
	office *pki.Office
	now    func() time.Time
	log    *slog.Logger
}

// NewFiles returns the office's handler of carried files.
func NewFiles(svc *service.Service, office *pki.Office, now func() time.Time, log *slog.Logger) *Files {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Files{svc: svc, office: office, now: now, log: log}
}

// Refusal reasons of the office beyond carry.Reason.
var (
	ErrUnknownHost = errors.New("host not in the office register")
	ErrRevoked     = errors.New("host revoked")
	ErrStaleCert   = errors.New("host certificate replaced since (enrolled again)")
	ErrEnrolled    = errors.New("host already enrolled")
	ErrNoApproval  = errors.New("request carries no token")
)

// FileReason is the short name of a refusal of a carried file.
func FileReason(err error) string {
	switch {
	case errors.Is(err, ErrUnknownHost):
		return "unknown-host"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	case errors.Is(err, ErrStaleCert):
		return "stale-cert"
	case errors.Is(err, ErrEnrolled):
		return "enrolled"
	case errors.Is(err, ErrNoApproval):
		return "no-token"
	case errors.Is(err, service.ErrBadToken):
		return "bad-token"
	case errors.Is(err, pki.ErrBadCSR):
		return "bad-csr"
	case errors.Is(err, ledger.ErrBroken):
		return "chain"
	case errors.Is(err, ledger.ErrGap):
		return "gap"
	case errors.Is(err, ledger.ErrBadBatch):
		return "invalid"
	}
	return carry.Reason(err)
}

// Refused writes the audit row of a refused file (typ: carry.Kind… or "ack").
func (f *Files) Refused(ctx context.Context, typ string, file []byte, host string, err error) {
	reason := FileReason(err)
	if reason == "" {
		reason = "error"
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	d := event.CarryRefused{Error: msg, File: carry.Digest(file), Host: host, Reason: reason, Type: typ}
	if rerr := f.svc.RecordCarry(context.WithoutCancel(ctx), d); rerr != nil {
		f.log.Error("audit row of a refused file", "err", rerr)
	}
}

// EnrollOptions are the officer's choices for EnrollFile.
type EnrollOptions struct {
	// Host is the number the officer enrols: the request must name it.
	Host string
	// Approve is the officer's say-so for a request without a token: a token is
	// issued and spent at once (both audited).
	Approve bool
	// Again replaces the certificate of a host enrolled before.
	Again bool
}

// EnrollFile answers a standalone host's enrolment request: the request is signed by
// the key of its certificate request, names the host the officer enrols, and carries
// the host's one-time token (a replayed request finds it spent) or the officer
// approves (a host enrolled already is refused unless Again). The answer, signed with the CA's key, holds the certificate, the CA,
// the policy public key and the host's first policy.
func (f *Files) EnrollFile(ctx context.Context, file []byte, o EnrollOptions) (answer []byte, req carry.EnrollRequest, err error) {
	s, err := carry.Parse(file, carry.KindEnrollRequest)
	if err != nil {
		return nil, req, err
	}
	// The signer is the key of the CSR inside: decoded first, trusted once the
	// signature verifies with it.
	if err := carry.DecodeStrict(s.Payload, &req); err != nil {
		return nil, req, fmt.Errorf("read enrolment request: %w", err)
	}
	csr, err := pki.ParseCSR([]byte(req.CSR))
	if err != nil {
		return nil, req, err
	}
	pub, ok := csr.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, req, fmt.Errorf("%w: the request's key is not ed25519", pki.ErrBadCSR)
	}
	if err := s.Verify(pub); err != nil {
		return nil, req, err
	}
	if err := req.Check(); err != nil {
		return nil, req, fmt.Errorf("read enrolment request: %w", err)
	}
	if req.Host != o.Host {
		return nil, req, fmt.Errorf("%w: the request is of host %q, not %q", carry.ErrOtherHost, clip(req.Host), o.Host)
	}
	h, err := f.svc.OfficeHost(ctx, o.Host)
	if errors.Is(err, service.ErrNotFound) {
		return nil, req, fmt.Errorf("%w: %s", ErrUnknownHost, o.Host)
	}
	if err != nil {
		return nil, req, err
	}
	token := req.Token
	if token == "" {
		if !o.Approve {
			return nil, req, ErrNoApproval
		}
		if h.CertSerial != "" && h.Revoked.IsZero() && !o.Again {
			return nil, req, fmt.Errorf("%w: %s", ErrEnrolled, o.Host)
		}
		t, err := f.svc.NewEnrolToken(ctx, o.Host, 10*time.Minute)
		if err != nil {
			return nil, req, err
		}
		token = t.Token
	}
	certPEM, err := enrol(ctx, f.svc, f.office, f.now(), o.Host, []byte(req.CSR),
		service.EnrolRequest{Token: token, Baseline: req.Baseline, Remote: "file:" + s.Digest[:16]})
	if err != nil {
		return nil, req, err
	}
	ans := carry.EnrollResponse{Host: o.Host, Certificate: string(certPEM), CA: string(f.office.CA.PEM),
		PolicyKey: base64.StdEncoding.EncodeToString(f.office.PolicyKey.Public().(ed25519.PublicKey)),
		Issued:    f.now().UTC().Truncate(time.Millisecond)}
	if env, _, err := f.ExportPolicy(ctx, o.Host); err == nil {
		ans.Policy, _ = json.Marshal(env)
	} else {
		f.log.Warn("enrolment answer without a policy", "host", o.Host, "err", err)
	}
	out, err := carry.Seal(carry.KindEnrollResponse, ans, f.office.CA.Key, nil)
	return out, req, err
}

// ErrNoPolicy is returned by ExportPolicy for a host without a policy (not in the
// register, or of no valid level).
var ErrNoPolicy = errors.New("no policy for this host")

// ExportPolicy returns the host's signed policy as the server would send it over
// the network: the register is read as the server's policy book reads it, the
// version is the one the register records for the host's current content (a new one
// when it changed, stored first), and the envelope is the same bytes.
func (f *Files) ExportPolicy(ctx context.Context, host string) ([]byte, uint64, error) {
	b := newPolicyBook(f.svc, f.office.PolicyKey, f.now, f.log.With("component", "policy"))
	if err := b.compute(ctx); err != nil {
		// A running server may have stored the same new version a moment before
		// (SetPolicyVersions refuses a version twice): read the register again.
		b = newPolicyBook(f.svc, f.office.PolicyKey, f.now, f.log.With("component", "policy"))
		if err := b.compute(ctx); err != nil {
			return nil, 0, err
		}
	}
	p, version, _ := b.current(host)
	if p == nil {
		return nil, 0, fmt.Errorf("%w %s", ErrNoPolicy, host)
	}
	env, err := b.envelope(host, p)
	return env, version, err
}

// LogImport is a host's log file taken in.
type LogImport struct {
	Host  string // number
	Batch carry.LogBatch
	Ack   anchor.Ack
	File  string // SHA-256 of the file
	Held  int64  // the office's head for the host before the file
}

// headReader is a Receiver that tells the office's head of a host's chain (the
// ledger's Head).
type headReader interface {
	Head(ctx context.Context, host string) (anchor.Ack, error)
}

// ImportLog checks a host's log file and hands its rows to the ledger: the file is
// signed with the key of the certificate it carries, that certificate is the office
// CA's, for client authentication, of a host in the register whose current
// certificate it is (not revoked, not replaced), and the rows are the host's chain
// (carry.LogBatch.Events). The ledger checks the rows continue the office's copy.
//
// A file whose rows the office holds already is refused as a replay (ErrReplay,
// nothing changed) unless ackAgain: then its acknowledgement is given again, for a
// host that never got it. A file that ends before the office's head is refused as
// old (ErrOld).
func (f *Files) ImportLog(ctx context.Context, file []byte, recv Receiver, ackAgain bool) (LogImport, error) {
	var out LogImport
	s, err := carry.Parse(file, carry.KindLog)
	if err != nil {
		return out, err
	}
	out.File = s.Digest
	cert, err := pki.ParseCert(s.Cert)
	if err != nil {
		return out, fmt.Errorf("verify log file: %w: %v", carry.ErrCert, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: f.office.CA.Pool(), CurrentTime: f.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return out, fmt.Errorf("verify log file: %w: not issued by the office CA: %v", carry.ErrCert, err)
	}
	// Only a name the office CA signed names the host (in messages and audit rows).
	cn := cert.Subject.CommonName
	h, err := f.svc.OfficeHost(ctx, cn)
	switch {
	case errors.Is(err, service.ErrNotFound):
		return out, fmt.Errorf("verify log file: %w: %s", ErrUnknownHost, clip(cn))
	case err != nil:
		return out, err
	}
	out.Host = h.Number
	switch {
	case !h.Revoked.IsZero():
		return out, fmt.Errorf("verify log file: %w: %s", ErrRevoked, h.Number)
	case h.CertSerial != pki.SerialHex(cert):
		return out, fmt.Errorf("verify log file: %w: %s", ErrStaleCert, h.Number)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return out, fmt.Errorf("verify log file: %w: not an ed25519 key", carry.ErrCert)
	}
	if err := s.Verify(pub); err != nil {
		return out, err
	}
	if err := carry.DecodeStrict(s.Payload, &out.Batch); err != nil {
		return out, fmt.Errorf("read log file: %w", err)
	}
	if out.Batch.Host != h.Number {
		return out, fmt.Errorf("read log file: %w: rows of %q signed by %s", carry.ErrOtherHost, clip(out.Batch.Host), h.Number)
	}
	rows, err := out.Batch.Events()
	if err != nil {
		return out, fmt.Errorf("read log file: %w", err)
	}
	// What the office held before: a file whose rows it holds already changes
	// nothing. The ledger still compares them (a rewritten row is a broken chain).
	ctx = ledger.WithSource(ctx, ledger.SourceFile)
	held := int64(-1)
	if hr, ok := recv.(headReader); ok {
		head, err := hr.Head(ctx, h.ID)
		switch {
		case errors.Is(err, ledger.ErrNoChain):
			held = 0
		case err != nil:
			return out, err
		default:
			held = head.Seq
		}
	}
	// The ledger takes at most ledger.MaxBatch rows at a time.
	var ack anchor.Ack
	for chunk := range slices.Chunk(rows, ledger.MaxBatch) {
		if ack, err = recv.Receive(ctx, h.ID, chunk); err != nil {
			return out, err
		}
	}
	out.Ack = ack
	if held < 0 {
		held = ack.Seq - int64(len(rows)) // without Head: only the newest rows count as new
	}
	out.Held = held
	switch {
	case ack.Seq > out.Batch.Last || held > out.Batch.Last:
		return out, fmt.Errorf("%w: the office holds %s's log up to row %d, this file ends at row %d", carry.ErrOld, h.Number, max(ack.Seq, held), out.Batch.Last)
	case held >= out.Batch.Last && !ackAgain:
		return out, fmt.Errorf("%w: the office holds rows %d..%d of %s already", carry.ErrReplay, out.Batch.First, out.Batch.Last, h.Number)
	}
	if err := f.svc.RecordCarry(ctx, event.CarryLogImport{AckSeq: ack.Seq, File: s.Digest, First: out.Batch.First, Host: h.Number,
		Last: out.Batch.Last, Rows: len(rows)}); err != nil {
		return out, err
	}
	return out, nil
}
