package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/enforce"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/regindex"
	"mediagate/internal/registry"
	"mediagate/internal/udev"
)

// countingSource counts the loads of a registry source.
type countingSource struct {
	*regindex.Registry
	loads int
}

func (c *countingSource) Load(ctx context.Context) (regindex.Data, error) {
	c.loads++
	return c.Registry.Load(ctx)
}

// queryCounter is the register, counting the queries for changes (without the
// prepared feed, which would bypass the count).
type queryCounter struct {
	*registry.Store
	queries int
}

func (q *queryCounter) ChangedSince(ctx context.Context, mark int64) (bool, int64, error) {
	q.queries++
	return q.Store.ChangedSince(ctx, mark)
}

func (q *queryCounter) ChangeFeed(context.Context) (*registry.ChangeFeed, error) {
	return nil, errors.New("no feed: counted queries")
}

// With Config.Index, decisions read the register from memory; a change another
// process commits (the CLI reporting a medium lost, without nudging the daemon) is
// seen at the next plug through the audit log, and the daemon's own rows neither
// reload the index nor cost a query for changes.
func TestIndexedRegisterFollowsChanges(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, filepath.Join(t.TempDir(), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.InitHost(ctx, *secretHost()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
		t.Fatal(err)
	}
	u, _ := stick("S1", 64<<20)
	m, err := s.Register(ctx, registry.Registration{Identity: u.Identity, Level: media.Secret, Custodian: "zhang"})
	if err != nil {
		t.Fatal(err)
	}
	qc := &queryCounter{Store: s}
	src := &countingSource{Registry: &regindex.Registry{Store: qc}}
	rec, devs := enforce.NewRecorder(), &devices{}
	d := New(Config{Store: s, Enforcer: rec, Read: devs.read, Sys: t.TempDir(), Index: regindex.New(src),
		Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, rec: rec, devs: devs, d: d, ctx: ctx}
	plug := func() policy.Reason {
		t.Helper()
		b.ev("remove", stickP, "usb", "usb_device")
		devs.set(u)
		b.ev("add", stickP, "usb", "usb_device")
		r := d.standing(stickP)
		if r == nil {
			t.Fatal("no decision")
		}
		return r.Decision.Reason
	}
	if r := plug(); r != policy.ReasonAllowed {
		t.Fatalf("registered stick: %s", r)
	}
	if on, _ := rec.USBAuthorized(stickP); !on {
		t.Error("registered stick not authorized")
	}
	loads, queries := src.loads, qc.queries
	for range 3 {
		if r := plug(); r != policy.ReasonAllowed {
			t.Fatalf("registered stick again: %s", r)
		}
	}
	if src.loads != loads {
		t.Errorf("the daemon's own rows reloaded the index %d times", src.loads-loads)
	}
	if qc.queries != queries {
		t.Errorf("the daemon's own rows cost %d queries for changes", qc.queries-queries)
	}
	// Another process's change, the CLI's, with its own connection.
	other, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.SetStatus(ctx, m.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{}); err != nil {
		t.Fatal(err)
	}
	if r := plug(); r != policy.ReasonStatusLost {
		t.Errorf("stick reported lost: %s", r)
	}
	if on, _ := rec.USBAuthorized(stickP); on {
		t.Error("a lost stick is authorized")
	}
	// The decision rows are in the store, after the authorized write.
	evs, err := s.Events(ctx, registry.EventFilter{Kind: string(event.KindDeviceDecision)})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Errorf("%d decision rows, want 5", len(evs))
	}
}

// An index that cannot be loaded blocks every device.
func TestIndexedRegisterUnreadableBlocks(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, filepath.Join(t.TempDir(), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InitHost(ctx, *secretHost()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
		t.Fatal(err)
	}
	u, _ := stick("S1", 64<<20)
	if _, err := s.Register(ctx, registry.Registration{Identity: u.Identity, Level: media.Secret, Custodian: "zhang"}); err != nil {
		t.Fatal(err)
	}
	mem := newMemStore(secretHost())
	rec, devs := enforce.NewRecorder(), &devices{}
	d := New(Config{Store: mem, Enforcer: rec, Read: devs.read, Sys: t.TempDir(), Index: regindex.New(&regindex.Registry{Store: s})})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close() // the register is gone from under the daemon
	devs.set(u)
	d.Handle(ctx, udev.Event{Action: "add", DevPath: stickP, Subsystem: "usb", DevType: "usb_device"})
	if on, _ := rec.USBAuthorized(stickP); on {
		t.Error("a stick was authorized while the register could not be read")
	}
	if !hasProblem(d, "register") {
		t.Errorf("no problem reported: %q", d.Status().Problems)
	}
}
