package policydoc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"mediagate/internal/media"
)

// Format is the only document format this package reads and writes; it is also the
// domain-separation prefix of the signature.
const Format = "mediagate-policy/1"

// MaxEnvelope is the largest envelope Verify reads.
const MaxEnvelope = 32 << 20

// Refusals. Verify wraps one of these in every error it returns.
var (
	ErrTooLarge        = errors.New("policy envelope too large")
	ErrMalformed       = errors.New("policy malformed")
	ErrOtherKey        = errors.New("policy signed with another key")
	ErrBadSignature    = errors.New("policy signature invalid")
	ErrFormat          = errors.New("policy format unknown")
	ErrOtherHost       = errors.New("policy issued for another host")
	ErrOldVersion      = errors.New("policy version older than the one in force")
	ErrVersionConflict = errors.New("policy version in force with other content")
	ErrInvalid         = errors.New("policy content invalid")
)

// Document is what the server signs for one host: exactly what policy.Decide needs
// to judge devices there.
type Document struct {
	Format   string    `json:"format"`
	Host     string    `json:"host"`
	Version  uint64    `json:"version"`
	IssuedAt time.Time `json:"issued_at"`
	Profile  Profile   `json:"profile"`
	Media    []Medium  `json:"media"`
	// People are the custodians and holders of Media: who is responsible (policy
	// refuses a medium whose custodian is unknown or inactive) and their logins (a
	// user's own media in `mediagate status`).
	People []Person `json:"people,omitempty"`
}

// Person is the part of a person record the host uses.
type Person struct {
	Handle string `json:"handle"`
	Active bool   `json:"active"`
	Login  string `json:"login,omitempty"`
}

// Profile is the part of the host profile (media.Host) the daemon uses.
type Profile struct {
	Number       string            `json:"number"`
	Level        media.Level       `json:"level"`
	Mode         media.Mode        `json:"mode"`
	Department   string            `json:"department,omitempty"`
	LowerMedia   media.LowerMedia  `json:"lower_media,omitempty"`
	AllowClasses []string          `json:"allow_classes,omitempty"`
	AllowDevices []string          `json:"allow_devices,omitempty"`
	DevicePins   []media.DevicePin `json:"device_pins,omitempty"`
	Baseline     []string          `json:"baseline,omitempty"`
	VaultStation bool              `json:"vault_station,omitempty"`
}

// Medium is one medium the host may see, with the fields policy.Decide reads.
type Medium struct {
	Number       string         `json:"number"`
	Kind         media.Kind     `json:"kind"`
	Level        media.Level    `json:"level"`
	Access       media.Access   `json:"access"`
	Custodian    string         `json:"custodian"`
	Status       media.Status   `json:"status"`
	Identity     media.Identity `json:"identity"`
	Department   string         `json:"department,omitempty"`
	Holder       string         `json:"holder,omitempty"`
	DueAt        time.Time      `json:"due_at,omitzero"`
	AllowedHosts []string       `json:"allowed_hosts,omitempty"`
}

// Envelope carries the document bytes and their signature. A document the host made
// from a delta (ApplyDelta) carries the signed delta too: Signature is then over
// DeltaFormat+"\n"+delta bytes, and the delta binds the document's digest. An
// envelope with a delta and no payload is a delta on the wire (ApplyDelta).
type Envelope struct {
	Payload   string `json:"payload,omitempty"` // base64 (standard, padded) of the document bytes
	Signature string `json:"signature"`         // base64 of ed25519 over Format+"\n"+payload bytes
	KeyID     string `json:"key_id"`            // KeyID of the signing key
	Delta     string `json:"delta,omitempty"`   // base64 of the signed delta that gave the payload
}

// Policy is a verified policy: the document, the exact bytes that were signed and
// the envelope as received (what a host writes to its cache).
type Policy struct {
	Document Document
	Payload  []byte
	Envelope []byte
}

// KeyID names a policy public key: the first 16 hex digits of the SHA-256 of the key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:16]
}

// FromHost takes the fields the daemon uses from a host profile.
func FromHost(h media.Host) Profile {
	return Profile{
		Number: h.Number, Level: h.Level, Mode: h.Mode, Department: h.Department,
		LowerMedia: h.LowerMedia, AllowClasses: h.AllowClasses, AllowDevices: h.AllowDevices,
		DevicePins: h.DevicePins, Baseline: h.Baseline, VaultStation: h.VaultStation,
	}
}

// Host returns the profile as the host profile policy.Decide reads.
func (p Profile) Host() media.Host {
	return media.Host{
		ID: "policy:" + p.Number, Number: p.Number, Level: p.Level, Mode: p.Mode,
		Department: p.Department, LowerMedia: p.LowerMedia, AllowClasses: p.AllowClasses,
		AllowDevices: p.AllowDevices, DevicePins: p.DevicePins, Baseline: p.Baseline,
		VaultStation: p.VaultStation,
	}
}

// FromMedium takes the fields policy.Decide reads from a register record.
func FromMedium(m media.Medium) Medium {
	return Medium{
		Number: m.Number, Kind: m.Kind, Level: m.Level, Access: m.Access,
		Custodian: m.Custodian, Status: m.Status, Identity: m.Identity,
		Department: m.Department, Holder: m.Holder, DueAt: m.DueAt, AllowedHosts: m.AllowedHosts,
	}
}

// FromPerson takes the fields the host uses from a person record.
func FromPerson(p media.Person) Person {
	return Person{Handle: p.Handle, Active: p.Active, Login: p.Login}
}

// Record returns the medium as the register record policy.Decide reads.
func (m Medium) Record() media.Medium {
	return media.Medium{
		ID: "policy:" + m.Number, Number: m.Number, Kind: m.Kind, Identity: m.Identity,
		Level: m.Level, Custodian: m.Custodian, Department: m.Department,
		Status: m.Status, Access: m.Access, Holder: m.Holder, DueAt: m.DueAt,
		AllowedHosts: m.AllowedHosts,
	}
}

// Record returns the person as the person record policy.Decide reads.
func (p Person) Record() media.Person {
	return media.Person{ID: "policy:" + p.Handle, Handle: p.Handle, Active: p.Active, Login: p.Login}
}

// Sign encodes doc (its Format is set when empty) and signs it with priv. It returns
// the envelope's JSON bytes.
func Sign(doc Document, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign policy: private key of %d bytes", len(priv))
	}
	if doc.Format == "" {
		doc.Format = Format
	}
	if err := doc.check(); err != nil {
		return nil, fmt.Errorf("sign policy for %s: %w", doc.Host, err)
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sign policy for %s: %w", doc.Host, err)
	}
	env := Envelope{
		Payload:   base64.StdEncoding.EncodeToString(payload),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signed(payload))),
		KeyID:     KeyID(priv.Public().(ed25519.PublicKey)),
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sign policy for %s: %w", doc.Host, err)
	}
	if len(out) > MaxEnvelope {
		return nil, fmt.Errorf("sign policy for %s: %w (%d bytes)", doc.Host, ErrTooLarge, len(out))
	}
	return out, nil
}

func signed(payload []byte) []byte {
	msg := make([]byte, 0, len(Format)+1+len(payload))
	msg = append(msg, Format...)
	msg = append(msg, '\n')
	return append(msg, payload...)
}

// Verify checks envelope against the office's policy key pub, this host's number
// and the lowest version the host accepts, and returns the verified policy. Host
// numbers compare exactly. Every refusal wraps one of the package's Err values.
func Verify(envelope []byte, pub ed25519.PublicKey, host string, minVersion uint64) (*Policy, error) {
	if len(envelope) > MaxEnvelope {
		return nil, fmt.Errorf("verify policy: %w (%d bytes, at most %d)", ErrTooLarge, len(envelope), MaxEnvelope)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("verify policy: %w: public key of %d bytes", ErrOtherKey, len(pub))
	}
	var env Envelope
	if err := decodeStrict(envelope, &env); err != nil {
		return nil, fmt.Errorf("verify policy: envelope: %w", err)
	}
	if env.KeyID != KeyID(pub) {
		return nil, fmt.Errorf("verify policy: %w (key id %q, want %s)", ErrOtherKey, clip(env.KeyID), KeyID(pub))
	}
	var payload []byte
	switch {
	case env.Payload == "":
		return nil, fmt.Errorf("verify policy: %w: no document (a delta is applied with ApplyDelta)", ErrMalformed)
	case env.Delta != "":
		p, err := verifyAttested(env, pub)
		if err != nil {
			return nil, fmt.Errorf("verify policy: %w", err)
		}
		payload = p
	default:
		p, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("verify policy: %w: payload: %v", ErrMalformed, err)
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("verify policy: %w: signature is not %d bytes of base64", ErrBadSignature, ed25519.SignatureSize)
		}
		if !ed25519.Verify(pub, signed(p), sig) {
			return nil, fmt.Errorf("verify policy: %w", ErrBadSignature)
		}
		payload = p
	}
	// Only signed bytes are parsed past this point.
	var doc Document
	if err := decodeStrict(payload, &doc); err != nil {
		return nil, fmt.Errorf("verify policy: document: %w", err)
	}
	if doc.Format != Format {
		return nil, fmt.Errorf("verify policy: %w %q (want %s)", ErrFormat, clip(doc.Format), Format)
	}
	if doc.Host != host {
		return nil, fmt.Errorf("verify policy: %w (%q, this host is %q)", ErrOtherHost, clip(doc.Host), host)
	}
	if doc.Version < minVersion {
		return nil, fmt.Errorf("verify policy: %w (version %d, in force %d)", ErrOldVersion, doc.Version, minVersion)
	}
	if err := doc.check(); err != nil {
		return nil, fmt.Errorf("verify policy: %w", err)
	}
	return &Policy{Document: doc, Payload: payload, Envelope: bytes.Clone(envelope)}, nil
}

// VerifyNext verifies envelope as the successor of cur, the policy in force (nil for
// none): its version must be at least cur's, and a policy with cur's version must
// carry cur's very bytes (a replay of the policy in force is accepted and changes
// nothing; the same version with other content is refused).
func VerifyNext(envelope []byte, pub ed25519.PublicKey, host string, cur *Policy) (*Policy, error) {
	var min uint64
	if cur != nil {
		min = cur.Document.Version
	}
	p, err := Verify(envelope, pub, host, min)
	if err != nil {
		return nil, err
	}
	if cur != nil && p.Document.Version == cur.Document.Version && !bytes.Equal(p.Payload, cur.Payload) {
		return nil, fmt.Errorf("verify policy: %w (version %d)", ErrVersionConflict, p.Document.Version)
	}
	return p, nil
}

// ReadEnvelope reads an envelope from r, refusing one over MaxEnvelope bytes without
// reading more than one byte past the limit.
func ReadEnvelope(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxEnvelope+1))
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	if len(b) > MaxEnvelope {
		return nil, fmt.Errorf("read policy: %w (more than %d bytes)", ErrTooLarge, MaxEnvelope)
	}
	return b, nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields and nothing
// but white space after it.
func decodeStrict(b []byte, v any) error {
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

// check refuses a document the daemon could not enforce safely: no host number, a
// profile for another host, an unknown level or mode, a medium without a number or
// identity key, two media with one identity key (which one decides would be
// undefined), and a person listed twice.
func (d Document) check() error {
	switch {
	case d.Host == "":
		return fmt.Errorf("%w: no host number", ErrInvalid)
	case d.Version == 0:
		return fmt.Errorf("%w: version 0", ErrInvalid)
	case d.Profile.Number != d.Host:
		return fmt.Errorf("%w: profile of host %q in the policy of %q", ErrInvalid, clip(d.Profile.Number), d.Host)
	case !d.Profile.Level.Valid():
		return fmt.Errorf("%w: host level %d", ErrInvalid, int(d.Profile.Level))
	case d.Profile.Mode != media.ModeEnforce && d.Profile.Mode != media.ModeAudit:
		return fmt.Errorf("%w: host mode %q", ErrInvalid, clip(string(d.Profile.Mode)))
	}
	keys := make(map[string]string, len(d.Media))
	for i, m := range d.Media {
		if m.Number == "" || m.Identity.Key == "" {
			return fmt.Errorf("%w: medium %d has no number or identity key", ErrInvalid, i)
		}
		if other, dup := keys[m.Identity.Key]; dup {
			return fmt.Errorf("%w: media %s and %s share identity %q", ErrInvalid, other, m.Number, clip(m.Identity.Key))
		}
		keys[m.Identity.Key] = m.Number
	}
	handles := make(map[string]bool, len(d.People))
	for _, p := range d.People {
		if p.Handle == "" || handles[p.Handle] {
			return fmt.Errorf("%w: person %q empty or listed twice", ErrInvalid, clip(p.Handle))
		}
		handles[p.Handle] = true
	}
	return nil
}

// clip shortens a string from outside input for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Reason gives the short name of the refusal err wraps (for audit rows and reports):
// bad-signature, other-key, other-host, old-version, version-conflict, format,
// too-large, malformed, invalid, delta-base or delta-digest; "" for any other error.
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrBadSignature, "bad-signature"}, {ErrOtherKey, "other-key"}, {ErrOtherHost, "other-host"},
		{ErrOldVersion, "old-version"}, {ErrVersionConflict, "version-conflict"}, {ErrFormat, "format"},
		{ErrTooLarge, "too-large"}, {ErrMalformed, "malformed"}, {ErrInvalid, "invalid"},
		{ErrDeltaBase, "delta-base"}, {ErrDeltaDigest, "delta-digest"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return ""
}
