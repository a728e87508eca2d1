// Package anchor holds the office's acknowledgement of a host's audit chain: the
// office server, which keeps a copy of every host's log, signs the host's head
// (host id, sequence number, hash) with its ed25519 key, and the host keeps the
// latest acknowledgement in a file next to its register. `audit verify` then checks
// that the host's chain still holds the acknowledged row: a log cut below it, rolled
// back to an older copy of the database or rewritten is caught on the host too, not
// only by the office.
//
// The acknowledgement is only as good as the key that checks it: the office's public
// key must come from the office (installed with the host's enrolment), not from the
// host's own writable files alone. What it cannot show without the office is in
// docs/security.md.
package anchor

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Ack is the office's signed acknowledgement of one host's audit chain up to row Seq,
// whose hash is Hash. Time is when the office acknowledged it (UTC, milliseconds).
type Ack struct {
	Host      string    `json:"host"` // the host's id (the register's host_id)
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"` // hex SHA-256 of row Seq (audit.ComputeHash)
	Time      time.Time `json:"time"`
	Signature string    `json:"signature"` // base64 ed25519 signature over SignedBytes
}

// Errors of Parse and Verify.
var (
	ErrMalformed    = errors.New("malformed acknowledgement")
	ErrBadSignature = errors.New("acknowledgement signature does not verify")
)

const maxFile = 4096

// SignedBytes is the byte string the signature covers: a domain tag and each field
// length-prefixed, so that no two acknowledgements encode the same.
func (a Ack) SignedBytes() []byte {
	var buf bytes.Buffer
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		buf.Write(n[:])
		buf.WriteString(s)
	}
	field("mediagate-ack-v1")
	field(a.Host)
	field(strconv.FormatInt(a.Seq, 10))
	field(a.Hash)
	field(a.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	return buf.Bytes()
}

// Sign returns a signed with key (the office's private key).
func Sign(a Ack, key ed25519.PrivateKey) Ack {
	a.Time = a.Time.UTC().Truncate(time.Millisecond)
	a.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, a.SignedBytes()))
	return a
}

// Verify checks a's signature with the office's public key.
func (a Ack) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: office key is %d bytes, not %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not %d bytes of base64", ErrBadSignature, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, a.SignedBytes(), sig) {
		return ErrBadSignature
	}
	return nil
}

// Parse reads an acknowledgement file's bytes: one JSON object with exactly the
// fields of Ack, a positive sequence number, a 64-hex-digit hash and a host id.
func Parse(b []byte) (Ack, error) {
	var a Ack
	if len(b) > maxFile {
		return a, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Ack{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Ack{}, fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	switch {
	case a.Host == "" || len(a.Host) > 64 || strings.ContainsFunc(a.Host, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return Ack{}, fmt.Errorf("%w: bad host id", ErrMalformed)
	case a.Seq < 1:
		return Ack{}, fmt.Errorf("%w: sequence number %d", ErrMalformed, a.Seq)
	case !isHash(a.Hash):
		return Ack{}, fmt.Errorf("%w: hash is not 64 lower-case hex digits", ErrMalformed)
	case a.Signature == "":
		return Ack{}, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	return a, nil
}

func isHash(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Marshal encodes a as the acknowledgement file holds it.
func (a Ack) Marshal() []byte {
	b, _ := json.MarshalIndent(a, "", "  ")
	return append(b, '\n')
}

// File is where the host keeps the latest acknowledgement: next to the register
// (db), named after it.
func File(db string) string { return db + ".ack" }

// KeyFile is where the host keeps the office's public key by default: office.pub in
// the register's directory.
func KeyFile(db string) string { return filepath.Join(filepath.Dir(db), "office.pub") }

// Load reads the acknowledgement file at path; ok is false when there is none.
func Load(path string) (a Ack, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Ack{}, false, nil
	}
	if err != nil {
		return Ack{}, false, fmt.Errorf("read acknowledgement: %w", err)
	}
	a, err = Parse(b)
	if err != nil {
		return Ack{}, true, fmt.Errorf("read acknowledgement %s: %w", path, err)
	}
	return a, true, nil
}

// Save writes a to path atomically (a temporary file renamed over it), readable by
// the owner and group.
func Save(path string, a Ack) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ack-*")
	if err != nil {
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(a.Marshal()); err != nil {
		tmp.Close()
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save acknowledgement: %w", err)
	}
	return nil
}

// ParsePublicKey reads an ed25519 public key: 32 bytes as 64 hex digits or as
// base64, surrounding white space ignored.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(b))
	if k, err := hex.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
		return ed25519.PublicKey(k), nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
		return ed25519.PublicKey(k), nil
	}
	return nil, errors.New("office key is not an ed25519 public key (32 bytes as hex or base64)")
}

// LoadPublicKey reads the office's public key file; ok is false when there is none.
func LoadPublicKey(path string) (k ed25519.PublicKey, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read office key: %w", err)
	}
	if len(b) > maxFile {
		return nil, true, fmt.Errorf("read office key %s: too long", path)
	}
	k, err = ParsePublicKey(b)
	if err != nil {
		return nil, true, fmt.Errorf("read office key %s: %w", path, err)
	}
	return k, true, nil
}
