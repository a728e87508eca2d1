package policydoc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"mediagate/internal/media"
)

// nextDoc is testDoc changed in every way a delta carries: a status changed, a
// medium added, one removed, a person added and one removed, the profile changed.
func nextDoc(host string, version uint64) Document {
	d := testDoc(host, version)
	d.IssuedAt = d.IssuedAt.Add(time.Hour)
	d.Profile.AllowClasses = []string{"audio", "video"}
	d.Media[1].Status = media.StatusActive
	d.Media = append(d.Media[1:], Medium{
		Number: "C-003", Kind: media.KindUSBDisk, Level: media.Confidential, Access: media.AccessReadWrite,
		Custodian: "carol", Status: media.StatusActive, AllowedHosts: []string{host},
		Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530003"},
	}, Medium{
		Number: "C-004", Kind: media.KindUSBDisk, Level: media.Confidential, Access: media.AccessReadOnly,
		Custodian: "bob", Status: media.StatusActive,
		Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:4C530004"},
	})
	d.People = []Person{{Handle: "carol", Active: true}, {Handle: "bob", Active: true}}
	return d
}

func basePolicy(t testing.TB) (*Policy, []byte) {
	t.Helper()
	pub, priv := testKey(t, 1)
	cur, err := Verify(sign(t, testDoc("HOST-07", 5), priv), pub, "HOST-07", 0)
	if err != nil {
		t.Fatal(err)
	}
	return cur, pub
}

func signedDeltaOf(t testing.TB, cur *Policy, to Document, edit func(*Delta)) []byte {
	t.Helper()
	_, priv := testKey(t, 1)
	d, err := Diff(cur.Payload, cur.Document, to)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&d)
	}
	env, err := SignDeltaDoc(d, priv)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestDeltaGivesTheSignedDocument: a delta applied to the policy in force gives the
// very bytes the full document of that version has, so the host holds the same
// policy either way; its envelope verifies on its own (the cache), and the full
// document of the same version later is a replay, not a conflict.
func TestDeltaGivesTheSignedDocument(t *testing.T) {
	cur, _ := basePolicy(t)
	pub, priv := testKey(t, 1)
	to := nextDoc("HOST-07", 6)
	env := signedDeltaOf(t, cur, to, nil)
	if !IsDelta(env) || IsDelta(cur.Envelope) {
		t.Fatal("IsDelta does not tell a delta from a document")
	}
	var d Delta
	var e Envelope
	json.Unmarshal(env, &e)
	raw, _ := base64.StdEncoding.DecodeString(e.Delta)
	json.Unmarshal(raw, &d)
	if len(d.Media) != 3 || len(d.Removed) != 1 || d.Removed[0] != "S-001" || d.Profile == nil ||
		len(d.People) != 2 || len(d.PeopleRemoved) != 1 || d.PeopleRemoved[0] != "alice" {
		t.Errorf("delta = %+v", d)
	}

	p, err := ApplyDelta(env, pub, "HOST-07", cur)
	if err != nil {
		t.Fatalf("ApplyDelta: %v", err)
	}
	// Sign writes the media as given; the server (and Diff) write them in canonical
	// order: compare with the canonical document.
	canon := to
	SortMedia(canon.Media)
	canon.People = []Person{to.People[1], to.People[0]}
	canonFull, err := Verify(sign(t, canon, priv), pub, "HOST-07", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Payload, canonFull.Payload) {
		t.Errorf("delta result differs from the full document:\n%s\n%s", p.Payload, canonFull.Payload)
	}
	if p.Document.Version != 6 || p.Document.Media[0].Number != "C-004" || p.Document.Media[2].Number != "C-003" {
		t.Errorf("document = %+v", p.Document.Media)
	}
	again, err := Verify(p.Envelope, pub, "HOST-07", 6)
	if err != nil || !bytes.Equal(again.Payload, p.Payload) {
		t.Fatalf("the envelope made from a delta does not verify on its own: %v", err)
	}
	if _, err := VerifyNext(canonFull.Envelope, pub, "HOST-07", p); err != nil {
		t.Errorf("the full document of the version made by a delta: %v", err)
	}
	// A second delta on top of the first.
	third := nextDoc("HOST-07", 7)
	third.Media[0].Status = media.StatusLost
	p3, err := ApplyDelta(signedDeltaOf(t, p, third, nil), pub, "HOST-07", p)
	if err != nil || p3.Document.Version != 7 || p3.Document.Media[1].Number != "S-002" || p3.Document.Media[1].Status != media.StatusLost {
		t.Fatalf("second delta: %v", err)
	}
}

func TestDeltaRefusals(t *testing.T) {
	cur, pub := basePolicy(t)
	_, otherPriv := testKey(t, 2)
	to := nextDoc("HOST-07", 6)
	good := signedDeltaOf(t, cur, to, nil)
	var e Envelope
	json.Unmarshal(good, &e)
	raw, _ := base64.StdEncoding.DecodeString(e.Delta)
	otherKey := func() []byte {
		d, _ := Diff(cur.Payload, cur.Document, to)
		env, _ := SignDeltaDoc(d, otherPriv)
		return env
	}()
	// A document's signature over the delta's bytes (domain separation).
	_, priv := testKey(t, 1)
	asDocSig := func() []byte {
		var x Envelope
		json.Unmarshal(resign(raw, priv), &x)
		b, _ := json.Marshal(Envelope{Delta: e.Delta, Signature: x.Signature, KeyID: x.KeyID})
		return b
	}()
	attested, err := ApplyDelta(good, pub, "HOST-07", cur)
	if err != nil {
		t.Fatal(err)
	}
	swapped := func() []byte {
		var x Envelope
		json.Unmarshal(attested.Envelope, &x)
		x.Payload = base64.StdEncoding.EncodeToString(cur.Payload)
		b, _ := json.Marshal(x)
		return b
	}()

	tests := []struct {
		name string
		env  []byte
		host string
		cur  *Policy
		want error
	}{
		{"no policy in force", good, "HOST-07", nil, ErrDeltaBase},
		{"other base version", signedDeltaOf(t, cur, to, func(d *Delta) { d.FromVersion = 4 }), "HOST-07", cur, ErrDeltaBase},
		{"other base digest", signedDeltaOf(t, cur, to, func(d *Delta) { d.FromDigest = Digest([]byte("x")) }), "HOST-07", cur, ErrDeltaBase},
		{"result not the document signed", signedDeltaOf(t, cur, to, func(d *Delta) { d.Digest = Digest([]byte("x")) }), "HOST-07", cur, ErrDeltaDigest},
		{"a change left out", signedDeltaOf(t, cur, to, func(d *Delta) { d.Media = d.Media[1:] }), "HOST-07", cur, ErrDeltaDigest},
		{"removes what is not there", signedDeltaOf(t, cur, to, func(d *Delta) { d.Removed = append(d.Removed, "X-9") }), "HOST-07", cur, ErrDeltaBase},
		{"same version", signedDeltaOf(t, cur, to, func(d *Delta) { d.Version = 5 }), "HOST-07", cur, ErrOldVersion},
		{"other host", good, "HOST-08", cur, ErrOtherHost},
		{"other key", otherKey, "HOST-07", cur, ErrOtherKey},
		{"document signature on a delta", asDocSig, "HOST-07", cur, ErrBadSignature},
		{"empty", nil, "HOST-07", cur, ErrMalformed},
		{"a document, not a delta", cur.Envelope, "HOST-07", cur, ErrMalformed},
		{"delta format", signedDeltaOf(t, cur, to, func(d *Delta) { d.Format = Format }), "HOST-07", cur, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ApplyDelta(tt.env, pub, tt.host, tt.cur)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("ApplyDelta = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Verify(good, pub, "HOST-07", 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify of a wire delta: %v", err)
	}
	if _, err := Verify(swapped, pub, "HOST-07", 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify of a delta-made envelope with another document: %v", err)
	}
	if got := Reason(func() error { _, err := ApplyDelta(good, pub, "HOST-07", nil); return err }()); got != "delta-base" {
		t.Errorf("Reason = %q", got)
	}
}

// FuzzApplyDelta feeds arbitrary delta envelopes, and arbitrary delta bytes signed
// with the right key, to ApplyDelta over a fixed policy in force: a policy or one of
// the package's refusals, never a panic; an accepted policy is newer and its
// envelope verifies on its own to the same document.
func FuzzApplyDelta(f *testing.F) {
	cur, pub := basePolicy(f)
	_, priv := testKey(f, 1)
	good := signedDeltaOf(f, cur, nextDoc("HOST-07", 6), nil)
	f.Add(good, false)
	var e Envelope
	json.Unmarshal(good, &e)
	raw, _ := base64.StdEncoding.DecodeString(e.Delta)
	f.Add(raw, true)
	f.Add([]byte(`{"format":"mediagate-policy-delta/1","host":"HOST-07","version":6}`), true)
	f.Add([]byte(`{"delta":"","signature":"","key_id":""}`), false)
	refusals := []error{ErrTooLarge, ErrMalformed, ErrOtherKey, ErrBadSignature, ErrFormat, ErrOtherHost, ErrOldVersion,
		ErrVersionConflict, ErrInvalid, ErrDeltaBase, ErrDeltaDigest}
	f.Fuzz(func(t *testing.T, data []byte, asDelta bool) {
		env := data
		if asDelta {
			var err error
			if env, err = SignDelta(data, priv); err != nil {
				return
			}
		}
		p, err := ApplyDelta(env, pub, "HOST-07", cur)
		if err != nil {
			for _, r := range refusals {
				if errors.Is(err, r) {
					return
				}
			}
			t.Fatalf("refusal without a sentinel: %v", err)
		}
		if p.Document.Host != "HOST-07" || p.Document.Version <= cur.Document.Version {
			t.Fatalf("accepted %+v", p.Document)
		}
		again, err := Verify(p.Envelope, pub, "HOST-07", p.Document.Version)
		if err != nil || !bytes.Equal(again.Payload, p.Payload) {
			t.Fatalf("accepted policy does not re-verify: %v", err)
		}
	})
}
