package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mediagate/internal/audit"
)

// EventQuery adds to EventFilter the filters of `mediagate log` that look into a row's
// details: custodian, person and host. Zero fields match everything.
type EventQuery struct {
	EventFilter
	// Custodian matches rows whose details name this custodian handle (custodian,
	// from_custodian, to_custodian): decisions and mount rows of the person's media,
	// registrations and handovers.
	Custodian string
	// Person matches rows where this person acted or is named: the actor (or the sudo
	// user behind it), the mounting user (user, login_user), the custodian, the
	// holder of a lent medium, or the person of a person.* row.
	Person string
	// Host matches the recording host's number or id, or the system host name a mount
	// row carries.
	Host string
}

// personPaths are the details fields that name a person by handle or user name.
var personPaths = []string{"$.custodian", "$.from_custodian", "$.to_custodian", "$.holder", "$.user", "$.login_user", "$.handle", "$.witness"}

// detailsJSON is the details column as JSON: rows without details have ”.
const detailsJSON = `(CASE WHEN json_valid(details) THEN details ELSE '{}' END)`

// SearchEvents returns the audit rows q selects, in sequence order (the newest q.Limit
// when limited).
func (s *Store) SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error) {
	var where []string
	var args []any
	f := q.EventFilter
	if f.Medium != "" {
		where, args = append(where, "medium = ?"), append(args, f.Medium)
	}
	if f.Kind != "" {
		if strings.HasSuffix(f.Kind, ".") {
			where, args = append(where, "substr(kind, 1, ?) = ?"), append(args, len(f.Kind), f.Kind)
		} else {
			where, args = append(where, "kind = ?"), append(args, f.Kind)
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, f.Since.UTC().Format(timeLayout))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, f.Until.UTC().Format(timeLayout))
	}
	if q.Custodian != "" {
		var ors []string
		for _, p := range []string{"$.custodian", "$.from_custodian", "$.to_custodian"} {
			ors, args = append(ors, "json_extract("+detailsJSON+", '"+p+"') = ?"), append(args, q.Custodian)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Person != "" {
		ors := []string{"actor_user = ?", "actor_sudo = ?"}
		args = append(args, q.Person, q.Person)
		for _, p := range personPaths {
			ors, args = append(ors, "json_extract("+detailsJSON+", '"+p+"') = ?"), append(args, q.Person)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Host != "" {
		where = append(where, `(host_id = ? OR host_id IN (SELECT id FROM host WHERE number = ?)
			OR json_extract(`+detailsJSON+`, '$.host') = ? OR json_extract(`+detailsJSON+`, '$.hostname') = ?)`)
		args = append(args, q.Host, q.Host, q.Host, q.Host)
	}
	query := `SELECT ` + eventCols + ` FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// OpenMount is a mount the log last saw mounted: an attach or seen-at-start row with
// no detach after it for the same device and mount point.
type OpenMount struct {
	Seq        int64  `json:"seq"`
	Medium     string `json:"medium"`
	Source     string `json:"source"`
	MountPoint string `json:"mount_point"`
}

// OpenMounts lists the mounts the log last saw mounted, oldest first. The daemon
// compares them with the mount table at start: what is still mounted is not logged
// again, what is gone was unmounted while the daemon was down.
func (s *Store) OpenMounts(ctx context.Context) ([]OpenMount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, medium,
		COALESCE(json_extract(`+detailsJSON+`, '$.device.source'), ''),
		COALESCE(json_extract(`+detailsJSON+`, '$.mount_point'), '')
		FROM events WHERE kind IN ('mount.attach', 'mount.seen-at-start', 'mount.detach', 'mount.violation') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read mount rows: %w", err)
	}
	defer rows.Close()
	open := map[[2]string]OpenMount{}
	for rows.Next() {
		var m OpenMount
		var kind string
		if err := rows.Scan(&m.Seq, &kind, &m.Medium, &m.Source, &m.MountPoint); err != nil {
			return nil, err
		}
		key := [2]string{m.Source, m.MountPoint}
		switch kind {
		case "mount.attach", "mount.seen-at-start":
			open[key] = m
		default: // a detach, or a violation (unmounted at once)
			delete(open, key)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]OpenMount, 0, len(open))
	for _, m := range open {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b OpenMount) int { return int(a.Seq - b.Seq) })
	return out, nil
}
