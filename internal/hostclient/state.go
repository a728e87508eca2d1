package hostclient

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mediagate/internal/policydoc"
)

// Files of the enrolment directory.
const (
	FileEnrolment = "enrolment.json" // Enrolment
	FileKey       = "host.key"       // the host's ed25519 private key, PKCS #8 PEM
	FileCert      = "host.crt"       // the host's certificate, PEM
	FileCA        = "ca.crt"         // the office CA certificate, PEM
	FilePolicyKey = "policy.pub"     // the policy signing public key, base64
	FilePolicy    = "policy.json"    // the policy envelope in force (policydoc)
)

// ErrNotEnrolled is returned by Load on a host that was never enrolled.
var ErrNotEnrolled = errors.New("this host is not enrolled with an office server")

// Dir is the enrolment directory of the host whose local database is dbPath.
func Dir(dbPath string) string { return filepath.Join(filepath.Dir(dbPath), "office") }

// Enrolled reports whether dir holds an enrolment (whatever its state).
func Enrolled(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Lstat(filepath.Join(dir, FileEnrolment))
	return err == nil
}

// Enrolment is what enrolment.json records.
type Enrolment struct {
	Server        string    `json:"server"`         // https://host:port
	Host          string    `json:"host"`           // this host's number: its certificate's CN
	CAFingerprint string    `json:"ca_fingerprint"` // SHA-256 of the CA certificate's DER, hex
	PolicyKeyID   string    `json:"policy_key_id"`  // policydoc.KeyID of the policy key
	Enrolled      time.Time `json:"enrolled"`
	// Baseline holds the identity keys of the internal disks present at enrolment
	// (as host init records them). The daemon adds them to the policy's baseline: they
	// are facts of this machine, which the office's register does not hold.
	Baseline []string `json:"baseline,omitempty"`
	// Addresses are the server's addresses, resolved from its name at enrolment (none
	// when the server was given as an address). The host dials them and resolves no
	// name later: the daemon's sandbox reaches the server's addresses only, and no
	// name server. A server that moves needs `host enroll --force`.
	Addresses []string `json:"addresses,omitempty"`
}

// State is an enrolled host's loaded enrolment: ready to dial the server and to
// verify policies.
type State struct {
	Dir string
	Enrolment
	Cert      tls.Certificate
	CA        *x509.Certificate
	PolicyKey ed25519.PublicKey
}

// Fingerprint is the CA fingerprint as office-api.md defines it: SHA-256 of the
// certificate's DER, lower-case hex.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// NormFingerprint lower-cases a fingerprint and drops the colons and spaces people
// copy with it.
func NormFingerprint(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
}

// ReadEnrolment reads only enrolment.json: where the host is enrolled, for messages.
func ReadEnrolment(dir string) (Enrolment, error) {
	var e Enrolment
	if dir == "" {
		return e, ErrNotEnrolled
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileEnrolment))
	if errors.Is(err, os.ErrNotExist) {
		return e, ErrNotEnrolled
	}
	if err != nil {
		return e, fmt.Errorf("read enrolment: %w", err)
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("read enrolment %s: %w", FileEnrolment, err)
	}
	return e, nil
}

// Load reads the enrolment in dir and checks that its parts fit together: the key is
// the certificate's, the certificate was issued by the CA to the recorded host, the
// CA has the recorded fingerprint, and the policy key has the recorded id.
func Load(dir string) (*State, error) {
	if dir == "" {
		return nil, ErrNotEnrolled
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileEnrolment))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	st := &State{Dir: dir}
	if err := json.Unmarshal(raw, &st.Enrolment); err != nil {
		return nil, fmt.Errorf("read enrolment %s: %w", FileEnrolment, err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, FileCert))
	if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, FileKey))
	if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	if st.Cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("read enrolment: host key and certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, FileCA))
	if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	if st.CA, err = parseCert(caPEM); err != nil {
		return nil, fmt.Errorf("read enrolment: office CA: %w", err)
	}
	if Fingerprint(st.CA) != st.CAFingerprint {
		return nil, fmt.Errorf("read enrolment: the office CA in %s is not the one enrolled with (fingerprint %s)", FileCA, st.CAFingerprint)
	}
	leaf, err := x509.ParseCertificate(st.Cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("read enrolment: host certificate: %w", err)
	}
	if err := checkHostCert(leaf, st.CA, st.Host); err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	pk, err := os.ReadFile(filepath.Join(dir, FilePolicyKey))
	if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	if st.PolicyKey, err = parsePolicyKey(strings.TrimSpace(string(pk))); err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	if policydoc.KeyID(st.PolicyKey) != st.PolicyKeyID {
		return nil, fmt.Errorf("read enrolment: the policy key in %s is not the one enrolled with", FilePolicyKey)
	}
	return st, nil
}

// CachedPolicy reads and verifies the policy cache: nil without error when there is
// none yet.
func (st *State) CachedPolicy() (*policydoc.Policy, []byte, error) {
	b, err := os.ReadFile(filepath.Join(st.Dir, FilePolicy))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read policy cache: %w", err)
	}
	p, err := policydoc.Verify(b, st.PolicyKey, st.Host, 0)
	if err != nil {
		return nil, b, fmt.Errorf("policy cache %s: %w", filepath.Join(st.Dir, FilePolicy), err)
	}
	return p, b, nil
}

// SavePolicy writes a verified policy's envelope to the cache, atomically.
func (st *State) SavePolicy(p *policydoc.Policy) error {
	return writeFileAtomic(filepath.Join(st.Dir, FilePolicy), p.Envelope)
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("want exactly one PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func parsePolicyKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("policy key: want %d bytes of base64", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// checkHostCert checks that cert was issued by ca to host for client authentication.
func checkHostCert(cert, ca *x509.Certificate, host string) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime: cert.NotBefore.Add(time.Second)}); err != nil {
		// The validity window is the server's to judge: a host clock hours off must not
		// make a good certificate unusable here.
		return fmt.Errorf("host certificate not issued by the office CA for client authentication: %w", err)
	}
	if cert.Subject.CommonName != host {
		return fmt.Errorf("host certificate is for %q, not %q", cert.Subject.CommonName, host)
	}
	return nil
}

// writeFileAtomic writes b to path (mode 0600) through a temporary file and a rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
