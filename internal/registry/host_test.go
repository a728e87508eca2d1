package registry

import (
	"context"
	"errors"
	"testing"

	"mediagate/internal/media"
)

func TestHostLowerMedia(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		h, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret})
		if err != nil || h.LowerMedia != media.LowerReadOnly {
			t.Fatalf("InitHost = %+v, %v; want lower media read-only by default", h, err)
		}
		if _, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, LowerMedia: media.LowerRefuse}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Host(ctx)
		if err != nil || got.LowerMedia != media.LowerRefuse {
			t.Errorf("Host = %+v, %v; want lower media refuse", got, err)
		}
		if _, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, LowerMedia: "sometimes"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown lower media = %v; want ErrInvalid", err)
		}
	})
}

// TestHostProfileOfSchema2 opens a register written before the lower-media setting
// existed: its host profile keeps working and is read-only for lower media.
func TestHostProfileOfSchema2(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		path := eng.dsn(t)
		db := eng.rawDB(t, path)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`)
		for v, f := range []string{"0001_init.sql", "0002_checkin.sql"} {
			body, err := migrations.ReadFile("migrations/" + string(eng.engine) + "/" + f)
			if err != nil {
				t.Fatal(err)
			}
			exec(string(body))
			exec(`INSERT INTO schema_migrations (version, applied) VALUES (?, '2026-01-01T00:00:00.000Z')`, v+1)
		}
		exec(`INSERT INTO host (singleton, id, number, level, mode, allow_devices, baseline, created, updated)
			VALUES (1, 'h-old', 'OLD-01', 2, 'enforce', '["046d:c52b"]', '["devpath:/devices/pci0000:00/virtio1/block/vda"]',
			'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`)
		db.Close()

		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open a schema-2 register: %v", err)
		}
		defer s.Close()
		h, err := s.Host(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if h.Number != "OLD-01" || h.Level != media.Secret || h.LowerMedia != media.LowerReadOnly ||
			len(h.AllowDevices) != 1 || len(h.Baseline) != 1 || len(h.DevicePins) != 0 {
			t.Errorf("old profile read as %+v", h)
		}
	})
}

func TestHostDevicePins(t *testing.T) {
	forEngines(t, func(t *testing.T, eng testEngine) {
		s, _ := eng.open(t)
		ctx := context.Background()
		pins := []media.DevicePin{{Device: "046d:c52b", Interfaces: []string{"03/00/00", "03/01/01"}, Hash: "ab12"}}
		if _, err := s.InitHost(ctx, media.Host{Number: "HOST-01", Level: media.Secret, AllowDevices: []string{"046d:c52b"}, DevicePins: pins}); err != nil {
			t.Fatal(err)
		}
		h, err := s.Host(ctx)
		if err != nil || len(h.DevicePins) != 1 || h.DevicePins[0].Hash != "ab12" || len(h.DevicePins[0].Interfaces) != 2 {
			t.Errorf("Host = %+v, %v", h, err)
		}
	})
}
