// Package carry is the file format of what an officer carries by hand between the
// office server and a standalone host (单机, no network): the host's enrolment
// request and the office's answer, and the host's audit rows since the office last
// acknowledged them. (The policy travels as the policydoc envelope the server signs
// for the network, and the acknowledgement as the anchor file the host keeps.)
//
// Every file is one JSON envelope: a format tag, the kind of file, the payload
// (base64), an ed25519 signature over a domain tag, the kind and the payload, the
// signing key's id and, for a host's log, the host's certificate. Parse refuses a
// file over its kind's size cap, of another format or kind, with unknown fields or
// trailing data; Verify refuses another key or a bad signature; only verified
// payloads are decoded further (Decode, strict). Every refusal wraps one of the
// package's Err values, whose Reason is a short name for audit rows and messages.
//
// The package imports only audit (the row type of a log file) and the standard
// library.
package carry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"mediagate/internal/policydoc"
)

// Format is the envelope format this package reads and writes; it is also the
// domain tag of every signature.
const Format = "mediagate-carry/1"

// Kinds of carried files.
const (
	KindEnrollRequest  = "enroll-request"  // host → office: its key's certificate request
	KindEnrollResponse = "enroll-response" // office → host: certificate, CA, policy key
	KindLog            = "log"             // host → office: audit rows since the last acknowledgement
)

// Size caps: a file over its kind's cap is refused unread.
const (
	MaxEnrollRequest  = 64 << 10
	MaxEnrollResponse = 48 << 20 // carries the first policy (at most policydoc.MaxEnvelope)
	MaxLog            = 160 << 20
)

// MaxFile is the largest file of any kind.
const MaxFile = MaxLog

func maxOf(kind string) int {
	switch kind {
	case KindEnrollRequest:
		return MaxEnrollRequest
	case KindEnrollResponse:
		return MaxEnrollResponse
	case KindLog:
		return MaxLog
	}
	return 0
}

// Refusals. Every error of Parse, Verify and the payload checks wraps one.
var (
	ErrTooLarge     = errors.New("file too large")
	ErrMalformed    = errors.New("file malformed or truncated")
	ErrFormat       = errors.New("not a mediagate transfer file of a known format")
	ErrKind         = errors.New("file of another kind")
	ErrOtherKey     = errors.New("file signed with another key")
	ErrBadSignature = errors.New("file signature invalid (altered after signing)")
	ErrOtherHost    = errors.New("file meant for another host")
	ErrOld          = errors.New("file older than what is already held")
	ErrReplay       = errors.New("file already taken in")
	ErrInvalid      = errors.New("file content invalid")
	ErrCert         = errors.New("signer's certificate not accepted")
)

// Reason is the short name of a refusal (for audit rows and messages): too-large,
// malformed, format, kind, other-key, bad-signature, other-host, old, replay,
// invalid, certificate; "" for another error.
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrTooLarge, "too-large"}, {ErrMalformed, "malformed"}, {ErrFormat, "format"}, {ErrKind, "kind"},
		{ErrOtherKey, "other-key"}, {ErrBadSignature, "bad-signature"}, {ErrOtherHost, "other-host"},
		{ErrOld, "old"}, {ErrReplay, "replay"}, {ErrInvalid, "invalid"}, {ErrCert, "certificate"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return ""
}

// Envelope is a carried file as written.
type Envelope struct {
	Format    string `json:"format"`
	Kind      string `json:"kind"`
	Payload   string `json:"payload"`        // base64 (standard, padded) of the payload JSON
	Signature string `json:"signature"`      // base64 ed25519 over SignedBytes
	KeyID     string `json:"key_id"`         // KeyID of the signing key
	Cert      string `json:"cert,omitempty"` // PEM certificate of the signer (a host's log)
}

// SignedBytes is what a file's signature covers: the format tag, the kind and the
// payload, each length-prefixed, so that no file of one kind verifies as another.
func SignedBytes(kind string, payload []byte) []byte {
	var b []byte
	for _, f := range [][]byte{[]byte(Format), []byte(kind), payload} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Seal encodes payload as JSON and signs it as a file of kind. certPEM (may be nil)
// is carried beside it for the reader to check the key against.
func Seal(kind string, payload any, priv ed25519.PrivateKey, certPEM []byte) ([]byte, error) {
	max := maxOf(kind)
	if max == 0 {
		return nil, fmt.Errorf("seal file: unknown kind %q", kind)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("seal %s file: private key of %d bytes", kind, len(priv))
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("seal %s file: %w", kind, err)
	}
	env := Envelope{Format: Format, Kind: kind, Payload: base64.StdEncoding.EncodeToString(p),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, SignedBytes(kind, p))),
		KeyID:     policydoc.KeyID(priv.Public().(ed25519.PublicKey)), Cert: string(certPEM)}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seal %s file: %w", kind, err)
	}
	out = append(out, '\n')
	if len(out) > max {
		return nil, fmt.Errorf("seal %s file: %w (%d bytes, at most %d)", kind, ErrTooLarge, len(out), max)
	}
	return out, nil
}

// Sealed is a parsed file whose signature is not checked yet.
type Sealed struct {
	Kind      string
	Payload   []byte
	Signature []byte
	KeyID     string
	Cert      []byte // the signer's certificate, PEM, as carried (unchecked)
	Digest    string // SHA-256 of the whole file, hex: names it in audit rows
}

// Parse reads a file that must be of kind: size cap, strict JSON, format, kind and
// the base64 of its parts. The signature is checked by Verify.
func Parse(b []byte, kind string) (*Sealed, error) {
	max := maxOf(kind)
	if max == 0 {
		return nil, fmt.Errorf("read file: unknown kind %q", kind)
	}
	if len(b) > max {
		return nil, fmt.Errorf("read %s file: %w (%d bytes, at most %d)", kind, ErrTooLarge, len(b), max)
	}
	var env Envelope
	if err := DecodeStrict(b, &env); err != nil {
		return nil, fmt.Errorf("read %s file: %w", kind, err)
	}
	if env.Format != Format {
		return nil, fmt.Errorf("read %s file: %w (%q, want %s)", kind, ErrFormat, clip(env.Format), Format)
	}
	if env.Kind != kind {
		return nil, fmt.Errorf("read %s file: %w (%q)", kind, ErrKind, clip(env.Kind))
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("read %s file: %w: payload: %v", kind, ErrMalformed, err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("read %s file: %w: signature is not %d bytes of base64", kind, ErrBadSignature, ed25519.SignatureSize)
	}
	sum := sha256.Sum256(b)
	return &Sealed{Kind: kind, Payload: payload, Signature: sig, KeyID: env.KeyID, Cert: []byte(env.Cert),
		Digest: hex.EncodeToString(sum[:])}, nil
}

// Verify checks the file's signature with pub.
func (s *Sealed) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify %s file: %w: public key of %d bytes", s.Kind, ErrOtherKey, len(pub))
	}
	if s.KeyID != policydoc.KeyID(pub) {
		return fmt.Errorf("verify %s file: %w (key id %q, want %s)", s.Kind, ErrOtherKey, clip(s.KeyID), policydoc.KeyID(pub))
	}
	if !ed25519.Verify(pub, SignedBytes(s.Kind, s.Payload), s.Signature) {
		return fmt.Errorf("verify %s file: %w", s.Kind, ErrBadSignature)
	}
	return nil
}

// ReadFile reads a carried file of kind from path, refusing one over the kind's
// cap without reading more than one byte past it.
func ReadFile(path, kind string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	max := maxOf(kind)
	if max == 0 {
		max = MaxFile
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("read %s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return b, nil
}

// DecodeStrict decodes exactly one JSON value with no unknown fields and nothing
// but white space after it; a failure wraps ErrMalformed.
func DecodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrMalformed)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Digest is the SHA-256 of a file, hex: what audit rows name it by.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
