package carry

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"mediagate/internal/policydoc"
)

var refusals = []error{ErrTooLarge, ErrMalformed, ErrFormat, ErrKind, ErrOtherKey, ErrBadSignature, ErrInvalid}

// FuzzOpenLog feeds arbitrary files to the office's reading of a log file, and
// arbitrary payloads signed with the right key (so that the batch decoder and its
// chain checks are reached). Whatever comes in: a refusal with a sentinel, never a
// panic, and an accepted batch is a chain.
func FuzzOpenLog(f *testing.F) {
	pub, priv := testKey(f, 1)
	rows := chain(f, 3)
	good := sealLog(f, priv, 0, rows)
	f.Add(good, false)
	f.Add([]byte(`{"format":"mediagate-carry/1","kind":"log","payload":"","signature":"","key_id":""}`), false)
	s, _ := Parse(good, KindLog)
	f.Add(s.Payload, true)
	f.Add([]byte(`{"host":"H","host_id":"r","after":0,"first":1,"last":1,"prev_hash":"","head":"","created":"2026-01-01T00:00:00Z","rows":[{}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, asPayload bool) {
		file := data
		if asPayload {
			var err error
			file, err = sealRaw(KindLog, data, priv)
			if err != nil {
				return
			}
		}
		err := openLog(file, pub)
		if err == nil {
			return
		}
		for _, r := range refusals {
			if errors.Is(err, r) {
				return
			}
		}
		t.Fatalf("refusal without a sentinel: %v", err)
	})
}

// FuzzParseEnrollRequest: an enrolment request file of any bytes is parsed and
// decoded as the office does before it checks the CSR, without a panic.
func FuzzParseEnrollRequest(f *testing.F) {
	_, priv := testKey(f, 3)
	good, _ := Seal(KindEnrollRequest, EnrollRequest{Host: "HOST-09", CSR: "-----BEGIN CERTIFICATE REQUEST-----", Created: time.Now()}, priv, nil)
	f.Add(good)
	f.Add([]byte(`{"format":"mediagate-carry/1","kind":"enroll-request"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []string{KindEnrollRequest, KindEnrollResponse} {
			s, err := Parse(data, kind)
			if err != nil {
				if Reason(err) == "" {
					t.Fatalf("refusal without a reason: %v", err)
				}
				continue
			}
			var r EnrollRequest
			if DecodeStrict(s.Payload, &r) == nil {
				_ = r.Check()
			}
			var a EnrollResponse
			if DecodeStrict(s.Payload, &a) == nil {
				_ = a.Check()
			}
		}
	})
}

// sealRaw signs payload bytes as they are (tests and fuzzing).
func sealRaw(kind string, payload []byte, priv ed25519.PrivateKey) ([]byte, error) {
	env := Envelope{Format: Format, Kind: kind, Payload: base64.StdEncoding.EncodeToString(payload),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, SignedBytes(kind, payload))),
		KeyID:     policydoc.KeyID(priv.Public().(ed25519.PublicKey))}
	return json.Marshal(env)
}
