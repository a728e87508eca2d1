package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mediagate/internal/audit"
	"mediagate/internal/event"
)

// EventQuery adds to EventFilter the filters of `mediagate log` that look into a row's
// details: custodian, person and host. Zero fields match everything.
type EventQuery struct {
	EventFilter
	// Custodian matches rows whose details name this custodian handle (the fields of
	// role custodian in package event: custodian, from_custodian, to_custodian):
	// decisions and mount rows of the person's media, registrations and handovers.
	Custodian string
	// Person matches rows where this person acted or is named: the actor (or the
	// login behind it), or a field of role custodian or person (the mounting user,
	// the holder of a lent medium, a witness, the person of a person.* row).
	Person string
	// Host matches the recording host's number or id, or a field of role host (the
	// host number of a decision or mount row, the system host name of a mount row).
	Host string
	// AllHosts searches the rows the office collected from its hosts as well as its
	// own (office_host_events); NoOwn searches only those. Neither applies with
	// AfterSeq, whose sequence numbers are the office's own.
	AllHosts, NoOwn bool
}

// The details fields the searches look into, from the roles in package event's
// struct tags.
var (
	custodianPaths = event.Paths(event.RoleCustodian)
	personPaths    = append(event.Paths(event.RoleCustodian), event.Paths(event.RolePerson)...)
	hostPaths      = event.Paths(event.RoleHost)
)

// anyPathIs is a condition that one of paths in the details equals the next
// argument, with the arguments it takes.
func (s *Store) anyPathIs(paths []string, v string) (string, []any) {
	var ors []string
	var args []any
	for _, p := range paths {
		expr, arg := s.d.detailsText(p)
		ors, args = append(ors, expr+" = ?"), append(args, arg, v)
	}
	return strings.Join(ors, " OR "), args
}

// SearchEvents returns the audit rows q selects, in sequence order (the newest q.Limit
// when limited). With q.AllHosts the rows the office collected from its hosts are
// searched too (q.NoOwn: only those), with the same filters; the rows are then in
// time order, each collected row with its host's number in Origin.
func (s *Store) SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error) {
	own := !q.NoOwn
	hosts := (q.AllHosts || q.NoOwn) && q.AfterSeq == 0
	var parts []string
	var args []any
	if own {
		where, a := s.eventWhere(q, false)
		parts, args = append(parts, `SELECT '' AS origin, `+eventCols+` FROM events`+where), append(args, a...)
	}
	if hosts {
		where, a := s.eventWhere(q, true)
		parts = append(parts, `SELECT origin, `+eventCols+` FROM (SELECT COALESCE(h.number, e.host) AS origin, e.host AS office_host, e.`+
			strings.ReplaceAll(eventCols, ", ", ", e.")+` FROM office_host_events e LEFT JOIN office_hosts h ON h.id = e.host) x`+where)
		args = append(args, a...)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	query := strings.Join(parts, " UNION ALL ")
	if hosts {
		query += " ORDER BY time DESC, origin DESC, seq DESC"
	} else {
		query += " ORDER BY seq DESC"
	}
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		var origin string
		e, err := scanEvent(prefixed{rows, &origin})
		if err != nil {
			return nil, err
		}
		e.Origin = origin
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// prefixed scans one leading column into first, the rest as the row.
type prefixed struct {
	row   interface{ Scan(...any) error }
	first *string
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append([]any{p.first}, dest...)...) }

// eventWhere is the WHERE clause of q over the office's own rows (events), or over
// its copies of the hosts' rows (collected, with the columns origin and office_host).
func (s *Store) eventWhere(q EventQuery, collected bool) (string, []any) {
	var where []string
	var args []any
	f := q.EventFilter
	if f.Medium != "" {
		// Every number the medium had: its rows under a former number are its history
		// too, whichever of its numbers is given.
		where = append(where, `(medium = ? OR medium IN (SELECT a.number FROM media_aliases a WHERE a.medium_id =
			COALESCE((SELECT id FROM media WHERE number = ?), (SELECT medium_id FROM media_aliases WHERE number = ?)))
			OR medium IN (SELECT m.number FROM media m WHERE m.id = (SELECT medium_id FROM media_aliases WHERE number = ?)))`)
		args = append(args, f.Medium, f.Medium, f.Medium, f.Medium)
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
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
		cond, a := s.anyPathIs(custodianPaths, q.Custodian)
		where, args = append(where, "("+cond+")"), append(args, a...)
	}
	if q.Person != "" {
		cond, a := s.anyPathIs(personPaths, q.Person)
		where, args = append(where, "(actor_user = ? OR actor_sudo = ? OR "+cond+")"), append(append(args, q.Person, q.Person), a...)
	}
	if q.Host != "" {
		cond, a := s.anyPathIs(hostPaths, q.Host)
		if collected {
			// A collected row is the host's by the office's record of it (its number
			// or office id), or by its own register's host id.
			where = append(where, `(origin = ? OR office_host = ? OR host_id = ? OR `+cond+`)`)
			args = append(append(args, q.Host, q.Host, q.Host), a...)
		} else {
			where = append(where, `(host_id = ? OR host_id IN (SELECT id FROM host WHERE number = ?) OR `+cond+`)`)
			args = append(append(args, q.Host, q.Host), a...)
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// OpenMount is a mount the log last saw mounted: an attach or seen-at-start row with
// no detach after it for the same device and mount point.
type OpenMount struct {
	Seq        int64  `json:"seq"`
	Medium     string `json:"medium"`
	Source     string `json:"source"`
	MountPoint string `json:"mount_point"`
}

// Where a mount row names its mount (package event's Mount).
var (
	mountSourcePath = event.Path[event.Mount]("Device", "Source")
	mountPointPath  = event.Path[event.Mount]("MountPoint")
)

// OpenMounts lists the mounts the log last saw mounted, oldest first. The daemon
// compares them with the mount table at start: what is still mounted is not logged
// again, what is gone was unmounted while the daemon was down.
func (s *Store) OpenMounts(ctx context.Context) ([]OpenMount, error) {
	srcExpr, srcArg := s.d.detailsText(mountSourcePath)
	pointExpr, pointArg := s.d.detailsText(mountPointPath)
	args := []any{srcArg, pointArg}
	var marks []string
	for _, k := range event.Kinds() {
		if event.OpensMount(k) || event.ClosesMount(k) {
			marks, args = append(marks, "?"), append(args, string(k))
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, medium,
		COALESCE(`+srcExpr+`, ''),
		COALESCE(`+pointExpr+`, '')
		FROM events WHERE kind IN (`+strings.Join(marks, ", ")+`) ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("read mount rows: %w", err)
	}
	defer rows.Close()
	open := map[[2]string]OpenMount{}
	for rows.Next() {
		var m OpenMount
		var kind event.Kind
		if err := rows.Scan(&m.Seq, &kind, &m.Medium, &m.Source, &m.MountPoint); err != nil {
			return nil, err
		}
		key := [2]string{m.Source, m.MountPoint}
		if event.OpensMount(kind) {
			open[key] = m
		} else { // a detach, or a violation (unmounted at once)
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
