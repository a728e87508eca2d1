// Package pki is the office's certificate authority: the CA, the server's TLS
// certificate, the policy signing key, host certificates issued from a CSR at
// enrolment, and officers' client certificates. Standard library crypto only
// (ed25519, X.509); nothing here talks to the network or the register.
package pki

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of an office directory (server init --dir).
const (
	CAFile        = "ca.crt"
	CAKeyFile     = "ca.key"
	ServerFile    = "server.crt"
	ServerKeyFile = "server.key"
	PolicyKeyFile = "policy.key"
	PolicyPubFile = "policy.pub"
)

// OfficerPrefix starts the CN of an officer's certificate: "officer:<handle>".
const OfficerPrefix = "officer:"

// Lifetimes.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 2 * 365 * 24 * time.Hour
	HostLifetime   = 365 * 24 * time.Hour
	// OfficerLifetime is an officer's client certificate.
	OfficerLifetime = 365 * 24 * time.Hour
)

// ErrExists is returned by Init when the directory already holds an office.
var ErrExists = errors.New("office keys already exist")

// ErrBadCSR is wrapped by IssueHost for a CSR it refuses.
var ErrBadCSR = errors.New("bad certificate request")

// CA is the office CA with its key.
type CA struct {
	Cert *x509.Certificate
	Key  ed25519.PrivateKey
	PEM  []byte // the CA certificate, PEM
}

// Fingerprint is the SHA-256 of the certificate's DER, lowercase hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// InitOptions configures Init.
type InitOptions struct {
	Dir   string
	Name  string   // the office's name (CA subject) and the server's DNS name
	Addrs []string // further names or IP addresses the server answers on
	Now   time.Time
}

// Init creates an office in o.Dir: the CA, the server's TLS key and certificate,
// and the policy signing key, each key file mode 0600. It refuses to overwrite any
// of them (ErrExists) and creates them with O_EXCL.
func Init(o InitOptions) (*CA, error) {
	if strings.TrimSpace(o.Name) == "" {
		return nil, errors.New("office name is empty")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	for _, f := range []string{CAFile, CAKeyFile, ServerFile, ServerKeyFile, PolicyKeyFile, PolicyPubFile} {
		if _, err := os.Lstat(filepath.Join(o.Dir, f)); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrExists, filepath.Join(o.Dir, f))
		}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: "mediagate office CA " + o.Name, Organization: []string{o.Name}},
		NotBefore:             o.Now.Add(-time.Hour),
		NotAfter:              o.Now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, Key: caKey, PEM: pemBlock("CERTIFICATE", der)}

	_, srvKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: o.Name, Organization: []string{o.Name}},
		NotBefore:    o.Now.Add(-time.Hour),
		NotAfter:     o.Now.Add(ServerLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range append([]string{o.Name}, o.Addrs...) {
		host := n
		if h, _, err := net.SplitHostPort(n); err == nil {
			host = h
		}
		if ip := net.ParseIP(host); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else if host != "" {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, host)
		}
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, cert, srvKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("create server certificate: %w", err)
	}
	_, polKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return nil, err
	}
	srvKeyPEM, err := keyPEM(srvKey)
	if err != nil {
		return nil, err
	}
	polKeyPEM, err := keyPEM(polKey)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(polKey.Public())
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{CAKeyFile, caKeyPEM, 0o600}, {ServerKeyFile, srvKeyPEM, 0o600}, {PolicyKeyFile, polKeyPEM, 0o600},
		{CAFile, ca.PEM, 0o644}, {ServerFile, pemBlock("CERTIFICATE", srvDER), 0o644},
		{PolicyPubFile, pemBlock("PUBLIC KEY", pubDER), 0o644},
	} {
		if err := writeExcl(filepath.Join(o.Dir, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

// writeExcl writes a new file; an existing one is never replaced.
func writeExcl(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n.Add(n, big.NewInt(1))
}

// SerialHex is a certificate serial as the register keeps it.
func SerialHex(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func keyPEM(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

// Office is an office directory loaded for serving.
type Office struct {
	CA        *CA
	ServerPEM []byte // server certificate, PEM
	ServerKey ed25519.PrivateKey
	PolicyKey ed25519.PrivateKey
}

// Load reads an office directory made by Init.
func Load(dir string) (*Office, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("load office: %w", err)
	}
	caCert, err := ParseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("load office: %s: %w", CAFile, err)
	}
	o := &Office{CA: &CA{Cert: caCert, PEM: caPEM}}
	for _, k := range []struct {
		name string
		dst  *ed25519.PrivateKey
	}{{CAKeyFile, &o.CA.Key}, {ServerKeyFile, &o.ServerKey}, {PolicyKeyFile, &o.PolicyKey}} {
		if *k.dst, err = readKey(filepath.Join(dir, k.name)); err != nil {
			return nil, fmt.Errorf("load office: %w", err)
		}
	}
	if o.ServerPEM, err = os.ReadFile(filepath.Join(dir, ServerFile)); err != nil {
		return nil, fmt.Errorf("load office: %w", err)
	}
	if !o.CA.Key.Public().(ed25519.PublicKey).Equal(caCert.PublicKey) {
		return nil, fmt.Errorf("load office: %s does not match %s", CAKeyFile, CAFile)
	}
	return o, nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: key readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return ek, nil
}

// ParseCert reads one PEM certificate; trailing data is refused.
func ParseCert(b []byte) (*x509.Certificate, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("trailing data after the certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// Pool is a pool with the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueHost checks a host's CSR (PEM, self-signed, any key type the standard library
// verifies) and issues its client certificate: CN = host, client-auth only, for
// HostLifetime, with serial. The CSR's own subject and extensions are ignored.
func (ca *CA) IssueHost(csrPEM []byte, host string, serial *big.Int, now time.Time) ([]byte, error) {
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	return ca.issue(csr.PublicKey, host, serial, now, HostLifetime)
}

// NewSerial returns a fresh random certificate serial.
func NewSerial() *big.Int { return newSerial() }

func (ca *CA) issue(pub crypto.PublicKey, cn string, serial *big.Int, now time.Time, life time.Duration) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: ca.Cert.Subject.Organization},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(life),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", cn, err)
	}
	return pemBlock("CERTIFICATE", der), nil
}

// IssueOfficer makes an officer's key pair and client certificate (CN
// officer:<handle>); it returns the certificate and key, PEM, and the serial.
func (ca *CA) IssueOfficer(handle string, now time.Time) (certPEM, keyPEMBytes []byte, serial string, err error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, "", err
	}
	sn := newSerial()
	certPEM, err = ca.issue(pub, OfficerPrefix+handle, sn, now, OfficerLifetime)
	if err != nil {
		return nil, nil, "", err
	}
	keyPEMBytes, err = keyPEM(key)
	if err != nil {
		return nil, nil, "", err
	}
	return certPEM, keyPEMBytes, sn.Text(16), nil
}

// MakeCSR makes a key pair and a CSR for a host (for tests and load generators; the
// host side makes its own).
func MakeCSR(host string) (csrPEM []byte, key ed25519.PrivateKey, err error) {
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: host}}, key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE REQUEST", der), key, nil
}

// KeyPEM encodes a private key as PKCS #8 PEM.
func KeyPEM(k ed25519.PrivateKey) ([]byte, error) { return keyPEM(k) }

// WriteNew writes a new file with mode; an existing file is never replaced.
func WriteNew(path string, data []byte, mode os.FileMode) error { return writeExcl(path, data, mode) }

// ParseCSR reads one PEM certificate request and checks its self-signature; a
// refusal wraps ErrBadCSR.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	blk, rest := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: not one PEM certificate request", ErrBadCSR)
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCSR, err)
	}
	return csr, nil
}
