package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// Sentinels of the office's register of hosts.
var (
	// ErrDuplicateHost: a host with that number is already in the office register.
	ErrDuplicateHost = errors.New("host number already registered")
	// ErrBadToken: the enrolment token is unknown, used, expired or for another host.
	ErrBadToken = errors.New("enrolment token refused")
	// ErrRequestDecided: the registration request was already approved or rejected.
	ErrRequestDecided = errors.New("registration request already decided")
)

// OfficeHost is a classified computer in the office's register. Host holds its
// profile as the host's daemon uses it (Number, Level, Mode, allow lists, Baseline …).
type OfficeHost struct {
	media.Host
	Location  string `json:"location,omitempty"`
	Custodian string `json:"custodian,omitempty"`
	// CertSerial is the serial (hex) of the host's current certificate; "" before
	// enrolment. A certificate with another serial is not this host's.
	CertSerial  string    `json:"cert_serial,omitempty"`
	Enrolled    time.Time `json:"enrolled,omitzero"`
	Revoked     time.Time `json:"revoked,omitzero"`
	LastContact time.Time `json:"last_contact,omitzero"`
	DaemonState string    `json:"daemon_state,omitempty"`
	// AppliedVersion is the policy version the host last reported as applied;
	// PolicyVersion the version of its current document, PolicyHash its digest.
	AppliedVersion uint64 `json:"applied_version"`
	PolicyVersion  uint64 `json:"policy_version"`
	PolicyHash     string `json:"-"`
	// PolicyIssued is the issued_at of the current document: with the version and
	// digest it lets a restarted server sign the very same bytes again.
	PolicyIssued time.Time `json:"policy_issued,omitzero"`
	// Log is the office's copy of the host's audit log: how far it is acknowledged,
	// whether its chain broke, whether the host is frozen.
	Log HostLog `json:"log"`
}

// HostLog is the state of a host's audit log at the office (office_chains).
type HostLog struct {
	Seq          int64     `json:"seq"` // the acknowledged head, 0 before the first row
	Acked        time.Time `json:"acked,omitzero"`
	BrokenSeq    int64     `json:"broken_seq,omitempty"` // the first bad row; 0 while intact
	BrokenReason string    `json:"broken_reason,omitempty"`
	BrokenAt     time.Time `json:"broken_at,omitzero"`
	Frozen       time.Time `json:"frozen,omitzero"` // when an officer froze the host
}

// Seen is where a medium was last seen on one host.
type Seen struct {
	Medium   string    `json:"medium"`
	Host     string    `json:"host"`
	Key      string    `json:"key,omitempty"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
}

// Request is a registration request from a host.
type Request struct {
	ID        string         `json:"id"`
	Host      string         `json:"host"`
	Identity  media.Identity `json:"identity"`
	Level     media.Level    `json:"level"`
	Purpose   string         `json:"purpose,omitempty"`
	Requester string         `json:"requester,omitempty"`
	Label     string         `json:"label,omitempty"`
	State     string         `json:"state"` // pending, approved, rejected
	Number    string         `json:"number,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Created   time.Time      `json:"created"`
	Decided   time.Time      `json:"decided,omitzero"`
}

// Request states.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestRejected = "rejected"
)

// Officer is an officer allowed to call the server.
type Officer struct {
	Handle     string    `json:"handle"`
	CertSerial string    `json:"cert_serial"`
	Revoked    time.Time `json:"revoked,omitzero"`
	Created    time.Time `json:"created"`
}

const officeHostCols = `id, number, level, department, location, custodian, mode, lower_media, allow_classes, allow_devices,
	device_pins, baseline, hostname, cert_serial, enrolled, revoked, last_contact, daemon_state, applied_version,
	policy_version, policy_hash, policy_issued, created, updated, vault_station,
	COALESCE(c.seq, 0), COALESCE(c.acked, ''), COALESCE(c.broken_seq, 0), COALESCE(c.broken_reason, ''), COALESCE(c.broken_at, ''),
	COALESCE(c.frozen, '')`

// officeHostFrom is the FROM clause of officeHostCols.
const officeHostFrom = ` FROM office_hosts LEFT JOIN office_chains c ON c.host = office_hosts.id`

func scanOfficeHost(row interface{ Scan(...any) error }) (OfficeHost, error) {
	var h OfficeHost
	var level int
	var mode, lower, classes, devices, pins, baseline, enrolled, revoked, contact, issued, created, updated string
	var acked, brokenAt, frozen string
	var applied, version int64
	var station int
	err := row.Scan(&h.ID, &h.Number, &level, &h.Department, &h.Location, &h.Custodian, &mode, &lower, &classes, &devices,
		&pins, &baseline, &h.Hostname, &h.CertSerial, &enrolled, &revoked, &contact, &h.DaemonState, &applied,
		&version, &h.PolicyHash, &issued, &created, &updated, &station,
		&h.Log.Seq, &acked, &h.Log.BrokenSeq, &h.Log.BrokenReason, &brokenAt, &frozen)
	if err != nil {
		return h, err
	}
	h.VaultStation = station == 1
	h.Log.Acked, h.Log.BrokenAt, h.Log.Frozen = parseStamp(acked), parseStamp(brokenAt), parseStamp(frozen)
	h.Level, h.Mode, h.LowerMedia = media.Level(level), media.Mode(mode), media.LowerMedia(lower)
	h.AllowClasses, h.AllowDevices, h.Baseline = parseList(classes), parseList(devices), parseList(baseline)
	if err := json.Unmarshal([]byte(pins), &h.DevicePins); err != nil {
		return h, fmt.Errorf("read host %s: device pins: %w", h.Number, err)
	}
	h.Enrolled, h.Revoked, h.LastContact = parseStamp(enrolled), parseStamp(revoked), parseStamp(contact)
	h.Created, h.Updated, h.PolicyIssued = parseStamp(created), parseStamp(updated), parseStamp(issued)
	h.AppliedVersion, h.PolicyVersion = uint64(applied), uint64(version)
	return h, nil
}

func officeHostDetails(h OfficeHost) event.OfficeHost {
	return event.OfficeHost{Custodian: h.Custodian, Department: h.Department, HostID: h.ID, Level: h.Level, Location: h.Location,
		LowerMedia: string(h.LowerMedia), Mode: h.Mode, Host: h.Number, VaultStation: h.VaultStation}
}

// cleanOfficeHost checks the fields of a host record.
func cleanOfficeHost(h *OfficeHost) error {
	var err error
	if h.Number, err = cleanText("number", h.Number, 64); err != nil {
		return err
	}
	if h.Number == "" {
		return errf(ErrInvalid, "invalid.required", Field("number"))
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"department", &h.Department}, {"location", &h.Location}, {"custodian", &h.Custodian}, {"hostname", &h.Hostname}} {
		if *f.v, err = cleanText(f.name, *f.v, 200); err != nil {
			return err
		}
	}
	if !h.Level.Valid() {
		return errf(ErrInvalid, "invalid.value", Field("level"), h.Level.String())
	}
	if h.Mode == "" {
		h.Mode = media.ModeEnforce
	}
	if _, err := media.ParseMode(string(h.Mode)); err != nil {
		return errf(ErrInvalid, "invalid.value", Field("mode"), string(h.Mode))
	}
	if h.LowerMedia == "" {
		h.LowerMedia = media.LowerReadOnly
	}
	if h.LowerMedia != media.LowerReadOnly && h.LowerMedia != media.LowerRefuse {
		return errf(ErrInvalid, "invalid.value", Field("lower_media"), string(h.LowerMedia))
	}
	return nil
}

// AddOfficeHost records a classified host in the office register with its first
// enrolment token (only tokenHash, the token's SHA-256, is kept), valid until expires.
func (s *Store) AddOfficeHost(ctx context.Context, h OfficeHost, tokenHash string, expires time.Time) (OfficeHost, error) {
	if err := cleanOfficeHost(&h); err != nil {
		return h, err
	}
	if tokenHash == "" {
		return h, errf(ErrInvalid, "invalid.required", Field("token"))
	}
	h.ID = NewID()
	now := s.stamp()
	h.Created, h.Updated = parseStamp(now), parseStamp(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if h.Custodian != "" {
			if _, err := activePersonTx(ctx, tx, h.Custodian); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO office_hosts (id, number, level, department, location, custodian, mode, lower_media,
			allow_classes, allow_devices, device_pins, baseline, hostname, created, updated, vault_station)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.Number, int(h.Level), h.Department, h.Location, h.Custodian, string(h.Mode), string(h.LowerMedia),
			jsonList(h.AllowClasses), jsonList(h.AllowDevices), jsonList(h.DevicePins), jsonList(h.Baseline), h.Hostname, now, now,
			boolInt(h.VaultStation))
		if isUnique(err, "number") {
			return errf(ErrDuplicateHost, "err.dup-host", h.Number)
		}
		if err != nil {
			return fmt.Errorf("add host %s: %w", h.Number, err)
		}
		if _, err := s.appendEvent(ctx, tx, event.KindOfficeHostAdd, "", officeHostDetails(h)); err != nil {
			return err
		}
		return s.addTokenTx(ctx, tx, h, tokenHash, expires)
	})
	return h, err
}

func (s *Store) addTokenTx(ctx context.Context, tx *sql.Tx, h OfficeHost, tokenHash string, expires time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO office_tokens (hash, host_id, expires, created) VALUES (?, ?, ?, ?)`,
		tokenHash, h.ID, expires.UTC().Format(timeLayout), s.stamp())
	if err != nil {
		return fmt.Errorf("add enrolment token for %s: %w", h.Number, err)
	}
	_, err = s.appendEvent(ctx, tx, event.KindOfficeHostToken, "", event.OfficeToken{Expires: expires.UTC().Format(timeLayout), Host: h.Number})
	return err
}

// AddEnrolToken gives a host a new one-time enrolment token (to enrol again, e.g.
// after a reinstall or a revocation). Earlier unused tokens of the host stop working.
func (s *Store) AddEnrolToken(ctx context.Context, number, tokenHash string, expires time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		h, err := officeHostTx(ctx, tx, number)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE office_tokens SET used = ? WHERE host_id = ? AND used = ''`, s.stamp(), h.ID); err != nil {
			return fmt.Errorf("retire tokens of %s: %w", number, err)
		}
		return s.addTokenTx(ctx, tx, h, tokenHash, expires)
	})
}

func officeHostTx(ctx context.Context, q querier, number string) (OfficeHost, error) {
	h, err := scanOfficeHost(q.QueryRowContext(ctx, `SELECT `+officeHostCols+officeHostFrom+` WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return h, errf(ErrNotFound, "err.no-office-host", number)
	}
	if err != nil {
		return h, fmt.Errorf("read host %s: %w", number, err)
	}
	return h, nil
}

// OfficeHost returns a host of the office register.
func (s *Store) OfficeHost(ctx context.Context, number string) (OfficeHost, error) {
	return officeHostTx(ctx, s.db, number)
}

// ListOfficeHosts lists the office's hosts by number.
func (s *Store) ListOfficeHosts(ctx context.Context) ([]OfficeHost, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+officeHostCols+officeHostFrom+` ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	var out []OfficeHost
	for rows.Next() {
		h, err := scanOfficeHost(rows)
		if err != nil {
			return nil, fmt.Errorf("list hosts: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// OfficeHostUpdate changes a host's record; nil fields stay.
type OfficeHostUpdate struct {
	Level                *media.Level
	Department, Location *string
	Custodian            *string
	Mode                 *media.Mode
	LowerMedia           *media.LowerMedia
	AllowClasses         *[]string
	AllowDevices         *[]string
	DevicePins           *[]media.DevicePin
	Baseline             *[]string
	Hostname             *string
	CertSerial           *string // set at enrolment
	Enrolled             *time.Time
	VaultStation         *bool
}

// UpdateOfficeHost changes a host's record with its audit row.
func (s *Store) UpdateOfficeHost(ctx context.Context, number string, u OfficeHostUpdate) (OfficeHost, error) {
	var h OfficeHost
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if h, err = officeHostTx(ctx, tx, number); err != nil {
			return err
		}
		applyHostUpdate(&h, u)
		if err := cleanOfficeHost(&h); err != nil {
			return err
		}
		if u.Custodian != nil && h.Custodian != "" {
			if _, err := activePersonTx(ctx, tx, h.Custodian); err != nil {
				return err
			}
		}
		if err := s.saveOfficeHostTx(ctx, tx, &h); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeHostUpdate, "", officeHostDetails(h))
		return err
	})
	return h, err
}

func applyHostUpdate(h *OfficeHost, u OfficeHostUpdate) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&h.Department, u.Department)
	set(&h.Location, u.Location)
	set(&h.Custodian, u.Custodian)
	set(&h.Hostname, u.Hostname)
	set(&h.CertSerial, u.CertSerial)
	if u.Level != nil {
		h.Level = *u.Level
	}
	if u.Mode != nil {
		h.Mode = *u.Mode
	}
	if u.LowerMedia != nil {
		h.LowerMedia = *u.LowerMedia
	}
	if u.AllowClasses != nil {
		h.AllowClasses = *u.AllowClasses
	}
	if u.AllowDevices != nil {
		h.AllowDevices = *u.AllowDevices
	}
	if u.DevicePins != nil {
		h.DevicePins = *u.DevicePins
	}
	if u.Baseline != nil {
		h.Baseline = *u.Baseline
	}
	if u.Enrolled != nil {
		h.Enrolled = *u.Enrolled
	}
	if u.VaultStation != nil {
		h.VaultStation = *u.VaultStation
	}
}

func (s *Store) saveOfficeHostTx(ctx context.Context, tx *sql.Tx, h *OfficeHost) error {
	h.Updated = parseStamp(s.stamp())
	_, err := tx.ExecContext(ctx, `UPDATE office_hosts SET level = ?, department = ?, location = ?, custodian = ?, mode = ?,
		lower_media = ?, allow_classes = ?, allow_devices = ?, device_pins = ?, baseline = ?, hostname = ?, cert_serial = ?,
		enrolled = ?, revoked = ?, updated = ?, vault_station = ? WHERE id = ?`,
		int(h.Level), h.Department, h.Location, h.Custodian, string(h.Mode), string(h.LowerMedia), jsonList(h.AllowClasses),
		jsonList(h.AllowDevices), jsonList(h.DevicePins), jsonList(h.Baseline), h.Hostname, h.CertSerial,
		stampOrEmpty(h.Enrolled), stampOrEmpty(h.Revoked), h.Updated.Format(timeLayout), boolInt(h.VaultStation), h.ID)
	if err != nil {
		return fmt.Errorf("save host %s: %w", h.Number, err)
	}
	return nil
}

func stampOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// Enrol spends a host's one-time token: the token (by its hash) must exist, be unused,
// unexpired and issued for host. In the same transaction the host gets certSerial as
// its certificate, baseline as its internal disks (when given), and the token is
// used up; the audit row is office.enroll. A refused token changes nothing and
// returns an ErrBadToken error whose code says why.
func (s *Store) Enrol(ctx context.Context, host, tokenHash, certSerial string, baseline []string, remote string) (OfficeHost, error) {
	var h OfficeHost
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var hostID, expires, used string
		err := tx.QueryRowContext(ctx, `SELECT host_id, expires, used FROM office_tokens WHERE hash = ?`, tokenHash).Scan(&hostID, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return errf(ErrBadToken, "err.token-unknown")
		}
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		if h, err = officeHostTx(ctx, tx, host); err != nil {
			if errors.Is(err, ErrNotFound) {
				return errf(ErrBadToken, "err.token-other-host", host)
			}
			return err
		}
		switch {
		case h.ID != hostID:
			return errf(ErrBadToken, "err.token-other-host", host)
		case used != "":
			return errf(ErrBadToken, "err.token-used", host)
		case !s.now().Before(parseStamp(expires)):
			return errf(ErrBadToken, "err.token-expired", host)
		}
		now := s.stamp()
		if _, err := tx.ExecContext(ctx, `UPDATE office_tokens SET used = ? WHERE hash = ? AND used = ''`, now, tokenHash); err != nil {
			return fmt.Errorf("use token: %w", err)
		}
		h.CertSerial, h.Enrolled, h.Revoked = certSerial, parseStamp(now), time.Time{}
		if baseline != nil {
			h.Baseline = baseline
		}
		if err := s.saveOfficeHostTx(ctx, tx, &h); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeEnroll, "", event.OfficeEnroll{Baseline: baseline, CertSerial: certSerial, Host: h.Number, Remote: remote})
		return err
	})
	return h, err
}

// RevokeOfficeHost stops accepting the host's certificate (and its unused tokens).
func (s *Store) RevokeOfficeHost(ctx context.Context, number, reason string) (OfficeHost, error) {
	var h OfficeHost
	reason, err := cleanText("reason", reason, 500)
	if err != nil {
		return h, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if h, err = officeHostTx(ctx, tx, number); err != nil {
			return err
		}
		serial := h.CertSerial
		h.Revoked = parseStamp(s.stamp())
		if err := s.saveOfficeHostTx(ctx, tx, &h); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE office_tokens SET used = ? WHERE host_id = ? AND used = ''`, s.stamp(), h.ID); err != nil {
			return fmt.Errorf("retire tokens of %s: %w", number, err)
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeHostRevoke, "", event.OfficeRevoke{CertSerial: serial, Host: h.Number, Reason: reason})
		return err
	})
	return h, err
}

// HostContact records a host's report: last contact, daemon state, the policy version
// it applied, and where media were seen (a later sighting replaces an earlier one of
// the same medium on the same host). Reports are routine and write no audit row.
func (s *Store) HostContact(ctx context.Context, number, daemonState string, applied uint64, seen []Seen) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE office_hosts SET last_contact = ?, daemon_state = ?, applied_version = ? WHERE number = ?`,
			s.stamp(), daemonState, int64(applied), number)
		if err != nil {
			return fmt.Errorf("record contact of %s: %w", number, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errf(ErrNotFound, "err.no-office-host", number)
		}
		for _, v := range seen {
			_, err := tx.ExecContext(ctx, `INSERT INTO office_seen (medium, host, key, decision, reason, time) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (medium, host) DO UPDATE SET key = excluded.key, decision = excluded.decision, reason = excluded.reason,
				time = excluded.time WHERE excluded.time >= office_seen.time`,
				v.Medium, number, v.Key, v.Decision, v.Reason, v.Time.UTC().Format(timeLayout))
			if err != nil {
				return fmt.Errorf("record media seen on %s: %w", number, err)
			}
		}
		return nil
	})
}

// SeenOn lists the media last seen on a host, newest first; SeenWhere lists the
// hosts where a medium was seen, newest first.
func (s *Store) SeenOn(ctx context.Context, host string) ([]Seen, error) {
	return s.seen(ctx, `host = ?`, host)
}

// SeenWhere: see SeenOn.
func (s *Store) SeenWhere(ctx context.Context, medium string) ([]Seen, error) {
	return s.seen(ctx, `medium = ?`, medium)
}

func (s *Store) seen(ctx context.Context, where, arg string) ([]Seen, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT medium, host, key, decision, reason, time FROM office_seen WHERE `+where+
		` ORDER BY time DESC, medium, host`, arg)
	if err != nil {
		return nil, fmt.Errorf("read media seen: %w", err)
	}
	defer rows.Close()
	var out []Seen
	for rows.Next() {
		var v Seen
		var t string
		if err := rows.Scan(&v.Medium, &v.Host, &v.Key, &v.Decision, &v.Reason, &t); err != nil {
			return nil, fmt.Errorf("read media seen: %w", err)
		}
		v.Time = parseStamp(t)
		out = append(out, v)
	}
	return out, rows.Err()
}

// PolicyVersion is a host's new policy version, its document's digest and issue time.
type PolicyVersion struct {
	Host    string
	Version uint64
	Hash    string
	Issued  time.Time
}

// SetPolicyVersions records new policy versions in one transaction. It refuses to go
// backwards or stay: a version only grows; then nothing is written.
func (s *Store) SetPolicyVersions(ctx context.Context, vs []PolicyVersion) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, v := range vs {
			res, err := tx.ExecContext(ctx, `UPDATE office_hosts SET policy_version = ?, policy_hash = ?, policy_issued = ? WHERE number = ? AND policy_version < ?`,
				int64(v.Version), v.Hash, v.Issued.UTC().Format(timeLayout), v.Host, int64(v.Version))
			if err != nil {
				return fmt.Errorf("record policy version of %s: %w", v.Host, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("record policy version %d of %s: %w", v.Version, v.Host, ErrInvalid)
			}
		}
		return nil
	})
}

// MediaChangedSince lists the media registered or changed at or after since, by
// number: the office server's incremental view of the register.
func (s *Store) MediaChangedSince(ctx context.Context, since time.Time) ([]media.Medium, error) {
	// No ORDER BY: with it SQLite walks the whole number index instead of the index on
	// updated (every medium read to find the few changed); sorted below instead.
	rows, err := s.db.QueryContext(ctx, mediaChangedSinceQuery, since.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("list changed media: %w", err)
	}
	defer rows.Close()
	out := []media.Medium{}
	for rows.Next() {
		m, err := scanMedium(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b media.Medium) int { return strings.Compare(a.Number, b.Number) })
	return out, nil
}

const mediaChangedSinceQuery = `SELECT ` + mediumCols + mediumFrom + ` WHERE m.updated >= ?`

// AddRequest records a registration request from a host.
func (s *Store) AddRequest(ctx context.Context, r Request) (Request, error) {
	var err error
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"purpose", &r.Purpose, 500}, {"requester", &r.Requester, 64}, {"label", &r.Label, 200}, {"host", &r.Host, 64}} {
		if *f.v, err = cleanText(f.name, *f.v, f.max); err != nil {
			return r, err
		}
	}
	if !r.Level.Valid() {
		return r, errf(ErrInvalid, "invalid.value", Field("level"), r.Level.String())
	}
	if r.Identity.Key == "" || len(r.Identity.Key) > 512 {
		return r, errf(ErrInvalid, "invalid.required", Field("identity"))
	}
	id, err := json.Marshal(r.Identity)
	if err != nil {
		return r, err
	}
	r.ID, r.State, r.Created = NewID(), RequestPending, parseStamp(s.stamp())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO office_requests (id, host, identity, identity_key, level, purpose, requester, label, state, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Host, string(id), r.Identity.Key, int(r.Level), r.Purpose, r.Requester,
			r.Label, r.State, r.Created.Format(timeLayout))
		if err != nil {
			return fmt.Errorf("add request: %w", err)
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeRequest, "", event.OfficeRequest{Host: r.Host, ID: r.ID, IdentityKey: r.Identity.Key,
			Label: r.Label, Level: r.Level, Purpose: r.Purpose, Requester: r.Requester})
		return err
	})
	return r, err
}

const requestCols = `id, host, identity, level, purpose, requester, label, state, number, reason, created, decided`

func scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var id, created, decided string
	var level int
	if err := row.Scan(&r.ID, &r.Host, &id, &level, &r.Purpose, &r.Requester, &r.Label, &r.State, &r.Number, &r.Reason,
		&created, &decided); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(id), &r.Identity); err != nil {
		return r, fmt.Errorf("request %s: identity: %w", r.ID, err)
	}
	r.Level, r.Created, r.Decided = media.Level(level), parseStamp(created), parseStamp(decided)
	return r, nil
}

// Request returns one registration request.
func (s *Store) Request(ctx context.Context, id string) (Request, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestCols+` FROM office_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errf(ErrNotFound, "err.no-request", id)
	}
	return r, err
}

// ListRequests lists registration requests, oldest first; state "" lists all.
func (s *Store) ListRequests(ctx context.Context, state string) ([]Request, error) {
	q := `SELECT ` + requestCols + ` FROM office_requests`
	var args []any
	if state != "" {
		q += ` WHERE state = ?`
		args = append(args, state)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecideRequest closes a pending request: approved with the registered medium's
// number and custodian, or rejected with a reason.
func (s *Store) DecideRequest(ctx context.Context, id string, approve bool, number, custodian, reason string) (Request, error) {
	var r Request
	reason, err := cleanText("reason", reason, 500)
	if err != nil {
		return r, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestCols+` FROM office_requests WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errf(ErrNotFound, "err.no-request", id)
		}
		if err != nil {
			return err
		}
		if r.State != RequestPending {
			return errf(ErrRequestDecided, "err.request-decided", id, r.State)
		}
		r.State, r.Number, r.Reason, r.Decided = RequestRejected, number, reason, parseStamp(s.stamp())
		kind := event.KindOfficeRequestReject
		if approve {
			r.State, kind = RequestApproved, event.KindOfficeRequestApprove
		}
		res, err := tx.ExecContext(ctx, `UPDATE office_requests SET state = ?, number = ?, reason = ?, decided = ? WHERE id = ? AND state = ?`,
			r.State, r.Number, r.Reason, r.Decided.Format(timeLayout), id, RequestPending)
		if err != nil {
			return fmt.Errorf("decide request %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errf(ErrRequestDecided, "err.request-decided", id, r.State)
		}
		_, err = s.appendEvent(ctx, tx, kind, number, event.OfficeDecision{Custodian: custodian, Host: r.Host, ID: r.ID,
			IdentityKey: r.Identity.Key, Number: number, Reason: reason})
		return err
	})
	return r, err
}

// ApproveRequest approves a pending request in one transaction: the medium is
// registered with the request's identity (reg's other fields), the request is
// closed as approved with its number, and both audit rows are written — or, on any
// failure, none of it. The request's identity replaces reg's.
func (s *Store) ApproveRequest(ctx context.Context, id string, reg Registration) (Request, media.Medium, error) {
	var r Request
	var m media.Medium
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestCols+` FROM office_requests WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errf(ErrNotFound, "err.no-request", id)
		}
		if err != nil {
			return err
		}
		if r.State != RequestPending {
			return errf(ErrRequestDecided, "err.request-decided", id, r.State)
		}
		reg.Identity = r.Identity
		if m, err = s.registerTx(ctx, tx, reg); err != nil {
			return err
		}
		if s.midApprove != nil {
			if err := s.midApprove(); err != nil {
				return err
			}
		}
		r.State, r.Number, r.Decided = RequestApproved, m.Number, parseStamp(s.stamp())
		res, err := tx.ExecContext(ctx, `UPDATE office_requests SET state = ?, number = ?, reason = ?, decided = ? WHERE id = ? AND state = ?`,
			r.State, r.Number, "", r.Decided.Format(timeLayout), id, RequestPending)
		if err != nil {
			return fmt.Errorf("approve request %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errf(ErrRequestDecided, "err.request-decided", id, RequestApproved)
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeRequestApprove, m.Number, event.OfficeDecision{Custodian: reg.Custodian, Host: r.Host,
			ID: r.ID, IdentityKey: r.Identity.Key, Number: m.Number})
		return err
	})
	if err != nil {
		return Request{}, media.Medium{}, err
	}
	return r, m, nil
}

// StationCheckInOutcome returns what became of a check-in a vault station reported
// with id, and whether it was recorded at all.
func (s *Store) StationCheckInOutcome(ctx context.Context, id string) (string, bool, error) {
	var outcome string
	err := s.db.QueryRowContext(ctx, `SELECT outcome FROM office_station_checkins WHERE id = ?`, id).Scan(&outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("station check-in %s: %w", id, err)
	}
	return outcome, true, nil
}

// RecordStationCheckIn records that the check-in a vault station reported with id was
// dealt with; a second record of the same id keeps the first.
func (s *Store) RecordStationCheckIn(ctx context.Context, id, host, outcome string) error {
	if id == "" || len(id) > 64 || len(host) > 64 {
		return errf(ErrInvalid, "invalid.value", Field("id"), clipText(id))
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO office_station_checkins (id, host, outcome, received) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, host, outcome, s.stamp())
	if err != nil {
		return fmt.Errorf("record station check-in %s: %w", id, err)
	}
	return nil
}

func clipText(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// AddOfficer records an officer's client certificate; a later one replaces it.
func (s *Store) AddOfficer(ctx context.Context, handle, certSerial string) (Officer, error) {
	o := Officer{Handle: handle, CertSerial: certSerial, Created: parseStamp(s.stamp())}
	if !ValidHandle(handle) {
		return o, errf(ErrInvalid, "invalid.handle", handle)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO office_officers (handle, cert_serial, created) VALUES (?, ?, ?)
			ON CONFLICT (handle) DO UPDATE SET cert_serial = excluded.cert_serial, revoked = '', created = excluded.created`,
			handle, certSerial, o.Created.Format(timeLayout))
		if err != nil {
			return fmt.Errorf("add officer %s: %w", handle, err)
		}
		_, err = s.appendEvent(ctx, tx, event.KindOfficeOfficerAdd, "", event.OfficeOfficer{CertSerial: certSerial, Handle: handle})
		return err
	})
	return o, err
}

// Officer returns an officer.
func (s *Store) Officer(ctx context.Context, handle string) (Officer, error) {
	var o Officer
	var revoked, created string
	err := s.db.QueryRowContext(ctx, `SELECT handle, cert_serial, revoked, created FROM office_officers WHERE handle = ?`, handle).
		Scan(&o.Handle, &o.CertSerial, &revoked, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errf(ErrNotFound, "err.no-officer", handle)
	}
	if err != nil {
		return o, fmt.Errorf("read officer %s: %w", handle, err)
	}
	o.Revoked, o.Created = parseStamp(revoked), parseStamp(created)
	return o, nil
}
