package regindex

import (
	"context"
	"errors"
	"testing"

	"mediagate/internal/media"
)

// fakeSource counts loads and answers Changed from a flag.
type fakeSource struct {
	data    Data
	changed bool
	loadErr error
	chErr   error
	loads   int
}

func (f *fakeSource) Load(context.Context) (Data, error) {
	f.loads++
	if f.loadErr != nil {
		return Data{}, f.loadErr
	}
	f.changed = false
	return f.data, nil
}

func (f *fakeSource) Changed(context.Context) (bool, error) { return f.changed, f.chErr }

func sample() Data {
	return Data{
		Host:   &media.Host{Number: "H-01", Level: media.Secret},
		Media:  []media.Medium{{Number: "S-1", Identity: media.Identity{Key: "usb:46f4:0001:A"}, Custodian: "zhang"}, {Number: "S-0"}},
		People: []media.Person{{Handle: "zhang", Name: "张三"}},
	}
}

func TestIndexEmptyUntilLoadedFailsClosed(t *testing.T) {
	x := New(&fakeSource{data: sample()})
	if _, ok := x.Host(); ok {
		t.Error("an index never loaded has a host")
	}
	if _, ok := x.MediumByIdentity("usb:46f4:0001:A"); ok {
		t.Error("an index never loaded finds a medium")
	}
	if x.Err() == nil {
		t.Error("an index never loaded reports no error")
	}
}

func TestIndexLookups(t *testing.T) {
	src := &fakeSource{data: sample()}
	x := New(src)
	if err := x.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h, ok := x.Host(); !ok || h.Number != "H-01" {
		t.Errorf("host %+v %v", h, ok)
	}
	if m, ok := x.MediumByIdentity("usb:46f4:0001:A"); !ok || m.Number != "S-1" {
		t.Errorf("medium %+v %v", m, ok)
	}
	if _, ok := x.MediumByIdentity(""); ok {
		t.Error("a medium without identity key is found by the empty key")
	}
	if p, ok := x.Person("zhang"); !ok || p.Name != "张三" {
		t.Errorf("person %+v %v", p, ok)
	}
	if _, ok := x.Person("li"); ok {
		t.Error("unknown person found")
	}
	// A copy: changing what a lookup returned does not change the index.
	m, _ := x.MediumByIdentity("usb:46f4:0001:A")
	m.Status = media.StatusLost
	if again, _ := x.MediumByIdentity("usb:46f4:0001:A"); again.Status == media.StatusLost {
		t.Error("a lookup's result aliases the index")
	}
	if x.Len() != 1 {
		t.Errorf("Len %d, want 1", x.Len())
	}
}

func TestFreshReloadsOnlyOnChange(t *testing.T) {
	src := &fakeSource{data: sample()}
	x := New(src)
	ctx := context.Background()
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := x.Fresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if src.loads != 1 {
		t.Errorf("%d loads without a change, want 1", src.loads)
	}
	src.data.Media[0].Status = media.StatusLost
	src.data.Media = append([]media.Medium(nil), src.data.Media...)
	src.changed = true
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := x.MediumByIdentity("usb:46f4:0001:A"); m.Status != media.StatusLost || src.loads != 2 {
		t.Errorf("after a change: status %q, %d loads", m.Status, src.loads)
	}
	// A source that cannot tell whether it changed is read again.
	src.chErr = errors.New("database is locked")
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	if src.loads != 3 {
		t.Errorf("a failed change check did not reload (%d loads)", src.loads)
	}
}

func TestFailedLoadEmptiesTheIndex(t *testing.T) {
	src := &fakeSource{data: sample()}
	x := New(src)
	ctx := context.Background()
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	src.loadErr, src.changed = errors.New("disk I/O error"), true
	if err := x.Fresh(ctx); err == nil {
		t.Fatal("a failed load reports no error")
	}
	if _, ok := x.MediumByIdentity("usb:46f4:0001:A"); ok {
		t.Error("a medium is still found after a failed load")
	}
	if _, ok := x.Host(); ok {
		t.Error("the host is still there after a failed load")
	}
	// The next Fresh tries again even without a reported change.
	src.loadErr = nil
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.MediumByIdentity("usb:46f4:0001:A"); !ok {
		t.Error("not filled again after the source recovered")
	}
}

func TestFillFromAPushedPolicy(t *testing.T) {
	x := New(&fakeSource{})
	d := sample()
	d.Host = nil
	x.Fill(d)
	if _, ok := x.Host(); ok {
		t.Error("a policy without host profile gives a host")
	}
	if x.Err() != nil {
		t.Errorf("Err after Fill: %v", x.Err())
	}
	if _, ok := x.MediumByIdentity("usb:46f4:0001:A"); !ok {
		t.Error("filled medium not found")
	}
}
