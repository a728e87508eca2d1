// Package server is the office server (mediagate server run): HTTPS with mutual TLS
// over the service layer. Hosts enrol with a one-time token, long-poll their signed
// policy, report what they saw and send registration requests; officers call the
// service's operations with their client certificates. Every request is hostile
// until checked: a refused one gets a clear error, an audit row (office.refused),
// and changes nothing.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/office/ledger"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/wire"
	"mediagate/internal/service"
)

// Defaults of Config.
const (
	DefaultMaxConns   = 4096
	DefaultWait       = 30 * time.Second
	MaxWait           = 60 * time.Second
	DefaultRefusalsPS = 50
)

// Config configures a Server.
type Config struct {
	Service *service.Service
	Office  *pki.Office
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// MaxConns bounds the open connections (default DefaultMaxConns).
	MaxConns int
	// Message renders the English text of a message code for error bodies
	// (internal/catalog); nil shows the code.
	Message func(code string, args []any) string
	// RefusalsPerSecond bounds the office.refused audit rows (a flood of bad requests
	// must not flood the log); the rest are counted and logged (default 50).
	RefusalsPerSecond int
	// ObserveFetch, when set, is told how long each policy answer with a body took
	// server-side: from the request (or, for a long poll, from the moment it was
	// woken) until the envelope was written. For benchmarks.
	ObserveFetch func(d time.Duration, bytes int)
	// Ledger receives the hosts' audit logs (POST /v1/host/log); nil refuses them.
	Ledger *ledger.Ledger
}

// Server is the office server.
type Server struct {
	cfg    Config
	svc    *service.Service
	book   *policyBook
	pool   *x509.CertPool
	tlsCfg *tls.Config
	pub    ed25519.PublicKey

	refMu      sync.Mutex
	refWindow  time.Time
	refCount   int
	refDropped int
}

// New returns a server; Serve runs it.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Office == nil {
		return nil, errors.New("office server: service and office keys are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.RefusalsPerSecond <= 0 {
		cfg.RefusalsPerSecond = DefaultRefusalsPS
	}
	if cfg.Message == nil {
		cfg.Message = func(code string, args []any) string { return code }
	}
	// The chain presented is the server's certificate and then the office CA: an
	// enrolling host finds the CA in it by its fingerprint before it sends its token.
	chain := append(append([]byte{}, cfg.Office.ServerPEM...), cfg.Office.CA.PEM...)
	cert, err := tls.X509KeyPair(chain, mustKeyPEM(cfg.Office.ServerKey))
	if err != nil {
		return nil, fmt.Errorf("office server: server certificate: %w", err)
	}
	s := &Server{cfg: cfg, svc: cfg.Service, pool: cfg.Office.CA.Pool(), pub: cfg.Office.PolicyKey.Public().(ed25519.PublicKey)}
	s.book = newPolicyBook(cfg.Service, cfg.Office.PolicyKey, cfg.Now, cfg.Log.With("component", "policy"))
	s.tlsCfg = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// The certificate is checked per request (verifyPeer), so that a bad one gets
		// an answer that says why and an audit row, not a bare handshake alert.
		ClientAuth: tls.RequestClientCert,
	}
	return s, nil
}

func mustKeyPEM(k ed25519.PrivateKey) []byte {
	b, err := pki.KeyPEM(k)
	if err != nil {
		panic(err)
	}
	return b
}

// Changed is the service's change hook for the server: hosts' policies are computed
// again. The wiring passes it as service.Config.Changed.
func (s *Server) Changed(context.Context) { s.book.Kick() }

// Kick asks for the host policies to be computed again.
func (s *Server) Kick() { s.book.Kick() }

// Serve serves on ln (a plain TCP listener; TLS is added here) until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.book.run(ctx)
	mux := http.NewServeMux()
	mux.HandleFunc(wire.PathEnroll, s.handleEnroll)
	mux.HandleFunc(wire.PathPolicy, s.hostOnly(s.handlePolicy))
	mux.HandleFunc(wire.PathReport, s.hostOnly(s.handleReport))
	mux.HandleFunc(wire.PathRequests, s.hostOnly(s.handleRequest))
	mux.HandleFunc(wire.PathLog, s.hostOnly(s.handleLog))
	mux.HandleFunc(wire.PathOfficer, s.handleOfficer)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.refuse(w, r, http.StatusNotFound, "not-found", r.URL.Path, "", "")
	})
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A long poll waits up to MaxWait, then sends up to 32 MiB.
		WriteTimeout:   MaxWait + 60*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 32 << 10,
		TLSConfig:      s.tlsCfg,
		ErrorLog:       slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	lim := &limitListener{Listener: ln, sem: make(chan struct{}, s.cfg.MaxConns)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(lim, s.tlsCfg)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = hs.Shutdown(sctx)
	hs.Close()
	<-errc
	return nil
}

// WaitReady waits for the first computation of the host policies.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.book.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats reports the policy computations, for benchmarks and status.
func (s *Server) Stats() (runs int, last time.Duration, bumped int) {
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	return s.book.stats.Runs, s.book.stats.Last, s.book.stats.Bumped
}

// limitListener bounds the open connections: Accept waits while MaxConns are open.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// refuse answers a refused request and writes its audit row (rate-limited).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code, detail, host, subject string, args ...any) {
	s.recordRefusal(r, code, detail, host, subject)
	msg := s.cfg.Message("office."+code, args)
	if msg == "office."+code {
		msg = code
	}
	if detail != "" {
		msg += ": " + detail
	}
	writeJSON(w, status, &wire.Error{Kind: "office", Code: "office." + code, Args: wire.EncodeArgs(args), Message: msg})
}

func (s *Server) recordRefusal(r *http.Request, code, detail, host, subject string) {
	if len(detail) > 300 {
		detail = detail[:300]
	}
	now := time.Now()
	s.refMu.Lock()
	if now.Sub(s.refWindow) >= time.Second {
		if s.refDropped > 0 {
			s.cfg.Log.Warn("refused requests not written to the audit log (rate limit)", "count", s.refDropped)
		}
		s.refWindow, s.refCount, s.refDropped = now, 0, 0
	}
	s.refCount++
	over := s.refCount > s.cfg.RefusalsPerSecond
	if over {
		s.refDropped++
	}
	s.refMu.Unlock()
	s.cfg.Log.Info("request refused", "code", code, "detail", detail, "endpoint", r.URL.Path, "remote", r.RemoteAddr,
		"host", host, "subject", subject)
	if over {
		return
	}
	ctx := audit.WithActor(context.WithoutCancel(r.Context()), actorOf(subject, r))
	err := s.svc.RecordRefusal(ctx, event.OfficeRefused{Code: code, Detail: detail, Endpoint: r.URL.Path, Host: host,
		Remote: r.RemoteAddr, Subject: subject})
	if err != nil {
		s.cfg.Log.Error("audit row of a refused request", "err", err)
	}
}

func actorOf(subject string, r *http.Request) audit.Actor {
	if subject == "" {
		subject = "remote " + r.RemoteAddr
	}
	return audit.Actor{UID: -1, User: subject}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// peer is who a verified client certificate names.
type peer struct {
	cn     string
	serial string
}

// verifyPeer checks the client certificate against the office CA; it returns the
// refusal code when it fails.
func (s *Server) verifyPeer(r *http.Request) (peer, string, string) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return peer{}, "no-cert", ""
	}
	c := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, ic := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	_, err := c.Verify(x509.VerifyOptions{Roots: s.pool, Intermediates: inter, CurrentTime: s.cfg.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return peer{cn: c.Subject.CommonName}, "bad-cert", err.Error()
	}
	return peer{cn: c.Subject.CommonName, serial: pki.SerialHex(c)}, "", ""
}

// hostOnly admits requests with the certificate of an enrolled, non-revoked host:
// its current certificate (the serial the register holds). The host is the
// certificate's CN, never a field of the body.
func (s *Server) hostOnly(h func(w http.ResponseWriter, r *http.Request, host service.OfficeHost)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, ok := s.authHost(w, r)
		if !ok {
			return
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{UID: -1, User: "host:" + host.Number})
		h(w, r.WithContext(ctx), host)
	}
}

func (s *Server) authHost(w http.ResponseWriter, r *http.Request) (service.OfficeHost, bool) {
	p, code, detail := s.verifyPeer(r)
	if code != "" {
		s.refuse(w, r, http.StatusUnauthorized, code, detail, "", p.cn)
		return service.OfficeHost{}, false
	}
	if strings.HasPrefix(p.cn, pki.OfficerPrefix) {
		s.refuse(w, r, http.StatusForbidden, "not-host", "", "", p.cn)
		return service.OfficeHost{}, false
	}
	h, err := s.lookupHost(r.Context(), p.cn)
	switch {
	case errors.Is(err, service.ErrNotFound):
		s.refuse(w, r, http.StatusForbidden, "unknown-host", "", p.cn, p.cn, p.cn)
		return h, false
	case err != nil:
		s.internal(w, r, err)
		return h, false
	case !h.Revoked.IsZero():
		s.refuse(w, r, http.StatusForbidden, "revoked", "", h.Number, p.cn, h.Number)
		return h, false
	case h.CertSerial == "" || h.CertSerial != p.serial:
		s.refuse(w, r, http.StatusForbidden, "stale-cert", "serial "+p.serial, h.Number, p.cn, h.Number)
		return h, false
	}
	return h, true
}

// lookupHost returns a host's record: from the last compute when no change is
// pending, else from the register.
func (s *Server) lookupHost(ctx context.Context, number string) (service.OfficeHost, error) {
	h, found, cached := s.book.cachedHost(number)
	switch {
	case !cached:
		return s.svc.OfficeHost(ctx, number)
	case !found:
		return h, &service.StoreError{Kind: service.ErrNotFound, Code: "err.no-office-host", Args: []any{number}}
	}
	return h, nil
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Log.Error("request failed", "endpoint", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, &wire.Error{Kind: "internal", Message: "internal error"})
}

// decode reads a request body strictly; a refusal is answered and logged.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, host, subject string) bool {
	return s.decodeMax(w, r, v, host, subject, wire.MaxBody)
}

// decodeMax is decode with a limit of its own.
func (s *Server) decodeMax(w http.ResponseWriter, r *http.Request, v any, host, subject string, maxBody int64) bool {
	if r.Method != http.MethodPost {
		s.refuse(w, r, http.StatusMethodNotAllowed, "method", r.Method, host, subject)
		return false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.refuse(w, r, http.StatusUnsupportedMediaType, "bad-body", "content type "+ct, host, subject)
		return false
	}
	if r.ContentLength > maxBody {
		s.refuse(w, r, http.StatusRequestEntityTooLarge, "too-large", strconv.FormatInt(r.ContentLength, 10)+" bytes", host, subject, maxBody)
		return false
	}
	err := wire.Decode(http.MaxBytesReader(w, r.Body, maxBody+1), maxBody, v)
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, wire.ErrTooLarge) || errors.As(err, &mbe):
		s.refuse(w, r, http.StatusRequestEntityTooLarge, "too-large", "", host, subject, maxBody)
		return false
	case err != nil:
		s.refuse(w, r, http.StatusBadRequest, "bad-body", err.Error(), host, subject)
		return false
	}
	return true
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req wire.EnrollRequest
	if !s.decode(w, r, &req, "", "") {
		return
	}
	host := strings.TrimSpace(req.Host)
	if host == "" || len(host) > 64 {
		s.refuse(w, r, http.StatusBadRequest, "bad-body", "host", "", "")
		return
	}
	certPEM, err := enrol(audit.WithActor(r.Context(), audit.Actor{UID: -1, User: "host:" + host}), s.svc, s.cfg.Office, s.cfg.Now(),
		host, []byte(req.CSR), service.EnrolRequest{Token: req.Token, Baseline: req.Baseline, Remote: r.RemoteAddr})
	var se *service.StoreError
	switch {
	case errors.Is(err, pki.ErrBadCSR):
		s.refuse(w, r, http.StatusBadRequest, "bad-csr", err.Error(), host, "")
		return
	case errors.Is(err, service.ErrBadToken) && errors.As(err, &se):
		s.refuse(w, r, http.StatusForbidden, "bad-token", s.cfg.Message(se.Code, se.Args), host, "")
		return
	case errors.Is(err, service.ErrBadRequest):
		s.refuse(w, r, http.StatusBadRequest, "bad-body", err.Error(), host, "")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.EnrollResponse{Certificate: string(certPEM), CA: string(s.cfg.Office.CA.PEM),
		PolicyKey: base64.StdEncoding.EncodeToString(s.pub)})
}

// enrol issues a host's certificate for its CSR and spends its token (r's Token,
// Baseline and Remote are used): the enrolment of the network (POST /v1/enroll) and
// of a file (EnrollFile). The certificate is returned only once the token is spent;
// a refused token leaves the register as it was and the certificate unused and
// unknown. A refused CSR wraps pki.ErrBadCSR.
func enrol(ctx context.Context, svc *service.Service, office *pki.Office, now time.Time, host string, csr []byte, r service.EnrolRequest) ([]byte, error) {
	serial := pki.NewSerial()
	certPEM, err := office.CA.IssueHost(csr, host, serial, now)
	if err != nil {
		return nil, err
	}
	r.Host, r.CertSerial = host, serial.Text(16)
	if _, err := svc.Enrol(ctx, r); err != nil {
		return nil, err
	}
	return certPEM, nil
}

// handlePolicy is the long poll: 200 with the envelope once the host's version is
// above after, else 204 after wait seconds.
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request, host service.OfficeHost) {
	if r.Method != http.MethodGet {
		s.refuse(w, r, http.StatusMethodNotAllowed, "method", r.Method, host.Number, host.Number)
		return
	}
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.refuse(w, r, http.StatusBadRequest, "bad-query", "after="+clip(v), host.Number, host.Number)
			return
		}
		after = n
	}
	wait := DefaultWait
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > int(MaxWait/time.Second) {
			s.refuse(w, r, http.StatusBadRequest, "bad-query", "wait="+clip(v), host.Number, host.Number)
			return
		}
		wait = time.Duration(n) * time.Second
	}
	// delta=1: the host holds version after and can apply a delta from it.
	var wantDelta bool
	switch v := q.Get("delta"); v {
	case "", "0":
	case "1":
		wantDelta = after > 0
	default:
		s.refuse(w, r, http.StatusBadRequest, "bad-query", "delta="+clip(v), host.Number, host.Number)
		return
	}
	ctx := r.Context()
	start := time.Now()
	if err := s.WaitReady(ctx); err != nil {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		p, version, changed := s.book.current(host.Number)
		if p != nil && version > after {
			var env []byte
			var err error
			if wantDelta {
				env, err = s.book.delta(host.Number, p, after)
			}
			if env == nil && err == nil {
				env, err = s.book.envelope(host.Number, p)
			}
			if err != nil {
				s.internal(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(env)))
			w.WriteHeader(http.StatusOK)
			w.Write(env)
			if s.cfg.ObserveFetch != nil {
				s.cfg.ObserveFetch(time.Since(start), len(env))
			}
			return
		}
		if changed == nil {
			// Not computed yet (added a moment ago): the next compute publishes it.
			s.book.Kick()
			c := make(chan struct{})
			changed = c
			go func() {
				select {
				case <-time.After(200 * time.Millisecond):
				case <-ctx.Done():
				}
				close(c)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-changed:
			start = time.Now()
			// Woken: a revoked host's poll ends here.
			h, err := s.lookupHost(ctx, host.Number)
			if err != nil || !h.Revoked.IsZero() || h.CertSerial != host.CertSerial {
				s.refuse(w, r, http.StatusForbidden, "revoked", "", host.Number, host.Number, host.Number)
				return
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, host service.OfficeHost) {
	var rep wire.Report
	if !s.decode(w, r, &rep, host.Number, host.Number) {
		return
	}
	seen := make([]service.Seen, 0, len(rep.Seen))
	for _, v := range rep.Seen {
		seen = append(seen, service.Seen{Medium: v.Medium, Host: host.Number, Key: v.Key, Decision: v.Decision, Reason: v.Reason, Time: v.Time})
	}
	err := s.svc.RecordHostReport(r.Context(), host.Number, service.HostReport{Daemon: rep.Daemon, PolicyVersion: rep.PolicyVersion, Seen: seen})
	if err != nil {
		s.serviceRefusal(w, r, err, host.Number, host.Number, true)
		return
	}
	if len(rep.CheckIns) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// A vault station's check-ins: the office's campaign, under the service's rules.
	cis := make([]service.StationCheckIn, 0, len(rep.CheckIns))
	for _, c := range rep.CheckIns {
		cis = append(cis, service.StationCheckIn{ID: c.ID, Seen: c.Seen, Device: c.Device})
	}
	outs, err := s.svc.StationCheckIns(r.Context(), host.Number, cis)
	if err != nil {
		s.serviceRefusal(w, r, err, host.Number, host.Number, true)
		return
	}
	ans := wire.ReportAnswer{CheckIns: make([]wire.StationOutcome, 0, len(outs))}
	for _, o := range outs {
		ans.CheckIns = append(ans.CheckIns, wire.StationOutcome{ID: o.ID, Outcome: o.Outcome, Number: o.Number, Code: o.Code})
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, host service.OfficeHost) {
	var req wire.RegistrationRequest
	if !s.decode(w, r, &req, host.Number, host.Number) {
		return
	}
	got, err := s.svc.SubmitRegistration(r.Context(), host.Number, service.SubmitRequest{Identity: req.Identity, Level: req.Level,
		Purpose: req.Purpose, Requester: req.Requester, Label: req.Label})
	if err != nil {
		s.serviceRefusal(w, r, err, host.Number, host.Number, true)
		return
	}
	writeJSON(w, http.StatusOK, wire.RequestID{ID: got.ID})
}

// serviceRefusal answers an error of the service: a refusal by its rules with its
// code (and an audit row), anything else as an internal error.
func (s *Server) serviceRefusal(w http.ResponseWriter, r *http.Request, err error, host, subject string, record bool) {
	e := wire.FromError(err, s.cfg.Message)
	if e.Kind == "internal" {
		s.internal(w, r, err)
		return
	}
	status := http.StatusConflict
	switch {
	case e.Kind == "bad-request" || e.Sentinel == "invalid":
		status = http.StatusBadRequest
	case e.Sentinel == "not-found" || e.Sentinel == "no-host" || e.Sentinel == "no-campaign":
		status = http.StatusNotFound
	}
	if record {
		s.recordRefusal(r, "service", e.Code+" "+e.Message, host, subject)
	}
	writeJSON(w, status, e)
}
