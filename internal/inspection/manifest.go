package inspection

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/policydoc"
)

// ManifestFile is the packet's signed list of files.
const ManifestFile = "MANIFEST"

// manifestFormat is the first line of a manifest; signedTag starts the bytes the
// signature covers, so that no other document signed with the office key (a policy,
// an acknowledgement) can pass for a manifest.
const (
	manifestFormat = "mediagate-inspection/1"
	signedTag      = "mediagate-inspection-manifest/1\n"
	maxManifest    = 1 << 20
)

// File is one file of a packet as its manifest lists it.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is a packet's list of files with what the packet covers, signed with the
// office's ed25519 key.
type Manifest struct {
	Office     string    `json:"office"`
	Year       int       `json:"year"`
	Department string    `json:"department,omitempty"`
	Lang       string    `json:"lang"`
	Created    time.Time `json:"created"`
	KeyID      string    `json:"key_id"`
	Files      []File    `json:"files"`
}

// body is the manifest's text without its signature line.
func (m Manifest) body() []byte {
	var b bytes.Buffer
	fmt.Fprintln(&b, manifestFormat)
	fmt.Fprintf(&b, "office %s\n", m.Office)
	fmt.Fprintf(&b, "year %d\n", m.Year)
	fmt.Fprintf(&b, "department %s\n", m.Department)
	fmt.Fprintf(&b, "lang %s\n", m.Lang)
	fmt.Fprintf(&b, "created %s\n", m.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "key %s\n", m.KeyID)
	for _, f := range m.Files {
		fmt.Fprintf(&b, "file %s %d %s\n", f.SHA256, f.Size, f.Name)
	}
	return b.Bytes()
}

// Sign returns the manifest's text, signed with key.
func (m Manifest) Sign(key ed25519.PrivateKey) []byte {
	m.KeyID = policydoc.KeyID(key.Public().(ed25519.PublicKey))
	body := m.body()
	sig := ed25519.Sign(key, append([]byte(signedTag), body...))
	return append(body, "signature "+base64.StdEncoding.EncodeToString(sig)+"\n"...)
}

// validName reports whether a file name may appear in a manifest: a plain name in
// the packet's directory, no path, nothing hidden.
func validName(n string) bool {
	if n == "" || len(n) > 200 || n[0] == '.' || n == ManifestFile {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrManifest is wrapped by ParseManifest for a manifest it cannot read.
var ErrManifest = errors.New("malformed manifest")

// ParseManifest reads a manifest's text and checks its signature with pub. It
// returns the manifest and ErrBadSignature when the signature does not verify
// (the manifest is then not to be believed).
func ParseManifest(b []byte, pub ed25519.PublicKey) (Manifest, error) {
	var m Manifest
	bad := func(line int, what string) error { return fmt.Errorf("%w: line %d: %s", ErrManifest, line, what) }
	if !bytes.HasSuffix(b, []byte("\n")) {
		return m, fmt.Errorf("%w: truncated", ErrManifest)
	}
	i := bytes.LastIndex(b[:len(b)-1], []byte("\n"))
	if i < 0 {
		return m, fmt.Errorf("%w: no signature", ErrManifest)
	}
	body, sigLine := b[:i+1], string(b[i+1:len(b)-1])
	sigText, ok := strings.CutPrefix(sigLine, "signature ")
	if !ok {
		return m, fmt.Errorf("%w: last line is not the signature", ErrManifest)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return m, fmt.Errorf("%w: bad signature encoding", ErrManifest)
	}
	if !ed25519.Verify(pub, append([]byte(signedTag), body...), sig) {
		return m, ErrBadSignature
	}
	// The signature holds: the body is the office's; read it strictly all the same.
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) < 7 || lines[0] != manifestFormat {
		return m, bad(1, "not a mediagate inspection manifest")
	}
	field := func(n int, name string) (string, error) {
		v, ok := strings.CutPrefix(lines[n], name+" ")
		if !ok {
			return "", bad(n+1, "want "+name)
		}
		return v, nil
	}
	var year, created string
	for n, dst := range []*string{&m.Office, &year, &m.Department, &m.Lang, &created, &m.KeyID} {
		name := []string{"office", "year", "department", "lang", "created", "key"}[n]
		if *dst, err = field(n+1, name); err != nil {
			return m, err
		}
	}
	if m.Year, err = strconv.Atoi(year); err != nil {
		return m, bad(3, "bad year")
	}
	if m.Created, err = time.Parse(time.RFC3339, created); err != nil {
		return m, bad(6, "bad time")
	}
	if m.KeyID != policydoc.KeyID(pub) {
		return m, bad(7, "key id does not match the key")
	}
	seen := map[string]bool{}
	for n := 7; n < len(lines); n++ {
		v, err := field(n, "file")
		if err != nil {
			return m, err
		}
		parts := strings.SplitN(v, " ", 3)
		if len(parts) != 3 {
			return m, bad(n+1, "bad file line")
		}
		size, err := strconv.ParseInt(parts[1], 10, 64)
		if _, herr := hex.DecodeString(parts[0]); herr != nil || len(parts[0]) != 64 || err != nil || size < 0 {
			return m, bad(n+1, "bad file line")
		}
		if !validName(parts[2]) || seen[parts[2]] {
			return m, bad(n+1, "bad or repeated file name")
		}
		seen[parts[2]] = true
		m.Files = append(m.Files, File{Name: parts[2], Size: size, SHA256: parts[0]})
	}
	return m, nil
}

// ErrBadSignature: the manifest's signature does not verify with the key given.
var ErrBadSignature = errors.New("manifest signature does not verify")

// Problem is one file of a packet that does not match its manifest.
type Problem struct {
	File string `json:"file"`
	// What: "altered" (content differs from its hash), "missing", "added" (a file the
	// manifest does not list), "signature" (the manifest itself), "unreadable".
	What   string `json:"problem"`
	Detail string `json:"detail,omitempty"`
}

// Verify checks a packet directory: the manifest's signature with pub, and every
// file's size and SHA-256; files the manifest does not list are problems too. It
// returns the manifest (zero when it cannot be believed) and every problem found;
// err is for a packet that cannot be checked at all.
func Verify(dir string, pub ed25519.PublicKey) (Manifest, []Problem, error) {
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, []Problem{{File: ManifestFile, What: "missing"}}, nil
	}
	if err != nil {
		return Manifest{}, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	f.Close()
	if err != nil {
		return Manifest{}, nil, err
	}
	if len(b) > maxManifest {
		return Manifest{}, []Problem{{File: ManifestFile, What: "signature", Detail: "manifest too large"}}, nil
	}
	m, err := ParseManifest(b, pub)
	if err != nil {
		return Manifest{}, []Problem{{File: ManifestFile, What: "signature", Detail: err.Error()}}, nil
	}
	var probs []Problem
	listed := map[string]bool{ManifestFile: true}
	for _, fl := range m.Files {
		listed[fl.Name] = true
		size, sum, err := hashFile(filepath.Join(dir, fl.Name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			probs = append(probs, Problem{File: fl.Name, What: "missing"})
		case err != nil:
			probs = append(probs, Problem{File: fl.Name, What: "unreadable", Detail: err.Error()})
		case size != fl.Size || sum != fl.SHA256:
			probs = append(probs, Problem{File: fl.Name, What: "altered", Detail: fmt.Sprintf("sha256 %s, manifest %s", sum, fl.SHA256)})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return m, probs, err
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			probs = append(probs, Problem{File: e.Name(), What: "added"})
		}
	}
	slices.SortStableFunc(probs, func(a, b Problem) int { return strings.Compare(a.File, b.File) })
	return m, probs, nil
}

// hashFile returns a regular file's size and SHA-256 (a symbolic link or anything
// else is refused: the packet is plain files).
func hashFile(path string) (int64, string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return 0, "", err
	}
	if !st.Mode().IsRegular() {
		return 0, "", fmt.Errorf("%s: not a regular file", filepath.Base(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// ParsePublicKey reads an ed25519 public key: PEM "PUBLIC KEY" (the office's
// policy.pub), or the base64 of the 32 raw bytes (an enrolled host's copy).
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("not a public key (PEM %s)", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("public key: not ed25519")
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key: neither PEM nor base64 of an ed25519 key")
	}
	return ed25519.PublicKey(raw), nil
}
