package hostclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/policydoc"
)

// TestImportPolicyFloor: a policy carried in must be above the cache and above the
// highest version the log records as once in force; every outcome is an audit row,
// and a refusal leaves the cache as it was.
func TestImportPolicyFloor(t *testing.T) {
	o := newFakeOffice(t)
	o.publish("HOST-07", 3, o.sign(o.doc("HOST-07", 3, "A1")))
	dir := filepath.Join(t.TempDir(), "office")
	if _, err := Enroll(t.Context(), enrollOpts(o, dir)); err != nil {
		t.Fatal(err)
	}
	st, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []any
	record := func(_ context.Context, _ event.Kind, d any) error { rows = append(rows, d); return nil }
	cache := func() []byte { b, _ := os.ReadFile(filepath.Join(dir, FilePolicy)); return b }
	before := cache()

	tests := []struct {
		name      string
		env       []byte
		highWater uint64
		want      error
	}{
		{"the version cached", o.sign(o.doc("HOST-07", 3, "A1")), 0, policydoc.ErrOldVersion},
		{"older than the cache", o.sign(o.doc("HOST-07", 2, "A1")), 0, policydoc.ErrOldVersion},
		{"above the cache, below a version once in force", o.sign(o.doc("HOST-07", 5, "A1")), 6, policydoc.ErrOldVersion},
		{"another host's", o.sign(o.doc("HOST-08", 9, "A1")), 0, policydoc.ErrOtherHost},
		{"truncated", o.sign(o.doc("HOST-07", 9, "A1"))[:100], 0, policydoc.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows = nil
			p, _, err := ImportPolicy(t.Context(), st, tt.env, tt.highWater, record)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("ImportPolicy = %v, want %v", err, tt.want)
			}
			if !bytes.Equal(cache(), before) {
				t.Error("a refused policy changed the cache")
			}
			if len(rows) != 1 {
				t.Fatalf("%d audit rows", len(rows))
			}
			if r, ok := rows[0].(event.PolicyRefused); !ok || r.Source != event.PolicyFromImport || r.Reason == "" {
				t.Errorf("audit row %+v", rows[0])
			}
		})
	}
	rows = nil
	p, prev, err := ImportPolicy(t.Context(), st, o.sign(o.doc("HOST-07", 7, "A1", "B2")), 6, record)
	if err != nil || p.Document.Version != 7 || prev != 3 {
		t.Fatalf("ImportPolicy of version 7 = %v, previous %d", err, prev)
	}
	if c, _, err := st.CachedPolicy(); err != nil || c.Document.Version != 7 {
		t.Errorf("cache after the import: %v", err)
	}
	if r, ok := rows[0].(event.PolicyApplied); !ok || r.Version != 7 || r.Previous != 3 || r.Source != event.PolicyFromImport {
		t.Errorf("audit row %+v", rows[0])
	}
}

// TestRequestFileKeepsThePendingKeyPrivate: the request's key stays on the host (0600
// in the 0700 directory) and only its latest request can be answered.
func TestRequestFileKeepsThePendingKeyPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "office")
	if _, err := RequestFile(RequestFileOptions{Dir: dir, Host: "HOST 9"}); err == nil {
		t.Error("a host number with a space was accepted")
	}
	req, err := RequestFile(RequestFileOptions{Dir: dir, Host: "HOST-09", Token: "t0k"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(req, []byte("PRIVATE KEY")) {
		t.Fatal("the request carries the private key")
	}
	fi, err := os.Stat(filepath.Join(dir, FilePending))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pending key: %v %v", fi, err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", di.Mode())
	}
	if _, err := EnrollFromFile(ResponseFileOptions{Dir: t.TempDir(), Response: req, Fingerprint: string(bytes.Repeat([]byte("a"), 64))}); !errors.Is(err, ErrNoPending) {
		t.Errorf("answer without a request: %v", err)
	}
	if _, err := EnrollFromFile(ResponseFileOptions{Dir: dir, Response: req, Fingerprint: "nope"}); err == nil {
		t.Error("a bad fingerprint was accepted")
	}
}

// FuzzEnrollFromFile: whatever answer file comes in, the host refuses it without a
// panic and stays unenrolled (no answer can be forged without the CA's key).
func FuzzEnrollFromFile(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "office")
	req, err := RequestFile(RequestFileOptions{Dir: dir, Host: "HOST-09"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req)
	f.Add([]byte(`{"format":"mediagate-carry/1","kind":"enroll-response","payload":"e30=","signature":"","key_id":""}`))
	f.Add([]byte(`{"format":"mediagate-carry/1","kind":"enroll-response","payload":"eyJob3N0IjoiSE9TVC0wOSIsImNhIjoiLS0tLS1CRUdJTiJ9","signature":"AAAA","key_id":"x"}`))
	fp := string(bytes.Repeat([]byte("ab"), 32))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := EnrollFromFile(ResponseFileOptions{Dir: dir, Response: data, Fingerprint: fp}); err == nil {
			t.Fatal("an answer not signed by the pinned CA enrolled the host")
		}
		if Enrolled(dir) {
			t.Fatal("enrolled")
		}
	})
}
