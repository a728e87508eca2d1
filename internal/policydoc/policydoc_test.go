package policydoc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"mediagate/internal/media"
)

func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func testDoc(host string, version uint64) Document {
	return Document{
		Host: host, Version: version,
		IssuedAt: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
		Profile: Profile{Number: host, Level: media.Secret, Mode: media.ModeEnforce,
			AllowClasses: []string{"audio"}, Baseline: []string{"ata:WD-1"}},
		Media: []Medium{{
			Number: "S-001", Kind: media.KindUSBDisk, Level: media.Secret, Access: media.AccessReadWrite,
			Custodian: "alice", Status: media.StatusActive,
			Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530001", Serial: "4C530001"},
		}, {
			Number: "S-002", Kind: media.KindUSBDisk, Level: media.Secret, Access: media.AccessReadWrite,
			Custodian: "bob", Status: media.StatusLost,
			Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530002"},
		}},
		People: []Person{{Handle: "alice", Active: true, Login: "alice"}, {Handle: "bob"}},
	}
}

func sign(t testing.TB, d Document, priv ed25519.PrivateKey) []byte {
	t.Helper()
	env, err := Sign(d, priv)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return env
}

// resign builds an envelope around arbitrary payload bytes, signed correctly.
func resign(payload []byte, priv ed25519.PrivateKey) []byte {
	env := Envelope{
		Payload:   base64.StdEncoding.EncodeToString(payload),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signed(payload))),
		KeyID:     KeyID(priv.Public().(ed25519.PublicKey)),
	}
	b, _ := json.Marshal(env)
	return b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := testKey(t, 1)
	doc := testDoc("HOST-07", 42)
	env := sign(t, doc, priv)
	p, err := Verify(env, pub, "HOST-07", 42)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Document.Format != Format || p.Document.Version != 42 || len(p.Document.Media) != 2 {
		t.Fatalf("document = %+v", p.Document)
	}
	if !bytes.Equal(p.Envelope, env) {
		t.Error("Policy.Envelope is not the envelope verified")
	}
	rec := p.Document.Media[0].Record()
	if rec.Number != "S-001" || rec.Identity.Key != "usb:0781:5567:4C530001" || rec.Custodian != "alice" || rec.Status != media.StatusActive {
		t.Errorf("Record() = %+v", rec)
	}
	if len(p.Document.People) != 2 {
		t.Fatalf("people = %+v", p.Document.People)
	}
	if a, b := p.Document.People[0].Record(), p.Document.People[1].Record(); !a.Active || a.Login != "alice" || b.Active || b.Handle != "bob" {
		t.Errorf("people records = %+v, %+v", a, b)
	}
	h := p.Document.Profile.Host()
	if h.Number != "HOST-07" || h.Level != media.Secret || h.Mode != media.ModeEnforce || len(h.Baseline) != 1 {
		t.Errorf("Host() = %+v", h)
	}
}

func TestVerifyRefusals(t *testing.T) {
	pub, priv := testKey(t, 1)
	_, otherPriv := testKey(t, 2)
	good := sign(t, testDoc("HOST-07", 42), priv)

	var env Envelope
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	withEnv := func(f func(e *Envelope)) []byte {
		e := env
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	docJSON := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	flipped := bytes.Clone(payload)
	flipped[len(flipped)/2] ^= 0x01

	tests := []struct {
		name     string
		envelope []byte
		pub      ed25519.PublicKey
		host     string
		min      uint64
		want     error
	}{
		{"bad signature", withEnv(func(e *Envelope) {
			sig, _ := base64.StdEncoding.DecodeString(e.Signature)
			sig[0] ^= 0xff
			e.Signature = base64.StdEncoding.EncodeToString(sig)
		}), pub, "HOST-07", 1, ErrBadSignature},
		{"payload changed after signing", withEnv(func(e *Envelope) {
			e.Payload = base64.StdEncoding.EncodeToString(flipped)
		}), pub, "HOST-07", 1, ErrBadSignature},
		{"short signature", withEnv(func(e *Envelope) { e.Signature = "AAAA" }), pub, "HOST-07", 1, ErrBadSignature},
		{"signed by another key", sign(t, testDoc("HOST-07", 42), otherPriv), pub, "HOST-07", 1, ErrOtherKey},
		{"another key claiming our key id", withEnv(func(e *Envelope) {
			e.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(otherPriv, signed(payload)))
		}), pub, "HOST-07", 1, ErrBadSignature},
		{"verifier given a short key", good, pub[:16], "HOST-07", 1, ErrOtherKey},
		{"other host", good, pub, "HOST-08", 1, ErrOtherHost},
		{"host differs in case", good, pub, "host-07", 1, ErrOtherHost},
		{"older version", good, pub, "HOST-07", 43, ErrOldVersion},
		{"unknown format", resign(docJSON(func(m map[string]any) { m["format"] = "mediagate-policy/2" }), priv), pub, "HOST-07", 1, ErrFormat},
		{"no format", resign(docJSON(func(m map[string]any) { delete(m, "format") }), priv), pub, "HOST-07", 1, ErrFormat},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxEnvelope)...), pub, "HOST-07", 1, ErrTooLarge},
		{"trailing data after envelope", append(bytes.Clone(good), []byte(`{}`)...), pub, "HOST-07", 1, ErrMalformed},
		{"trailing garbage after envelope", append(bytes.Clone(good), 'x'), pub, "HOST-07", 1, ErrMalformed},
		{"trailing data after document", resign(append(bytes.Clone(payload), []byte(` {"format":"x"}`)...), priv), pub, "HOST-07", 1, ErrMalformed},
		{"unknown envelope field", bytes.Replace(good, []byte(`{"payload"`), []byte(`{"extra":1,"payload"`), 1), pub, "HOST-07", 1, ErrMalformed},
		{"unknown document field", resign(docJSON(func(m map[string]any) { m["allow_everything"] = true }), priv), pub, "HOST-07", 1, ErrMalformed},
		{"unknown medium field", resign(docJSON(func(m map[string]any) {
			m["media"].([]any)[0].(map[string]any)["trusted"] = true
		}), priv), pub, "HOST-07", 1, ErrMalformed},
		{"truncated envelope", good[:len(good)/2], pub, "HOST-07", 1, ErrMalformed},
		{"payload not base64", withEnv(func(e *Envelope) { e.Payload = "!!" }), pub, "HOST-07", 1, ErrMalformed},
		{"unknown level", resign(docJSON(func(m map[string]any) {
			m["profile"].(map[string]any)["level"] = "cosmic"
		}), priv), pub, "HOST-07", 1, ErrMalformed},
		{"profile of another host", resign(docJSON(func(m map[string]any) {
			m["profile"].(map[string]any)["number"] = "HOST-08"
		}), priv), pub, "HOST-07", 1, ErrInvalid},
		{"unknown mode", resign(docJSON(func(m map[string]any) {
			m["profile"].(map[string]any)["mode"] = "off"
		}), priv), pub, "HOST-07", 1, ErrInvalid},
		{"two media with one identity", resign(docJSON(func(m map[string]any) {
			ms := m["media"].([]any)
			ms[1].(map[string]any)["identity"] = ms[0].(map[string]any)["identity"]
		}), priv), pub, "HOST-07", 1, ErrInvalid},
		{"person listed twice", resign(docJSON(func(m map[string]any) {
			ps := m["people"].([]any)
			m["people"] = append(ps, ps[0])
		}), priv), pub, "HOST-07", 1, ErrInvalid},
		{"version zero", resign(docJSON(func(m map[string]any) { m["version"] = 0 }), priv), pub, "HOST-07", 0, ErrInvalid},
		{"empty", nil, pub, "HOST-07", 1, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Verify(tt.envelope, tt.pub, tt.host, tt.min)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Error("a refused policy was returned")
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error not lower-case: %q", msg)
			}
		})
	}
}

func TestVerifyNext(t *testing.T) {
	pub, priv := testKey(t, 1)
	cur, err := Verify(sign(t, testDoc("HOST-07", 5), priv), pub, "HOST-07", 0)
	if err != nil {
		t.Fatal(err)
	}
	same := sign(t, testDoc("HOST-07", 5), priv)
	if p, err := VerifyNext(same, pub, "HOST-07", cur); err != nil || !bytes.Equal(p.Payload, cur.Payload) {
		t.Errorf("replay of the policy in force: %v", err)
	}
	changed := testDoc("HOST-07", 5)
	changed.Media[1].Status = media.StatusActive
	if _, err := VerifyNext(sign(t, changed, priv), pub, "HOST-07", cur); !errors.Is(err, ErrVersionConflict) {
		t.Errorf("same version, other content: %v, want %v", err, ErrVersionConflict)
	}
	if _, err := VerifyNext(sign(t, testDoc("HOST-07", 4), priv), pub, "HOST-07", cur); !errors.Is(err, ErrOldVersion) {
		t.Errorf("lower version: %v, want %v", err, ErrOldVersion)
	}
	next, err := VerifyNext(sign(t, changed, priv), pub, "HOST-07", nil)
	if err != nil || next.Document.Media[1].Status != media.StatusActive {
		t.Errorf("first policy: %v", err)
	}
	changed.Version = 6
	if _, err := VerifyNext(sign(t, changed, priv), pub, "HOST-07", cur); err != nil {
		t.Errorf("higher version: %v", err)
	}
}

func TestSignRefusesInvalidDocument(t *testing.T) {
	_, priv := testKey(t, 1)
	bad := testDoc("HOST-07", 1)
	bad.Profile.Number = "HOST-09"
	if _, err := Sign(bad, priv); !errors.Is(err, ErrInvalid) {
		t.Errorf("Sign of a profile for another host: %v", err)
	}
	if _, err := Sign(testDoc("HOST-07", 1), priv[:10]); err == nil {
		t.Error("Sign with a short key succeeded")
	}
}

func TestReadEnvelope(t *testing.T) {
	_, priv := testKey(t, 1)
	good := sign(t, testDoc("HOST-07", 1), priv)
	b, err := ReadEnvelope(bytes.NewReader(good))
	if err != nil || !bytes.Equal(b, good) {
		t.Fatalf("ReadEnvelope = %v", err)
	}
	if _, err := ReadEnvelope(bytes.NewReader(make([]byte, MaxEnvelope+10))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func TestKeyID(t *testing.T) {
	pub1, _ := testKey(t, 1)
	pub2, _ := testKey(t, 2)
	if id := KeyID(pub1); len(id) != 16 || id == KeyID(pub2) || strings.ToLower(id) != id {
		t.Errorf("KeyID = %q / %q", id, KeyID(pub2))
	}
}

func TestReason(t *testing.T) {
	pub, priv := testKey(t, 1)
	_, err := Verify(sign(t, testDoc("HOST-07", 1), priv), pub, "HOST-08", 0)
	if got := Reason(err); got != "other-host" {
		t.Errorf("Reason = %q", got)
	}
	if got := Reason(errors.New("x")); got != "" {
		t.Errorf("Reason of another error = %q", got)
	}
}
