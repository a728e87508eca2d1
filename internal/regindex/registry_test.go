package regindex

import (
	"context"
	"path/filepath"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// The index over the real registry: the audit log is its change feed.
func TestRegistrySourceFollowsTheRegister(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, filepath.Join(t.TempDir(), "reg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &Registry{Store: s}
	x := New(src)
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.Host(); ok {
		t.Fatal("host before host init")
	}
	if _, err := s.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "zhang", Name: "张三"}); err != nil {
		t.Fatal(err)
	}
	id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:46f4:0001:S1", Serial: "S1", VendorID: "46f4", ProductID: "0001"}
	m, err := s.Register(ctx, registry.Registration{Identity: id, Level: media.Secret, Custodian: "zhang"})
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := src.Changed(ctx); !changed {
		t.Fatal("host init, a person and a registration are not a change")
	}
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := x.MediumByIdentity(id.Key)
	if !ok || got.Number != m.Number || got.Custodian != "zhang" {
		t.Fatalf("medium after Fresh: %+v %v", got, ok)
	}
	if h, ok := x.Host(); !ok || h.Number != "H-01" {
		t.Fatalf("host after Fresh: %+v %v", h, ok)
	}

	// The daemon's own rows are no change.
	if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, m.Number, event.DeviceDecision{Stage: "usb-device"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, event.KindDaemonStart, "", event.DaemonStart{Mode: media.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Changed(ctx); changed || err != nil {
		t.Errorf("decision rows counted as a change (%v, %v)", changed, err)
	}

	// A status change made by another process (the CLI) is.
	if _, err := s.SetStatus(ctx, m.Number, media.StatusLost, event.KindMediumLost, event.MediumStatus{}); err != nil {
		t.Fatal(err)
	}
	if err := x.Fresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.MediumByIdentity(id.Key); got.Status != media.StatusLost {
		t.Errorf("status %q after the medium was reported lost", got.Status)
	}
	if changed, _ := src.Changed(ctx); changed {
		t.Error("still changed after the reload")
	}
}

// countingStore is the register without its prepared check, counting the queries.
type countingStore struct {
	s       *registry.Store
	queries int
}

func (c *countingStore) DecisionData(ctx context.Context) (registry.DecisionData, error) {
	return c.s.DecisionData(ctx)
}

func (c *countingStore) ChangedSince(ctx context.Context, mark int64) (bool, int64, error) {
	c.queries++
	return c.s.ChangedSince(ctx, mark)
}

func (c *countingStore) LogState() (registry.LogState, bool)    { return c.s.LogState() }
func (c *countingStore) LastAppend() (registry.OwnAppend, bool) { return c.s.LastAppend() }

// While the register's commit state is as it was at the last check that found
// nothing, Changed answers without a query; so it does after the daemon's own batch of
// rows outside the register when that was the only commit since. Any other commit —
// another process's register change, a row written another way, a batch with a row of
// the register — makes it ask again.
func TestRegistrySkipsTheQueryWhileTheLogIsUntouched(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reg.db")
	s, err := registry.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.InitHost(ctx, media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	c := &countingStore{s: s}
	src := &Registry{Store: c}
	if _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(what string, wantChanged bool, wantQueries int) {
		t.Helper()
		changed, err := src.Changed(ctx)
		if err != nil || changed != wantChanged || c.queries != wantQueries {
			t.Fatalf("%s: changed %v (%v), %d queries; want %v, %d", what, changed, err, c.queries, wantChanged, wantQueries)
		}
	}
	check("first check", false, 1)
	check("nothing written since", false, 1)
	check("still nothing", false, 1)

	// The daemon's own row: the log changed, so it asks; the row changes nothing.
	if _, err := s.RecordEvent(ctx, event.KindDeviceDecision, "", event.DeviceDecision{Stage: "usb-device"}); err != nil {
		t.Fatal(err)
	}
	check("after a decision row", false, 2)
	check("quiet again", false, 2)

	// The daemon's batches of its own rows (RecordEvents): the only commits since the
	// last check, nothing to ask, whether told of each (as the daemon does) or not.
	decision := registry.EventRow{Kind: event.KindDeviceDecision, Details: event.DeviceDecision{Stage: "usb-device"}}
	for range 3 {
		if err := s.RecordEvents(ctx, []registry.EventRow{decision, decision}); err != nil {
			t.Fatal(err)
		}
		check("after the daemon's batch", false, 2)
	}
	for range 3 {
		if err := s.RecordEvents(ctx, []registry.EventRow{decision}); err != nil {
			t.Fatal(err)
		}
		src.OwnAppended()
	}
	check("after batches, each told", false, 2)
	check("quiet after the batches", false, 2)

	// Two batches, the first not told of: the last one is two commits past the last
	// check, so it asks.
	for range 2 {
		if err := s.RecordEvents(ctx, []registry.EventRow{decision}); err != nil {
			t.Fatal(err)
		}
	}
	check("after two batches", false, 3)

	// Another process registers a person: asked, and changed.
	other, err := registry.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.AddPerson(ctx, media.Person{Handle: "li", Name: "李四"}); err != nil {
		t.Fatal(err)
	}
	check("after another process's change", true, 4)
	if _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the reload", false, 5)

	// Another process's change, then the daemon's batch: the state before the batch
	// is not the last check's.
	if _, err := other.AddPerson(ctx, media.Person{Handle: "wang", Name: "王五"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvents(ctx, []registry.EventRow{decision}); err != nil {
		t.Fatal(err)
	}
	check("after a change and a batch", true, 6)
	if _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the second reload", false, 7)

	// A batch with a row of the register's own kinds is asked about.
	registered := registry.EventRow{Kind: event.KindMediumLost, Medium: "S-1", Details: event.MediumStatus{}}
	if err := s.RecordEvents(ctx, []registry.EventRow{decision, registered}); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Changed(ctx); err != nil || c.queries != 8 {
		t.Fatalf("after a batch with a register row: changed %v (%v), %d queries; want a query", changed, err, c.queries)
	}
}
