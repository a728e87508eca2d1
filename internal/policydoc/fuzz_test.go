package policydoc

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary envelopes to Verify, and arbitrary documents signed with
// the right key (so the document decoder is reached). Whatever comes in, Verify
// returns a policy or one of the package's refusals, never panics, and an accepted
// policy re-verifies to the same document.
func FuzzVerify(f *testing.F) {
	pub, priv := testKey(f, 1)
	good := sign(f, testDoc("HOST-07", 42), priv)
	f.Add(good, false)
	f.Add([]byte(`{"payload":"","signature":"","key_id":""}`), false)
	p, _ := Verify(good, pub, "HOST-07", 0)
	f.Add(p.Payload, true)
	f.Add([]byte(`{"format":"mediagate-policy/1","host":"HOST-07","version":1,"profile":{"number":"HOST-07","level":"secret","mode":"enforce"},"media":[]}`), true)
	f.Add([]byte(`{"format":"mediagate-policy/1","host":"HOST-07","version":1} []`), true)

	refusals := []error{ErrTooLarge, ErrMalformed, ErrOtherKey, ErrBadSignature, ErrFormat, ErrOtherHost, ErrOldVersion, ErrInvalid}
	f.Fuzz(func(t *testing.T, data []byte, asPayload bool) {
		env := data
		if asPayload {
			env = resign(data, priv)
		}
		p, err := Verify(env, pub, "HOST-07", 1)
		if err != nil {
			for _, r := range refusals {
				if errors.Is(err, r) {
					return
				}
			}
			t.Fatalf("refusal without a sentinel: %v", err)
		}
		if p.Document.Host != "HOST-07" || p.Document.Version < 1 || p.Document.Format != Format {
			t.Fatalf("accepted %+v", p.Document)
		}
		again, err := Verify(p.Envelope, pub, "HOST-07", p.Document.Version)
		if err != nil || !bytes.Equal(again.Payload, p.Payload) {
			t.Fatalf("accepted policy does not re-verify: %v", err)
		}
	})
}
