package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	ca, err := Init(InitOptions{Dir: dir, Name: "office.example", Addrs: []string{"10.1.2.3", "mg.example:8443"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{CAKeyFile, ServerKeyFile, PolicyKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if _, err := Init(InitOptions{Dir: dir, Name: "office.example"}); !errors.Is(err, ErrExists) {
		t.Errorf("second Init = %v; want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if string(before) != string(after) {
		t.Error("the CA key was overwritten")
	}
	o, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(o.CA.Cert) != Fingerprint(ca.Cert) || len(Fingerprint(ca.Cert)) != 64 || strings.ToLower(Fingerprint(ca.Cert)) != Fingerprint(ca.Cert) {
		t.Errorf("fingerprint %s", Fingerprint(ca.Cert))
	}
	srv, err := tls.X509KeyPair(o.ServerPEM, mustPEM(t, o))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(srv.Certificate[0])
	for _, name := range []string{"office.example", "10.1.2.3", "mg.example"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("server certificate does not cover %s: %v", name, err)
		}
	}
	// A key readable by others is refused.
	os.Chmod(filepath.Join(dir, PolicyKeyFile), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("Load with a 0644 key = %v", err)
	}
}

func mustPEM(t *testing.T, o *Office) []byte {
	b, err := KeyPEM(o.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIssueHost(t *testing.T) {
	dir := t.TempDir()
	ca, err := Init(InitOptions{Dir: dir, Name: "office.example"})
	if err != nil {
		t.Fatal(err)
	}
	csr, _, err := MakeCSR("whatever-the-host-asks")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pemBytes, err := ca.IssueHost(csr, "HOST-07", NewSerial(), now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCert(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "HOST-07" {
		t.Errorf("CN %q; the host is the office's name for it, not the CSR's", c.Subject.CommonName)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("host certificate does not verify for client auth: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a host certificate works as a server certificate")
	}
	if d := c.NotAfter.Sub(now); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("lifetime %v; want a year", d)
	}
	// A CSR whose signature does not match its key is refused.
	bad := []byte(strings.Replace(string(csr), "A", "B", 1))
	if _, err := ca.IssueHost(bad, "HOST-07", NewSerial(), now); err == nil {
		t.Error("a tampered CSR was accepted")
	}
	if _, err := ca.IssueHost(append(csr, []byte("junk")...), "HOST-07", NewSerial(), now); !errors.Is(err, ErrBadCSR) {
		t.Errorf("trailing data: %v", err)
	}
}

// FuzzIssueHost: whatever arrives as a CSR, the CA never panics and issues only for
// a request whose signature checks.
func FuzzIssueHost(f *testing.F) {
	dir := f.TempDir()
	ca, err := Init(InitOptions{Dir: dir, Name: "office.example"})
	if err != nil {
		f.Fatal(err)
	}
	csr, _, _ := MakeCSR("HOST-07")
	f.Add(csr)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ca.IssueHost(b, "HOST-07", NewSerial(), time.Now())
		if err != nil {
			return
		}
		if _, err := ParseCert(out); err != nil {
			t.Fatalf("issued something that is not a certificate: %v", err)
		}
	})
}
