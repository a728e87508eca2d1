package carry

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// chain returns n rows of one host's log, sealed as the registry seals them.
func chain(t testing.TB, n int) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	prevSeq, prevHash := int64(0), ""
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for i := range n {
		d, _ := audit.Details(event.CarryRefused{Error: "<x> & y", File: "f", Reason: "old", Type: "log"})
		e := &audit.Event{ID: "id-" + string(rune('a'+i%26)), Time: at.Add(time.Duration(i) * time.Second), HostID: "reg-1",
			Kind: event.KindCarryRefused, Actor: audit.Actor{UID: 0, User: "root", Login: "officer"}, Details: d}
		audit.Seal(e, prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		out = append(out, e)
	}
	return out
}

func sealLog(t testing.TB, priv ed25519.PrivateKey, after int64, rows []*audit.Event) []byte {
	t.Helper()
	b, err := NewLogBatch("HOST-09", after, rows, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Seal(KindLog, b, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogRoundTrip(t *testing.T) {
	pub, priv := testKey(t, 1)
	rows := chain(t, 5)
	f := sealLog(t, priv, 2, rows[2:])
	s, err := Parse(f, KindLog)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(pub); err != nil {
		t.Fatal(err)
	}
	var b LogBatch
	if err := DecodeStrict(s.Payload, &b); err != nil {
		t.Fatal(err)
	}
	got, err := b.Events()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != 3 || b.PrevHash != rows[1].Hash || b.Head != rows[4].Hash {
		t.Fatalf("batch %d..%d prev %s", b.First, b.Last, b.PrevHash)
	}
	for i, e := range got {
		if e.Hash != rows[i+2].Hash || audit.ComputeHash(e) != e.Hash || !bytes.Equal(e.Details, rows[i+2].Details) {
			t.Errorf("row %d differs after the trip: %+v", e.Seq, e)
		}
	}
	if s.Digest != Digest(f) || len(s.Digest) != 64 {
		t.Errorf("digest %q", s.Digest)
	}
}

func TestRefusals(t *testing.T) {
	pub, priv := testKey(t, 1)
	_, other := testKey(t, 2)
	rows := chain(t, 4)
	good := sealLog(t, priv, 0, rows)
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
	flip := bytes.Clone(good)
	i := bytes.Index(flip, []byte(`"payload": "`)) + 40
	flip[i] ^= 0x04 // a base64 letter in the payload changed
	batch := func(f func(b *LogBatch)) []byte {
		var b LogBatch
		if err := json.Unmarshal(payload, &b); err != nil {
			t.Fatal(err)
		}
		f(&b)
		out, err := Seal(KindLog, b, priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	req, _ := Seal(KindEnrollRequest, EnrollRequest{Host: "HOST-09", CSR: "x", Created: time.Now()}, priv, nil)

	tests := []struct {
		name string
		file []byte
		pub  ed25519.PublicKey
		want error
	}{
		{"truncated", good[:len(good)/2], pub, ErrMalformed},
		{"truncated to nothing", nil, pub, ErrMalformed},
		{"byte flipped in the payload", flip, pub, ErrBadSignature},
		{"signed by another key", sealLog(t, other, 0, rows), pub, ErrOtherKey},
		{"another key claiming ours", withEnv(func(e *Envelope) {
			e.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(other, SignedBytes(KindLog, payload)))
		}), pub, ErrBadSignature},
		{"signature cut", withEnv(func(e *Envelope) { e.Signature = e.Signature[:20] }), pub, ErrBadSignature},
		{"another format", withEnv(func(e *Envelope) { e.Format = "mediagate-carry/2" }), pub, ErrFormat},
		{"a request given as a log", req, pub, ErrKind},
		{"kind relabelled", withEnv(func(e *Envelope) { e.Kind = KindEnrollRequest }), pub, ErrKind},
		{"unknown field", bytes.Replace(good, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1), pub, ErrMalformed},
		{"trailing data", append(bytes.Clone(good), `{}`...), pub, ErrMalformed},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxLog)...), pub, ErrTooLarge},
		{"row edited and file signed again", batch(func(b *LogBatch) { b.Rows[1].ActorUser = "mallory" }), pub, ErrInvalid},
		{"row dropped and file signed again", batch(func(b *LogBatch) {
			b.Rows = append(b.Rows[:1], b.Rows[2:]...)
			b.Last--
		}), pub, ErrInvalid},
		{"chain link changed", batch(func(b *LogBatch) { b.PrevHash = strings.Repeat("1", 64) }), pub, ErrInvalid},
		{"first row not after the acknowledged one", batch(func(b *LogBatch) { b.After = 3 }), pub, ErrInvalid},
		{"rows of another register", batch(func(b *LogBatch) { b.HostID = "reg-2" }), pub, ErrInvalid},
		{"head not the last row", batch(func(b *LogBatch) { b.Head = rows[0].Hash }), pub, ErrInvalid},
		{"no rows", batch(func(b *LogBatch) { b.Rows = nil; b.First, b.Last = 1, 0 }), pub, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := openLog(tt.file, tt.pub)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if Reason(err) == "" {
				t.Errorf("no reason for %v", err)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error not lower-case: %q", msg)
			}
		})
	}
	if err := openLog(good, pub); err != nil {
		t.Fatalf("the good file: %v", err)
	}
}

// openLog is what the office does with a log file, short of the certificate.
func openLog(file []byte, pub ed25519.PublicKey) error {
	s, err := Parse(file, KindLog)
	if err != nil {
		return err
	}
	if err := s.Verify(pub); err != nil {
		return err
	}
	var b LogBatch
	if err := DecodeStrict(s.Payload, &b); err != nil {
		return err
	}
	_, err = b.Events()
	return err
}

func TestSealRefusesUnknownKindAndShortKey(t *testing.T) {
	_, priv := testKey(t, 1)
	if _, err := Seal("policy", struct{}{}, priv, nil); err == nil {
		t.Error("sealed a file of an unknown kind")
	}
	if _, err := Seal(KindLog, struct{}{}, priv[:10], nil); err == nil {
		t.Error("sealed with a short key")
	}
	if _, err := Parse([]byte(`{}`), "policy"); err == nil {
		t.Error("parsed a file of an unknown kind")
	}
}

func TestRequestAndResponseChecks(t *testing.T) {
	for _, r := range []EnrollRequest{{Host: "", CSR: "x"}, {Host: "HOST 9", CSR: "x"}, {Host: "HOST-09"},
		{Host: "HOST-09", CSR: "x", Token: strings.Repeat("t", 300)}, {Host: "HOST-09", CSR: "x", Baseline: make([]string, 65)}} {
		if err := r.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("request %+v: %v", r, err)
		}
	}
	if err := (EnrollResponse{Host: "HOST-09", Certificate: "c", CA: "a"}).Check(); !errors.Is(err, ErrInvalid) {
		t.Errorf("response without a policy key: %v", err)
	}
}
