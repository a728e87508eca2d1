package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// The contract of Store, the daemon's view of the registry: one suite run against
// the real registry and against the in-memory fake the daemon's tests use, so that
// the fake cannot drift from what the daemon meets in production.

// storeFixture is what a store holds when a contract test starts.
type storeFixture struct {
	host   *media.Host // nil: not initialised
	people []media.Person
	media  []registry.Registration // with their numbers set
}

// openStore returns a new store holding f.
type openStore func(t *testing.T, f storeFixture) Store

func TestStoreContractRegistry(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testStoreContract(t, registryStore(func(t *testing.T) string { return filepath.Join(t.TempDir(), "contract.db") }))
	})
	// The registry on PostgreSQL when MEDIAGATE_PG_DSN names a server (scripts/test.sh
	// starts one): each test on a database of its own.
	t.Run("postgres", func(t *testing.T) {
		server := os.Getenv("MEDIAGATE_PG_DSN")
		if server == "" {
			t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set (scripts/test.sh starts a server and sets it)")
		}
		testStoreContract(t, registryStore(func(t *testing.T) string {
			name, dsn, err := registry.CreateDatabase(context.Background(), server, "mg_daemon")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := registry.DropDatabase(context.Background(), server, name); err != nil {
					t.Errorf("drop test database: %v", err)
				}
			})
			return dsn
		}))
	})
}

// registryStore opens the real registry in a new database from newDB.
func registryStore(newDB func(t *testing.T) string) openStore {
	return func(t *testing.T, f storeFixture) Store {
		ctx := context.Background()
		s, err := registry.Open(ctx, newDB(t),
			registry.WithClock(func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if f.host != nil {
			if _, err := s.InitHost(ctx, *f.host); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range f.people {
			if _, err := s.AddPerson(ctx, media.Person{Handle: p.Handle, Name: p.Name, Department: p.Department}); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range f.media {
			if _, err := s.Register(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range f.people {
			if !p.Active {
				if err := s.DeactivatePerson(ctx, p.Handle); err != nil {
					t.Fatal(err)
				}
			}
		}
		return s
	}
}

func TestStoreContractFake(t *testing.T) {
	testStoreContract(t, func(t *testing.T, f storeFixture) Store {
		s := newMemStore(f.host)
		s.people = map[string]media.Person{}
		for _, p := range f.people {
			s.people[p.Handle] = p
		}
		for _, r := range f.media {
			access := r.Access
			if access == "" {
				access = media.AccessReadWrite
			}
			s.media[r.Identity.Key] = media.Medium{Number: r.Number, Kind: r.Identity.Kind, Identity: r.Identity, Level: r.Level,
				Custodian: r.Custodian, Access: access, Status: media.StatusActive, AllowedHosts: r.AllowedHosts}
		}
		return s
	})
}

func testStoreContract(t *testing.T, open openStore) {
	ctx := context.Background()
	host := &media.Host{Number: "H-01", Level: media.Secret, Mode: media.ModeAudit, Department: "办公室",
		AllowDevices: []string{"05e3:0751"}, AllowClasses: []string{"audio"}, Baseline: []string{"wwn:0x5000c500a1b2c3d4"}}
	key := identity.USBKey("0781", "5567", "4C530001")
	fixture := storeFixture{
		host: host,
		people: []media.Person{
			{Handle: "zhang", Name: "张三", Department: "办公室", Active: true},
			{Handle: "li", Name: "Li Si", Department: "保密办", Active: false},
		},
		media: []registry.Registration{
			{Number: "S-2026-0001", Level: media.Secret, Custodian: "zhang", Access: media.AccessReadOnly, AllowedHosts: []string{"H-01"},
				Identity: media.Identity{Kind: media.KindUSBDisk, Key: key, Serial: "4C530001", VendorID: "0781", ProductID: "5567", Capacity: 16 << 30}},
		},
	}

	t.Run("host", func(t *testing.T) {
		if _, err := open(t, storeFixture{}).Host(ctx); !errors.Is(err, registry.ErrNoHost) {
			t.Errorf("Host of an uninitialised store: %v; want ErrNoHost", err)
		}
		h, err := open(t, fixture).Host(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Number != host.Number || h.Level != host.Level || h.Mode != host.Mode ||
			!slices.Equal(h.AllowDevices, host.AllowDevices) || !slices.Equal(h.AllowClasses, host.AllowClasses) || !slices.Equal(h.Baseline, host.Baseline) {
			t.Errorf("Host = %+v; want %+v", h, *host)
		}
	})

	t.Run("medium by identity", func(t *testing.T) {
		s := open(t, fixture)
		m, err := s.MediumByIdentity(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		want := fixture.media[0]
		if m.Number != want.Number || m.Kind != media.KindUSBDisk || m.Level != want.Level || m.Custodian != want.Custodian ||
			m.Status != media.StatusActive || m.Access != media.AccessReadOnly || !slices.Equal(m.AllowedHosts, want.AllowedHosts) ||
			m.Identity.Key != key || m.Identity.Serial != "4C530001" || m.Identity.Capacity != 16<<30 || m.Holder != "" {
			t.Errorf("MediumByIdentity = %+v", m)
		}
		for _, k := range []string{"", identity.USBKey("0781", "5567", "OTHER"), key + "x"} {
			if _, err := s.MediumByIdentity(ctx, k); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("MediumByIdentity(%q): %v; want ErrNotFound", k, err)
			}
		}
	})

	t.Run("upgrade identity key", func(t *testing.T) {
		other := identity.USBKey("0781", "5567", "4C530002")
		f := fixture
		f.media = append(slices.Clone(fixture.media), registry.Registration{Number: "S-2026-0002", Level: media.Secret, Custodian: "zhang",
			Identity: media.Identity{Kind: media.KindUSBDisk, Key: other, Serial: "4C530002", VendorID: "0781", ProductID: "5567", Capacity: 8 << 30}})
		s := open(t, f)
		// Refused: an unknown old key, a new key already registered, an empty or
		// unchanged one; the registration stays where it was.
		for _, c := range []struct {
			old, new string
			want     error
		}{
			{identity.USBKey("0781", "5567", "NOBODY"), key + "-v2", registry.ErrNotFound},
			{key, other, registry.ErrDuplicateIdentity},
			{key, "", registry.ErrInvalid},
			{key, key, registry.ErrInvalid},
		} {
			if _, err := s.UpgradeIdentityKey(ctx, c.old, c.new); !errors.Is(err, c.want) {
				t.Errorf("UpgradeIdentityKey(%q, %q): %v; want %v", c.old, c.new, err, c.want)
			}
		}
		if m, err := s.MediumByIdentity(ctx, key); err != nil || m.Number != "S-2026-0001" {
			t.Fatalf("after refused upgrades MediumByIdentity(old) = %+v, %v", m, err)
		}
		m, err := s.UpgradeIdentityKey(ctx, key, key+"-v2")
		if err != nil || m.Number != "S-2026-0001" || m.Identity.Key != key+"-v2" || m.Level != media.Secret || m.Custodian != "zhang" {
			t.Fatalf("UpgradeIdentityKey = %+v, %v", m, err)
		}
		if got, err := s.MediumByIdentity(ctx, key+"-v2"); err != nil || got.Number != "S-2026-0001" || got.Access != media.AccessReadOnly {
			t.Errorf("MediumByIdentity(new) = %+v, %v", got, err)
		}
		if _, err := s.MediumByIdentity(ctx, key); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("MediumByIdentity(old) after the upgrade: %v; want ErrNotFound", err)
		}
	})

	t.Run("person", func(t *testing.T) {
		s := open(t, fixture)
		p, err := s.Person(ctx, "zhang")
		if err != nil || p.Handle != "zhang" || p.Name != "张三" || !p.Active {
			t.Errorf("Person(zhang) = %+v, %v", p, err)
		}
		p, err = s.Person(ctx, "li")
		if err != nil || p.Handle != "li" || p.Active {
			t.Errorf("Person(li), deactivated = %+v, %v", p, err)
		}
		if _, err := s.Person(ctx, "nobody"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("Person(nobody): %v; want ErrNotFound", err)
		}
	})

	t.Run("record event", func(t *testing.T) {
		s := open(t, fixture)
		var last int64 = -1
		for _, r := range []struct {
			kind    event.Kind
			details any
		}{
			{event.KindDeviceDecision, event.DeviceDecision{Reason: "allowed"}},
			{event.KindDaemonControl, event.DaemonControl{Op: "status"}},
			{event.KindDeviceDecision, event.DeviceDecision{Reason: "allowed"}},
		} {
			kind := r.kind
			e, err := s.RecordEvent(ctx, kind, "S-2026-0001", r.details)
			if err != nil {
				t.Fatal(err)
			}
			if e == nil || e.Kind != kind || e.Medium != "S-2026-0001" || e.Seq <= last {
				t.Fatalf("RecordEvent(%s) = %+v after seq %d", kind, e, last)
			}
			last = e.Seq
		}
		// Details that are not the kind's type in package event are refused.
		for _, bad := range []struct {
			kind    event.Kind
			details any
		}{
			{event.KindDeviceDecision, map[string]any{"reason": "allowed"}},
			{event.KindDeviceDecision, event.DaemonControl{}},
			{"device.unheard-of", event.DeviceDecision{}},
		} {
			if e, err := s.RecordEvent(ctx, bad.kind, "", bad.details); err == nil {
				t.Errorf("RecordEvent(%s, %T) wrote row %d", bad.kind, bad.details, e.Seq)
			}
		}
	})

	t.Run("open mounts", func(t *testing.T) {
		s := open(t, fixture)
		if open, err := s.OpenMounts(ctx); err != nil || len(open) != 0 {
			t.Fatalf("OpenMounts of a store without mount rows = %+v, %v", open, err)
		}
		row := func(kind event.Kind, medium, src, mp string) int64 {
			t.Helper()
			var d any = event.Mount{Event: string(kind), Device: event.MountDevice{Name: filepath.Base(src), Source: src}, MountPoint: mp, Medium: medium}
			if kind.Area() != "mount" {
				d = event.DeviceDecision{Device: event.DecisionDevice{Name: filepath.Base(src)}}
			}
			e, err := s.RecordEvent(ctx, kind, medium, d)
			if err != nil {
				t.Fatal(err)
			}
			return e.Seq
		}
		row(KindMountAttach, "S-2026-0001", "/dev/sda1", "/mnt/a")
		start := row(KindMountSeenAtStart, "", "/dev/sdb1", "/mnt/b")
		row(KindMountAttach, "", "/dev/sdc1", "/mnt/c")
		row(KindMountDetach, "S-2026-0001", "/dev/sda1", "/mnt/a")
		row(KindMountViolation, "", "/dev/sdc1", "/mnt/c")
		row(event.KindDeviceDecision, "S-2026-0001", "/dev/sda1", "/mnt/a") // not a mount row
		again := row(KindMountAttach, "S-2026-0001", "/dev/sda1", "/mnt/a")
		row(KindMountRemount, "S-2026-0001", "/dev/sda1", "/mnt/a") // a remount leaves it open
		row(KindMountAttach, "", "/dev/sdb1", "/mnt/elsewhere")
		got, err := s.OpenMounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []registry.OpenMount{
			{Seq: start, Source: "/dev/sdb1", MountPoint: "/mnt/b"},
			{Seq: again, Medium: "S-2026-0001", Source: "/dev/sda1", MountPoint: "/mnt/a"},
			{Seq: again + 2, Source: "/dev/sdb1", MountPoint: "/mnt/elsewhere"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("OpenMounts = %+v\nwant          %+v", got, want)
		}
	})
}
