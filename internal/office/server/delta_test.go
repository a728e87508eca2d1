package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"mediagate/internal/media"
	"mediagate/internal/office/wire"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

func (e *enrolled) policyDelta(t *testing.T, o *office, after uint64, wait int) (int, []byte) {
	t.Helper()
	resp, err := e.client.Get(fmt.Sprintf("%s%s?after=%d&wait=%d&delta=1", o.url, wire.PathPolicy, after, wait))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestPolicyDeltas: a host that holds version v and asks for deltas gets, for every
// kind of change, a signed delta that its policy in force turns into exactly the
// bytes of the whole document of the new version; a change that moves the host's
// level gets the whole document.
func TestPolicyDeltas(t *testing.T) {
	o := startOffice(t)
	ctx := context.Background()
	var shared []media.Medium
	for i := range 20 {
		shared = append(shared, o.register(t, fmt.Sprintf("4C5300012311201%05d", i), media.Confidential))
	}
	for i := range 5 {
		o.register(t, fmt.Sprintf("4C5300012311202%05d", i), media.Secret, "HOST-07")
		o.register(t, fmt.Sprintf("4C5300012311203%05d", i), media.Secret, "HOST-08")
	}
	h := o.mustEnroll("HOST-07", media.Secret)
	status, env := h.policy(t, o, 0, 5)
	if status != http.StatusOK {
		t.Fatalf("first policy: %d %s", status, env)
	}
	cur, err := policydoc.Verify(env, h.pub, "HOST-07", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []media.Person{{Handle: "li", Name: "李四"}, {Handle: "wang", Name: "王五"}} {
		if _, err := o.local.AddPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		name   string
		change func()
		delta  bool // a delta is expected (else the whole document)
		check  func(d policydoc.Document) error
	}{
		{"medium lost", func() {
			if _, err := o.local.SetStatus(ctx, service.StatusRequest{Number: shared[3].Number, Change: service.ChangeLost, Note: "t"}); err != nil {
				t.Fatal(err)
			}
		}, true, func(d policydoc.Document) error {
			for _, m := range d.Media {
				if m.Number == shared[3].Number && m.Status == media.StatusLost {
					return nil
				}
			}
			return fmt.Errorf("%s not lost", shared[3].Number)
		}},
		{"registration for this host", func() { o.register(t, "4C530001231120400001", media.Secret, "HOST-07") }, true,
			func(d policydoc.Document) error { return hasMedia(d, 26) }},
		{"registration for another host, then a handover to a new person", func() {
			o.register(t, "4C530001231120400002", media.Secret, "HOST-08")
			if _, err := o.local.Handover(ctx, service.HandoverRequest{Number: shared[5].Number, To: "li", Witness: "wang"}); err != nil {
				t.Fatal(err)
			}
		}, true, func(d policydoc.Document) error {
			if len(d.People) != 2 {
				return fmt.Errorf("people %+v", d.People)
			}
			return hasMedia(d, 26)
		}},
		{"raised above the host: removed", func() {
			if _, err := o.local.Relevel(ctx, service.RelevelRequest{Number: shared[7].Number, Level: media.TopSecret, Note: "t"}); err != nil {
				t.Fatal(err)
			}
		}, true, func(d policydoc.Document) error { return hasMedia(d, 25) }},
		{"profile changed", func() {
			dept := "保密办"
			if _, err := o.local.UpdateOfficeHost(ctx, service.UpdateHostRequest{Number: "HOST-07", Department: &dept}); err != nil {
				t.Fatal(err)
			}
		}, true, func(d policydoc.Document) error {
			if d.Profile.Department != "保密办" {
				return fmt.Errorf("department %q", d.Profile.Department)
			}
			return nil
		}},
		{"host level raised: the whole document", func() {
			l := media.TopSecret
			if _, err := o.local.UpdateOfficeHost(ctx, service.UpdateHostRequest{Number: "HOST-07", Level: &l}); err != nil {
				t.Fatal(err)
			}
		}, false, func(d policydoc.Document) error { return hasMedia(d, 26) }},
	}
	for _, st := range steps {
		st.change()
		status, body := h.policyDelta(t, o, cur.Document.Version, 10)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, status, body)
		}
		var next *policydoc.Policy
		if policydoc.IsDelta(body) != st.delta {
			t.Fatalf("%s: delta %v, want %v (%d bytes)", st.name, policydoc.IsDelta(body), st.delta, len(body))
		}
		if st.delta {
			next, err = policydoc.ApplyDelta(body, h.pub, "HOST-07", cur)
		} else {
			next, err = policydoc.VerifyNext(body, h.pub, "HOST-07", cur)
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// The whole document of the same version has the same bytes.
		_, full := h.policy(t, o, cur.Document.Version, 0)
		whole := openEnvelope(t, full, h.pub)
		fp, err := policydoc.Verify(full, h.pub, "HOST-07", 0)
		if err != nil || whole.Version != next.Document.Version || !bytes.Equal(fp.Payload, next.Payload) {
			t.Fatalf("%s: the delta's result differs from the document of version %d (%v)", st.name, whole.Version, err)
		}
		if st.delta && len(body) >= len(full) {
			t.Errorf("%s: delta of %d bytes for a document of %d", st.name, len(body), len(full))
		}
		if err := st.check(next.Document); err != nil {
			t.Errorf("%s: %v", st.name, err)
		}
		cur = next
	}
	// A version the server does not know (the host claims one it never got) gets the
	// whole document.
	status, body := h.policyDelta(t, o, cur.Document.Version-1, 0)
	if status != http.StatusOK || policydoc.IsDelta(body) {
		t.Errorf("unknown base: %d, delta %v", status, policydoc.IsDelta(body))
	}
	if status, _ := func() (int, []byte) {
		resp, err := h.client.Get(fmt.Sprintf("%s%s?after=1&wait=0&delta=yes", o.url, wire.PathPolicy))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}(); status != http.StatusBadRequest {
		t.Errorf("delta=yes: %d", status)
	}
}

func hasMedia(d policydoc.Document, n int) error {
	if len(d.Media) != n {
		return fmt.Errorf("%d media, want %d", len(d.Media), n)
	}
	return nil
}
