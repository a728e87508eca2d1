package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"mediagate/internal/media"
	"mediagate/internal/service"
)

// FuzzDecodeRequests feeds the server's request decoders hostile bodies: they never
// panic, and what they accept re-encodes and decodes to the same value.
func FuzzDecodeRequests(f *testing.F) {
	for _, s := range []string{
		`{"token":"abc","host":"HOST-07","csr":"-----BEGIN CERTIFICATE REQUEST-----\n…","baseline":["wwn:0x1"]}`,
		`{"daemon":"running","policy_version":3,"seen":[{"medium":"S-1","key":"usb:1","decision":"allow","time":"2026-01-01T00:00:00Z"}]}`,
		`{"identity":{"kind":"usb-disk","key":"usb:0781:5567:X"},"level":"secret","purpose":"p","requester":"alice"}`,
		`{"daemon":"running","policy_version":3,"checkins":[{"id":"a1","seen":{"kind":"usb-disk","key":"usb:1"},"device":"/devices/2-1"}]}`,
		`{"daemon":"run`, `{} {}`, `{"host":"x","host":"y"}`, `{"level":"机密"}`, `[]`, `null`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(v any, fresh func() any) {
			if err := DecodeBytes(b, v); err != nil {
				return
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("accepted %q but cannot encode it: %v", b, err)
			}
			w := fresh()
			if err := DecodeBytes(again, w); err != nil {
				t.Fatalf("re-encoded %q does not decode: %v", again, err)
			}
			third, _ := json.Marshal(w)
			if !bytes.Equal(again, third) {
				t.Fatalf("not stable: %s vs %s", again, third)
			}
		}
		check(&EnrollRequest{}, func() any { return &EnrollRequest{} })
		check(&Report{}, func() any { return &Report{} })
		check(&RegistrationRequest{}, func() any { return &RegistrationRequest{} })
		check(&service.RegisterRequest{}, func() any { return &service.RegisterRequest{} })
		if err := Decode(bytes.NewReader(b), 64, &Report{}); len(b) > 64 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("body of %d bytes over a 64-byte limit: %v", len(b), err)
		}
	})
}

// FuzzErrorBody: an error body from a server is decoded into an error without
// panicking, whatever it holds.
func FuzzErrorBody(f *testing.F) {
	f.Add([]byte(`{"kind":"store","sentinel":"not-found","code":"err.no-medium","args":[{"t":"text","v":"S-1"},{"t":"level","v":"secret"},{"t":"phrase","code":"why.x","args":[{"t":"int","v":3}]}],"message":"x"}`))
	f.Add([]byte(`{"kind":"broken","seq":4,"args":[{"t":"int","v":4},{"t":"text","v":"hash mismatch"}]}`))
	f.Add([]byte(`{"kind":"refused","args":[{"t":"int","v":1e300},{"t":"time","v":"x"},{"t":"level","v":7}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Error
		if json.Unmarshal(b, &e) != nil {
			return
		}
		err := e.Err()
		if err == nil {
			t.Fatal("nil error from an error body")
		}
		_ = err.Error()
	})
}

func TestErrorRoundTrip(t *testing.T) {
	msg := func(code string, args []any) string { return code }
	for _, err := range []error{
		&service.Error{Kind: service.ErrRefused, Code: "err.weak-serial", Args: []any{"", service.Phrase{Code: "why.empty"}}},
		&service.StoreError{Kind: service.ErrDuplicateIdentity, Code: "err.dup-identity", Args: []any{"usb:1"}},
		&service.StoreError{Kind: service.ErrRelevelDown, Code: "relevel-down", Args: []any{"S-1", media.Secret, media.Confidential}},
	} {
		e := FromError(err, msg)
		b, _ := json.Marshal(e)
		var back Error
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got := back.Err()
		var se *service.StoreError
		if errors.As(err, &se) && !errors.Is(got, se.Kind) {
			t.Errorf("%v came back as %v, not %v", err, got, se.Kind)
		}
		if errors.Is(err, service.ErrRefused) && !errors.Is(got, service.ErrRefused) {
			t.Errorf("%v came back as %v", err, got)
		}
		code, args := got.(interface{ MessageCode() (string, []any) }).MessageCode()
		wantCode, wantArgs := err.(interface{ MessageCode() (string, []any) }).MessageCode()
		if code != wantCode || len(args) != len(wantArgs) {
			t.Errorf("code %s %v; want %s %v", code, args, wantCode, wantArgs)
		}
		for i := range args {
			if l, ok := wantArgs[i].(media.Level); ok && args[i] != l {
				t.Errorf("level argument %v came back as %#v", l, args[i])
			}
		}
	}
}
