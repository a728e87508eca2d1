package policydoc

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DeltaFormat is the format of a policy delta; it is also the domain-separation
// prefix of the delta's signature (a delta's signature never verifies as a
// document's, nor the other way round).
const DeltaFormat = "mediagate-policy-delta/1"

// Refusals of a delta that does not give the signed document. They are not attacks
// as such (the server may have lost its history, the host its cache): the host asks
// for the whole document instead.
var (
	ErrDeltaBase   = errors.New("policy delta is not for the policy in force")
	ErrDeltaDigest = errors.New("policy delta does not give the document signed")
)

// Delta is what the server signs to take one host from the version it holds to a
// newer one: the media entries added or changed, the numbers of those removed, the
// same for people, and the profile when it changed. Digest is the SHA-256 of the
// resulting document's bytes (json.Marshal of the Document, media in canonical
// order), so a delta signed by the office binds the whole document it gives.
type Delta struct {
	Format        string    `json:"format"`
	Host          string    `json:"host"`
	FromVersion   uint64    `json:"from_version"`
	FromDigest    string    `json:"from_digest"`
	Version       uint64    `json:"version"`
	IssuedAt      time.Time `json:"issued_at"`
	Digest        string    `json:"digest"`
	Profile       *Profile  `json:"profile,omitempty"`
	Media         []Medium  `json:"media,omitempty"`
	Removed       []string  `json:"removed,omitempty"`
	People        []Person  `json:"people,omitempty"`
	PeopleRemoved []string  `json:"people_removed,omitempty"`
}

// Digest is the digest of a document's bytes as deltas carry it: SHA-256, hex.
func Digest(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

// IsDelta reports whether an envelope carries a delta rather than a document (it
// checks the shape only; ApplyDelta verifies).
func IsDelta(envelope []byte) bool {
	var env struct {
		Payload *string `json:"payload"`
		Delta   *string `json:"delta"`
	}
	if len(envelope) > MaxEnvelope || json.Unmarshal(envelope, &env) != nil {
		return false
	}
	return env.Delta != nil && env.Payload == nil
}

// SignDelta signs delta bytes (a Delta's JSON, as the server assembles it) into an
// envelope with no payload.
func SignDelta(delta []byte, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign policy delta: private key of %d bytes", len(priv))
	}
	enc := base64.StdEncoding
	sig := ed25519.Sign(priv, signedDelta(delta))
	kid := KeyID(priv.Public().(ed25519.PublicKey))
	out := make([]byte, 0, len(`{"delta":"","signature":"","key_id":""}`)+enc.EncodedLen(len(delta))+enc.EncodedLen(len(sig))+len(kid))
	out = append(out, `{"delta":"`...)
	out = enc.AppendEncode(out, delta)
	out = append(out, `","signature":"`...)
	out = enc.AppendEncode(out, sig)
	out = append(out, `","key_id":"`...)
	out = append(out, kid...)
	out = append(out, `"}`...)
	if len(out) > MaxEnvelope {
		return nil, fmt.Errorf("sign policy delta: %w (%d bytes)", ErrTooLarge, len(out))
	}
	return out, nil
}

func signedDelta(delta []byte) []byte {
	msg := make([]byte, 0, len(DeltaFormat)+1+len(delta))
	msg = append(msg, DeltaFormat...)
	msg = append(msg, '\n')
	return append(msg, delta...)
}

// openDelta checks a delta's signature and decodes it.
func openDelta(env Envelope, pub ed25519.PublicKey) (Delta, error) {
	var d Delta
	if env.KeyID != KeyID(pub) {
		return d, fmt.Errorf("%w (key id %q, want %s)", ErrOtherKey, clip(env.KeyID), KeyID(pub))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(env.Delta)
	if err != nil {
		return d, fmt.Errorf("%w: delta: %v", ErrMalformed, err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return d, fmt.Errorf("%w: signature is not %d bytes of base64", ErrBadSignature, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, signedDelta(raw), sig) {
		return d, fmt.Errorf("%w (delta)", ErrBadSignature)
	}
	// Only signed bytes are parsed past this point.
	if err := decodeStrict(raw, &d); err != nil {
		return d, fmt.Errorf("delta: %w", err)
	}
	if d.Format != DeltaFormat {
		return d, fmt.Errorf("%w %q (want %s)", ErrFormat, clip(d.Format), DeltaFormat)
	}
	if d.Version == 0 {
		return d, fmt.Errorf("%w: delta to version 0", ErrInvalid)
	}
	return d, nil
}

// ApplyDelta verifies a delta envelope against the office's key and this host, applies
// it to cur (the policy in force) and returns the resulting policy, verified as
// VerifyNext verifies a document. Its Envelope is self-contained (the document's
// bytes with the signed delta that binds their digest): a host caches it and Verify
// reads it back. A delta for another base (ErrDeltaBase) or one whose result is not
// the document signed (ErrDeltaDigest) changes nothing: ask for the whole document.
func ApplyDelta(envelope []byte, pub ed25519.PublicKey, host string, cur *Policy) (*Policy, error) {
	if len(envelope) > MaxEnvelope {
		return nil, fmt.Errorf("apply policy delta: %w (%d bytes, at most %d)", ErrTooLarge, len(envelope), MaxEnvelope)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("apply policy delta: %w: public key of %d bytes", ErrOtherKey, len(pub))
	}
	var env Envelope
	if err := decodeStrict(envelope, &env); err != nil {
		return nil, fmt.Errorf("apply policy delta: envelope: %w", err)
	}
	if env.Payload != "" || env.Delta == "" {
		return nil, fmt.Errorf("apply policy delta: %w: not a delta", ErrMalformed)
	}
	d, err := openDelta(env, pub)
	if err != nil {
		return nil, fmt.Errorf("apply policy delta: %w", err)
	}
	if d.Host != host {
		return nil, fmt.Errorf("apply policy delta: %w (%q, this host is %q)", ErrOtherHost, clip(d.Host), host)
	}
	if cur == nil {
		return nil, fmt.Errorf("apply policy delta: %w (no policy in force)", ErrDeltaBase)
	}
	if d.Version <= cur.Document.Version {
		return nil, fmt.Errorf("apply policy delta: %w (version %d, in force %d)", ErrOldVersion, d.Version, cur.Document.Version)
	}
	if d.FromVersion != cur.Document.Version || d.FromDigest != Digest(cur.Payload) {
		return nil, fmt.Errorf("apply policy delta: %w (from version %d, in force %d)", ErrDeltaBase, d.FromVersion, cur.Document.Version)
	}
	doc, err := d.apply(cur.Document)
	if err != nil {
		return nil, fmt.Errorf("apply policy delta: %w", err)
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("apply policy delta: %w: %v", ErrInvalid, err)
	}
	if Digest(payload) != d.Digest {
		return nil, fmt.Errorf("apply policy delta: %w (version %d)", ErrDeltaDigest, d.Version)
	}
	out, err := json.Marshal(Envelope{Payload: base64.StdEncoding.EncodeToString(payload), Signature: env.Signature,
		KeyID: env.KeyID, Delta: env.Delta})
	if err != nil {
		return nil, fmt.Errorf("apply policy delta: %w", err)
	}
	return VerifyNext(out, pub, host, cur)
}

// apply returns base with the delta's changes, media and people in canonical order.
func (d Delta) apply(base Document) (Document, error) {
	doc := base
	doc.Version, doc.IssuedAt = d.Version, d.IssuedAt
	if d.Profile != nil {
		doc.Profile = *d.Profile
	}
	byNumber := make(map[string]Medium, len(base.Media)+len(d.Media))
	for _, m := range base.Media {
		byNumber[m.Number] = m
	}
	for _, n := range d.Removed {
		if _, ok := byNumber[n]; !ok {
			return doc, fmt.Errorf("%w: medium %q removed but not in force", ErrDeltaBase, clip(n))
		}
		delete(byNumber, n)
	}
	for _, m := range d.Media {
		byNumber[m.Number] = m
	}
	doc.Media = make([]Medium, 0, len(byNumber))
	for _, m := range byNumber {
		doc.Media = append(doc.Media, m)
	}
	SortMedia(doc.Media)
	people := make(map[string]Person, len(base.People)+len(d.People))
	for _, p := range base.People {
		people[p.Handle] = p
	}
	for _, h := range d.PeopleRemoved {
		if _, ok := people[h]; !ok {
			return doc, fmt.Errorf("%w: person %q removed but not in force", ErrDeltaBase, clip(h))
		}
		delete(people, h)
	}
	for _, p := range d.People {
		people[p.Handle] = p
	}
	doc.People = nil
	for _, p := range people {
		doc.People = append(doc.People, p)
	}
	slices.SortFunc(doc.People, func(a, b Person) int { return cmp.Compare(a.Handle, b.Handle) })
	return doc, nil
}

// SortMedia puts media in the order the server writes them: the media not limited to
// hosts first, by level and then number, then the media limited to hosts, by number.
func SortMedia(ms []Medium) {
	slices.SortStableFunc(ms, func(a, b Medium) int {
		la, lb := len(a.AllowedHosts) > 0, len(b.AllowedHosts) > 0
		switch {
		case la != lb:
			if la {
				return 1
			}
			return -1
		case !la && a.Level != b.Level:
			return cmp.Compare(a.Level, b.Level)
		}
		return cmp.Compare(a.Number, b.Number)
	})
}

// verifyAttested checks an envelope that carries a document with the signed delta
// that made it (ApplyDelta's result): the delta's signature, and that the document
// is the one whose digest it carries, for the same host and version.
func verifyAttested(env Envelope, pub ed25519.PublicKey) ([]byte, error) {
	d, err := openDelta(env, pub)
	if err != nil {
		return nil, err
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if Digest(payload) != d.Digest {
		return nil, fmt.Errorf("%w (document is not the one the delta signed)", ErrBadSignature)
	}
	var head struct {
		Host     string    `json:"host"`
		Version  uint64    `json:"version"`
		IssuedAt time.Time `json:"issued_at"`
	}
	// The document is signed through its digest; it is decoded strictly by the caller.
	if json.Unmarshal(payload, &head) != nil || head.Host != d.Host || head.Version != d.Version || !head.IssuedAt.Equal(d.IssuedAt) {
		return nil, fmt.Errorf("%w: document and delta disagree on host, version or issue time", ErrInvalid)
	}
	return bytes.Clone(payload), nil
}

// Diff returns the delta that takes the document from (whose exact bytes are
// fromPayload) to the document to. The media and people of to are put in canonical
// order first (the order ApplyDelta gives), and Digest is of to's bytes in that order.
func Diff(fromPayload []byte, from, to Document) (Delta, error) {
	to.Media = slices.Clone(to.Media)
	SortMedia(to.Media)
	if to.Media == nil {
		to.Media = []Medium{}
	}
	to.People = slices.Clone(to.People)
	slices.SortFunc(to.People, func(a, b Person) int { return cmp.Compare(a.Handle, b.Handle) })
	if to.Format == "" {
		to.Format = Format
	}
	payload, err := json.Marshal(to)
	if err != nil {
		return Delta{}, fmt.Errorf("policy delta: %w", err)
	}
	d := Delta{Format: DeltaFormat, Host: to.Host, FromVersion: from.Version, FromDigest: Digest(fromPayload),
		Version: to.Version, IssuedAt: to.IssuedAt, Digest: Digest(payload)}
	if !sameJSON(from.Profile, to.Profile) {
		p := to.Profile
		d.Profile = &p
	}
	old := make(map[string]Medium, len(from.Media))
	for _, m := range from.Media {
		old[m.Number] = m
	}
	for _, m := range to.Media {
		if o, ok := old[m.Number]; !ok || !sameJSON(o, m) {
			d.Media = append(d.Media, m)
		}
		delete(old, m.Number)
	}
	for n := range old {
		d.Removed = append(d.Removed, n)
	}
	slices.Sort(d.Removed)
	oldP := make(map[string]Person, len(from.People))
	for _, p := range from.People {
		oldP[p.Handle] = p
	}
	for _, p := range to.People {
		if o, ok := oldP[p.Handle]; !ok || o != p {
			d.People = append(d.People, p)
		}
		delete(oldP, p.Handle)
	}
	for h := range oldP {
		d.PeopleRemoved = append(d.PeopleRemoved, h)
	}
	slices.Sort(d.PeopleRemoved)
	return d, nil
}

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// SignDeltaDoc encodes and signs d.
func SignDeltaDoc(d Delta, priv ed25519.PrivateKey) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("sign policy delta: %w", err)
	}
	return SignDelta(b, priv)
}
