package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// InitHost records this host's profile, or updates it when it exists. The host id is
// the registry's own id and never changes.
func (s *Store) InitHost(ctx context.Context, h media.Host) (media.Host, error) {
	var err error
	if h.Number, err = cleanText("number", h.Number, 64); err != nil {
		return h, err
	}
	if h.Number == "" {
		return h, errf(ErrInvalid, "invalid.required", Field("number"))
	}
	if h.Department, err = cleanText("department", h.Department, 200); err != nil {
		return h, err
	}
	if !h.Level.Valid() {
		return h, errf(ErrInvalid, "invalid.value", Field("level"), h.Level.String())
	}
	if h.Mode == "" {
		h.Mode = media.ModeEnforce
	}
	if _, err := media.ParseMode(string(h.Mode)); err != nil {
		return h, errf(ErrInvalid, "invalid.value", Field("mode"), string(h.Mode))
	}
	if h.LowerMedia == "" {
		h.LowerMedia = media.LowerReadOnly
	}
	if _, err := media.ParseLowerMedia(string(h.LowerMedia)); err != nil || (h.LowerMedia != media.LowerReadOnly && h.LowerMedia != media.LowerRefuse) {
		return h, errf(ErrInvalid, "invalid.value", Field("lower_media"), string(h.LowerMedia))
	}
	h.ID = s.hostID
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := hostTx(ctx, tx)
		kind := event.KindHostUpdate
		switch {
		case errors.Is(err, ErrNoHost):
			kind = event.KindHostInit
			h.Created = parseStamp(s.stamp())
		case err != nil:
			return err
		default:
			if sameHost(old, h) {
				h = old // nothing changes: no write, no audit row
				return nil
			}
			h.Created = old.Created
		}
		h.Updated = parseStamp(s.stamp())
		_, err = tx.ExecContext(ctx, `INSERT INTO host (singleton, id, number, level, department, mode, hostname, vault_station,
			allow_classes, allow_devices, baseline, lower_media, device_pins, created, updated) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (singleton) DO UPDATE SET number = excluded.number, level = excluded.level, department = excluded.department,
			mode = excluded.mode, hostname = excluded.hostname, vault_station = excluded.vault_station,
			allow_classes = excluded.allow_classes, allow_devices = excluded.allow_devices, baseline = excluded.baseline,
			lower_media = excluded.lower_media, device_pins = excluded.device_pins, updated = excluded.updated`,
			h.ID, h.Number, int(h.Level), h.Department, string(h.Mode), h.Hostname, h.VaultStation,
			jsonList(h.AllowClasses), jsonList(h.AllowDevices), jsonList(h.Baseline), string(h.LowerMedia),
			jsonList(h.DevicePins), h.Created.Format(timeLayout), h.Updated.Format(timeLayout))
		if err != nil {
			return fmt.Errorf("save host profile: %w", err)
		}
		_, err = s.appendEvent(ctx, tx, kind, "", event.HostOf(h))
		return err
	})
	return h, err
}

// sameHost reports whether a new profile records exactly what the old one does.
func sameHost(old, h media.Host) bool {
	return old.Number == h.Number && old.Level == h.Level && old.Department == h.Department && old.Mode == h.Mode &&
		old.Hostname == h.Hostname && old.VaultStation == h.VaultStation && old.LowerMedia == h.LowerMedia &&
		jsonList(old.AllowClasses) == jsonList(h.AllowClasses) && jsonList(old.AllowDevices) == jsonList(h.AllowDevices) &&
		jsonList(old.Baseline) == jsonList(h.Baseline) && jsonList(old.DevicePins) == jsonList(h.DevicePins)
}

// Host returns this host's profile, or ErrNoHost before `host init`.
func (s *Store) Host(ctx context.Context) (media.Host, error) { return hostTx(ctx, s.db) }

func hostTx(ctx context.Context, q querier) (media.Host, error) {
	var h media.Host
	var level int
	var mode, classes, devices, baseline, lower, pins, created, updated string
	err := q.QueryRowContext(ctx, `SELECT id, number, level, department, mode, hostname, vault_station, allow_classes,
		allow_devices, baseline, lower_media, device_pins, created, updated FROM host WHERE singleton = 1`).Scan(
		&h.ID, &h.Number, &level, &h.Department, &mode, &h.Hostname, &h.VaultStation, &classes, &devices, &baseline, &lower, &pins,
		&created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return h, errf(ErrNoHost, "no-host")
	}
	if err != nil {
		return h, fmt.Errorf("read host profile: %w", err)
	}
	h.Level, h.Mode, h.LowerMedia = media.Level(level), media.Mode(mode), media.LowerMedia(lower)
	h.AllowClasses, h.AllowDevices, h.Baseline = parseList(classes), parseList(devices), parseList(baseline)
	if err := json.Unmarshal([]byte(pins), &h.DevicePins); err != nil {
		return h, fmt.Errorf("read host profile: device pins: %w", err)
	}
	h.Created, h.Updated = parseStamp(created), parseStamp(updated)
	return h, nil
}

func jsonList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseList(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	return v
}
