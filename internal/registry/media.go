package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// Registration is what `media register` records.
type Registration struct {
	Number       string // optional; generated from the numbering pattern when empty
	Identity     media.Identity
	Level        media.Level
	Custodian    string // person handle
	Department   string // set for the medium; empty: the medium follows its custodian's
	Access       media.Access
	Note         string
	AllowedHosts []string
	// The fields of the paper register (see media.Medium).
	Model, CapacityText, Purpose, InService string
	// Pending registers the medium with its identity pending: Identity.Key must be
	// empty (the store gives it a placeholder no device has); Serial and Capacity may
	// hold what the register states.
	Pending bool
	// Import is the SHA-256 of the file an import registers the medium from.
	Import string
	// Status is the status it is registered in (default active): an imported register
	// also holds media in the vault, in repair, lost, destroyed or retired. Never lent
	// (a loan needs its borrower and due date: record it with Lend).
	Status media.Status
}

// PendingKeyPrefix starts the placeholder identity key of a medium whose identity is
// pending: no device has such a key, so the medium works nowhere.
const PendingKeyPrefix = "pending:"

// Register adds a medium and returns it with its number.
func (s *Store) Register(ctx context.Context, r Registration) (media.Medium, error) {
	var m media.Medium
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = s.registerTx(ctx, tx, r)
		return err
	})
	if err != nil {
		return media.Medium{}, err
	}
	return m, nil
}

// checkRegistration checks and cleans a registration outside any transaction.
func checkRegistration(r *Registration) error {
	id := &r.Identity
	if !id.Kind.Valid() {
		return errf(ErrInvalid, "invalid.value", Field("kind"), string(id.Kind))
	}
	if r.Pending {
		if id.Key != "" {
			return errf(ErrInvalid, "invalid.pending-key")
		}
	} else if id.Key == "" || len(id.Key) > 512 || strings.HasPrefix(id.Key, PendingKeyPrefix) {
		return errf(ErrInvalid, "invalid.identity-key")
	}
	if !r.Level.Valid() {
		return errf(ErrInvalid, "invalid.value", Field("level"), r.Level.String())
	}
	if id.Capacity < 0 {
		return errf(ErrInvalid, "invalid.negative", Field("capacity"))
	}
	for field, v := range map[string]string{"serial": id.Serial, "identity": id.Key} {
		if err := checkRunes(field, v); err != nil {
			return err
		}
	}
	if len(id.Serial) > 256 {
		return errf(ErrInvalid, "invalid.too-long", Field("serial"), 256)
	}
	if r.Access == "" {
		r.Access = media.AccessReadWrite
	}
	if id.Kind == media.KindOpticalDisc {
		r.Access = media.AccessReadOnly // a registered disc is only ever read
	}
	if r.Status == "" {
		r.Status = media.StatusActive
	}
	if !r.Status.Valid() || r.Status == media.StatusLent {
		return errf(ErrInvalid, "invalid.value", Field("status"), string(r.Status))
	}
	var err error
	if r.Number, err = cleanText("number", r.Number, 64); err != nil {
		return err
	}
	if strings.ContainsAny(r.Number, " \t/\\{}") {
		return errf(ErrInvalid, "invalid.number-chars")
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"note", &r.Note, 2000}, {"department", &r.Department, 200}, {"model", &r.Model, 200}, {"capacity", &r.CapacityText, 64},
		{"purpose", &r.Purpose, 500}} {
		if *f.v, err = cleanText(f.name, *f.v, f.max); err != nil {
			return err
		}
	}
	if r.InService, err = cleanText("in-service", r.InService, 10); err != nil {
		return err
	}
	if r.InService != "" {
		if _, err := time.Parse("2006-01-02", r.InService); err != nil {
			return errf(ErrInvalid, "invalid.value", Field("in-service"), r.InService)
		}
	}
	return nil
}

// registerTx adds a medium inside tx, with its audit row.
func (s *Store) registerTx(ctx context.Context, tx *sql.Tx, r Registration) (media.Medium, error) {
	var m media.Medium
	if err := checkRegistration(&r); err != nil {
		return m, err
	}
	id := r.Identity
	cust, err := activePersonTx(ctx, tx, r.Custodian)
	if err != nil {
		return m, err
	}
	mediumID := NewID()
	if r.Pending {
		id.Key = PendingKeyPrefix + mediumID
	}
	var other string
	err = tx.QueryRowContext(ctx, `SELECT number FROM media WHERE identity_key = ?`, id.Key).Scan(&other)
	if err == nil {
		return m, errf(ErrDuplicateIdentity, "dup-identity.as", id.Key, other)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return m, err
	}
	numbered := event.MediumRegister{Numbered: event.NumberedGiven}
	if r.Number == "" {
		numbered.Numbered = event.NumberedPattern
		if r.Number, numbered.NumberYear, numbered.NumberSeq, err = s.nextNumber(ctx, tx, r.Level); err != nil {
			return m, err
		}
	} else {
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM numbers_used WHERE number = ?`, r.Number).Scan(&used); err != nil {
			return m, err
		}
		if used > 0 {
			return m, errf(ErrDuplicateNumber, "dup-number.reuse", r.Number)
		}
		if numbered.NumberYear, numbered.NumberSeq, err = s.reserveSeqTx(ctx, tx, r.Number, r.Level); err != nil {
			return m, err
		}
	}
	deptSet := r.Department != "" && r.Department != cust.Department
	dept := r.Department
	if dept == "" {
		dept = cust.Department
	}
	now := s.stamp()
	m = media.Medium{ID: mediumID, Number: r.Number, Kind: id.Kind, Identity: id, Level: r.Level, Custodian: cust.Handle,
		CustodianName: cust.Name, Department: dept, DepartmentSet: deptSet, Model: r.Model, CapacityText: r.CapacityText,
		Purpose: r.Purpose, InService: r.InService, IdentityPending: r.Pending,
		Status: r.Status, Access: r.Access, Note: r.Note, AllowedHosts: r.AllowedHosts,
		Created: parseStamp(now), Updated: parseStamp(now)}
	_, err = tx.ExecContext(ctx, `INSERT INTO media (id, number, kind, identity_key, serial, vendor_id, product_id, wwn, capacity,
		descriptor_hash, interface_classes, level, custodian_id, department, status, access, note, allowed_hosts, created, updated,
		model, capacity_text, purpose, in_service, department_set, pending)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Number, string(m.Kind), id.Key, id.Serial, id.VendorID, id.ProductID, id.WWN, id.Capacity, id.DescriptorHash,
		jsonList(id.InterfaceClasses), int(m.Level), cust.ID, m.Department, string(m.Status), string(m.Access), m.Note,
		jsonList(m.AllowedHosts), now, now, m.Model, m.CapacityText, m.Purpose, m.InService, boolInt(deptSet), boolInt(r.Pending))
	switch {
	case isUnique(err, "media.number"):
		return m, errf(ErrDuplicateNumber, "err.dup-number", m.Number)
	case isUnique(err, "media.identity_key"):
		return m, errf(ErrDuplicateIdentity, "err.dup-identity", id.Key)
	case err != nil:
		return m, fmt.Errorf("register medium: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO numbers_used (number) VALUES (?)`, m.Number); err != nil {
		return m, fmt.Errorf("reserve number: %w", err)
	}
	_, err = s.appendEvent(ctx, tx, event.KindMediumRegister, m.Number, event.MediumRegister{
		Access: m.Access, AllowedHosts: m.AllowedHosts, CapacityText: m.CapacityText, Custodian: m.Custodian,
		Department: m.Department, DepartmentSet: deptSet, Identity: id, IdentityPending: r.Pending, Import: r.Import,
		InService: m.InService, Level: m.Level, MediumID: m.ID, Model: m.Model, Note: m.Note,
		NumberSeq: numbered.NumberSeq, NumberYear: numbered.NumberYear, Numbered: numbered.Numbered, Purpose: m.Purpose,
		Status: registerStatus(m.Status)})
	return m, err
}

// registerStatus is the status a medium.register row names: none for active.
func registerStatus(st media.Status) media.Status {
	if st == media.StatusActive {
		return ""
	}
	return st
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const mediumCols = `m.id, m.number, m.kind, m.identity_key, m.serial, m.vendor_id, m.product_id, m.wwn, m.capacity,
	m.descriptor_hash, m.interface_classes, m.level, c.handle, ` + mediumDepartment + `, m.status, m.access, m.note,
	COALESCE(h.handle, ''), m.due_at, m.allowed_hosts, m.created, m.updated,
	c.name, m.department_set, m.model, m.capacity_text, m.purpose, m.in_service, m.pending`

// mediumDepartment is a medium's department: its own when set, else its custodian's.
const mediumDepartment = `CASE WHEN m.department_set = 1 THEN m.department ELSE c.department END`

const mediumFrom = ` FROM media m JOIN people c ON c.id = m.custodian_id LEFT JOIN people h ON h.id = m.holder_id`

func scanMedium(row interface{ Scan(...any) error }) (media.Medium, error) {
	var m media.Medium
	var kind, classes, status, access, due, hosts, created, updated string
	var level int
	err := row.Scan(&m.ID, &m.Number, &kind, &m.Identity.Key, &m.Identity.Serial, &m.Identity.VendorID, &m.Identity.ProductID,
		&m.Identity.WWN, &m.Identity.Capacity, &m.Identity.DescriptorHash, &classes, &level, &m.Custodian, &m.Department,
		&status, &access, &m.Note, &m.Holder, &due, &hosts, &created, &updated,
		&m.CustodianName, &m.DepartmentSet, &m.Model, &m.CapacityText, &m.Purpose, &m.InService, &m.IdentityPending)
	if err != nil {
		return m, err
	}
	m.Kind, m.Identity.Kind = media.Kind(kind), media.Kind(kind)
	_ = json.Unmarshal([]byte(classes), &m.Identity.InterfaceClasses)
	m.Level, m.Status, m.Access = media.Level(level), media.Status(status), media.Access(access)
	if due != "" {
		m.DueAt = parseStamp(due)
	}
	m.AllowedHosts = parseList(hosts)
	m.Created, m.Updated = parseStamp(created), parseStamp(updated)
	return m, nil
}

// Medium returns the medium with the given number.
func (s *Store) Medium(ctx context.Context, number string) (media.Medium, error) {
	return mediumTx(ctx, s.db, number)
}

func mediumTx(ctx context.Context, q querier, number string) (media.Medium, error) {
	m, err := scanMedium(q.QueryRowContext(ctx, `SELECT `+mediumCols+mediumFrom+` WHERE m.number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		// A former number (the level was raised) finds the medium too.
		m, err = scanMedium(q.QueryRowContext(ctx, `SELECT `+mediumCols+mediumFrom+
			` WHERE m.id = (SELECT medium_id FROM media_aliases WHERE number = ?)`, number))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return m, errf(ErrNotFound, "not-found.medium", number)
	}
	return m, err
}

// MediumByIdentity returns the medium registered with the given identity key.
func (s *Store) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	m, err := scanMedium(s.db.QueryRowContext(ctx, `SELECT `+mediumCols+mediumFrom+` WHERE m.identity_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errf(ErrNotFound, "not-found.identity", key)
	}
	return m, err
}

// UpgradeIdentityKey moves the medium registered under oldKey to newKey and logs a
// medium.identity-upgrade row naming both. The daemon calls it when an optical disc
// registered under its version 1 key is seen with its whole-disc (version 2) key: from
// then on only the disc seen at that plug matches. It fails with ErrNotFound when no
// medium holds oldKey (another process upgraded it first) and ErrDuplicateIdentity
// when newKey is already registered.
func (s *Store) UpgradeIdentityKey(ctx context.Context, oldKey, newKey string) (media.Medium, error) {
	var m media.Medium
	if newKey == "" || len(newKey) > 512 || newKey == oldKey {
		return m, errf(ErrInvalid, "invalid.new-identity-key")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = scanMedium(tx.QueryRowContext(ctx, `SELECT `+mediumCols+mediumFrom+` WHERE m.identity_key = ?`, oldKey))
		if errors.Is(err, sql.ErrNoRows) {
			return errf(ErrNotFound, "not-found.identity", oldKey)
		} else if err != nil {
			return err
		}
		now := s.stamp()
		_, err = tx.ExecContext(ctx, `UPDATE media SET identity_key = ?, updated = ? WHERE id = ?`, newKey, now, m.ID)
		switch {
		case isUnique(err, "media.identity_key"):
			return errf(ErrDuplicateIdentity, "err.dup-identity", newKey)
		case err != nil:
			return fmt.Errorf("upgrade identity of %s: %w", m.Number, err)
		}
		m.Identity.Key, m.Updated = newKey, parseStamp(now)
		_, err = s.appendEvent(ctx, tx, event.KindMediumIdentityUpgrade, m.Number, event.MediumIdentityUpgrade{
			Custodian: m.Custodian, FromIdentity: oldKey, Identity: newKey, MediumID: m.ID})
		return err
	})
	if err != nil {
		return media.Medium{}, err
	}
	return m, nil
}

// MediaFilter selects media; zero fields match everything.
type MediaFilter struct {
	Status    media.Status
	Custodian string
	Level     *media.Level
	Kind      media.Kind
	// Pending selects the media whose identity is pending (imported, not yet bound)
	// and that can still be bound: not destroyed or retired.
	Pending bool
	// Department selects the media of a department (as shown: the medium's own or its
	// custodian's).
	Department string
	// InUse selects the media the office still holds and uses: active, lent, in the
	// vault or in repair (media.Status.InUse); not lost, destroyed or retired.
	InUse bool
}

// ListMedia lists media by number.
func (s *Store) ListMedia(ctx context.Context, f MediaFilter) ([]media.Medium, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "m.status = ?"), append(args, string(f.Status))
	}
	if f.Custodian != "" {
		where, args = append(where, "c.handle = ?"), append(args, f.Custodian)
	}
	if f.Level != nil {
		where, args = append(where, "m.level = ?"), append(args, int(*f.Level))
	}
	if f.Kind != "" {
		where, args = append(where, "m.kind = ?"), append(args, string(f.Kind))
	}
	if f.Pending {
		where = append(where, "m.pending = 1 AND m.status NOT IN ('destroyed', 'retired')")
	}
	if f.Department != "" {
		where, args = append(where, mediumDepartment+" = ?"), append(args, f.Department)
	}
	if f.InUse {
		var in []string
		for _, st := range media.Statuses() {
			if st.InUse() {
				in, args = append(in, "?"), append(args, string(st))
			}
		}
		where = append(where, "m.status IN ("+strings.Join(in, ", ")+")")
	}
	q := `SELECT ` + mediumCols + mediumFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY m.number", args...)
	if err != nil {
		return nil, fmt.Errorf("list media: %w", err)
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
	return out, rows.Err()
}

// change applies f to the medium inside one transaction, writes the result and logs
// an event of the given kind. f returns a function that builds the row's details
// (package event) from what every change records: the medium, its custodian and the
// status before and after.
func (s *Store) change(ctx context.Context, number string, kind event.Kind, f func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error)) (media.Medium, error) {
	var m media.Medium
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = mediumTx(ctx, tx, number); err != nil {
			return err
		}
		from := m.Status
		build, err := f(tx, &m)
		if err != nil {
			return err
		}
		c := event.Change{MediumID: m.ID, Custodian: m.Custodian}
		if from != m.Status {
			c.From, c.To = from, m.Status
		}
		details := build(c)
		// Free text given with a change (note, method …) goes into the log as typed:
		// refuse what would make the log read differently from what is stored.
		for _, t := range event.Texts(details) {
			if len(t.Value) > 2000 {
				return errf(ErrInvalid, "invalid.too-long", Field(t.Name), 2000)
			}
			if err := checkRunes(t.Name, t.Value); err != nil {
				return err
			}
		}
		custID, err := personIDTx(ctx, tx, m.Custodian)
		if err != nil {
			return err
		}
		var holderID any
		if m.Holder != "" {
			id, err := personIDTx(ctx, tx, m.Holder)
			if err != nil {
				return err
			}
			holderID = id
		}
		due := ""
		if !m.DueAt.IsZero() {
			due = m.DueAt.UTC().Format(timeLayout)
		}
		now := s.stamp()
		// The department column is left as registered: a medium that follows its
		// custodian's department shows the custodian's (m.Department), which is not
		// stored.
		_, err = tx.ExecContext(ctx, `UPDATE media SET status = ?, level = ?, custodian_id = ?, holder_id = ?, due_at = ?,
			access = ?, note = ?, updated = ? WHERE id = ?`,
			string(m.Status), int(m.Level), custID, holderID, due, string(m.Access), m.Note, now, m.ID)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, number, err)
		}
		m.Updated = parseStamp(now)
		_, err = s.appendEvent(ctx, tx, kind, m.Number, details)
		return err
	})
	if err != nil {
		return media.Medium{}, err
	}
	return m, nil
}

func personIDTx(ctx context.Context, q querier, handle string) (string, error) {
	p, err := personTx(ctx, q, handle)
	return p.ID, err
}

// setStatus checks and applies a status change.
func setStatus(m *media.Medium, to media.Status) error {
	if err := media.CheckTransition(m.Status, to); err != nil {
		return errf(ErrTransition, "transition", m.Number, m.Status, to)
	}
	m.Status = to
	return nil
}

// Handover makes another person the custodian: the signed handover record names both
// people and a witness. The medium must be active (return a lent medium first).
func (s *Store) Handover(ctx context.Context, number, to, witness, note string) (media.Medium, error) {
	return s.change(ctx, number, event.KindMediumHandover, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		if m.Status != media.StatusActive && m.Status != media.StatusInVault {
			return nil, errf(ErrTransition, "transition.handover", m.Number, m.Status)
		}
		note, err := cleanText("note", note, 2000)
		if err != nil {
			return nil, err
		}
		from, err := personTx(ctx, tx, m.Custodian)
		if err != nil {
			return nil, err
		}
		toP, err := activePersonTx(ctx, tx, to)
		if err != nil {
			return nil, err
		}
		wit, err := activePersonTx(ctx, tx, witness)
		if err != nil {
			return nil, err
		}
		if toP.ID == from.ID {
			return nil, errf(ErrInvalid, "invalid.already-custodian", Field("to"), to)
		}
		if wit.ID == toP.ID || wit.ID == from.ID {
			return nil, errf(ErrInvalid, "invalid.witness", Field("witness"))
		}
		at := s.stamp()
		if _, err := tx.ExecContext(ctx, `INSERT INTO handovers (id, medium_id, from_id, to_id, witness_id, at, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			NewID(), m.ID, from.ID, toP.ID, wit.ID, at, note); err != nil {
			return nil, fmt.Errorf("record handover: %w", err)
		}
		m.Custodian = toP.Handle
		return func(c event.Change) any {
			return event.MediumHandover{Custodian: c.Custodian, FromCustodian: from.Handle, FromName: from.Name, MediumID: c.MediumID,
				Note: note, ToCustodian: toP.Handle, ToName: toP.Name, Witness: wit.Handle, WitnessName: wit.Name}
		}, nil
	})
}

// Lend records an approved loan to another person until due.
func (s *Store) Lend(ctx context.Context, number, to string, due time.Time, approvedBy, note string) (media.Medium, error) {
	return s.change(ctx, number, event.KindMediumLend, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		p, err := activePersonTx(ctx, tx, to)
		if err != nil {
			return nil, err
		}
		if p.Handle == m.Custodian {
			return nil, errf(ErrInvalid, "invalid.lend-to-custodian", Field("to"))
		}
		if approvedBy != "" {
			if _, err := activePersonTx(ctx, tx, approvedBy); err != nil {
				return nil, err
			}
		}
		if !due.After(s.now()) {
			return nil, errf(ErrInvalid, "invalid.past-date", Field("due"))
		}
		if err := setStatus(m, media.StatusLent); err != nil {
			return nil, err
		}
		m.Holder, m.DueAt = p.Handle, due
		return func(c event.Change) any {
			return event.MediumLend{ApprovedBy: approvedBy, Custodian: c.Custodian, Due: due.UTC().Format(timeLayout), From: c.From,
				Holder: p.Handle, MediumID: c.MediumID, Note: note, To: c.To}
		}, nil
	})
}

// Return ends a loan.
func (s *Store) Return(ctx context.Context, number, note string) (media.Medium, error) {
	return s.change(ctx, number, event.KindMediumReturn, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		if m.Status != media.StatusLent {
			return nil, errf(ErrTransition, "transition.not-lent", m.Number, m.Status)
		}
		holder, due := m.Holder, m.DueAt
		if err := setStatus(m, media.StatusActive); err != nil {
			return nil, err
		}
		m.Holder, m.DueAt = "", time.Time{}
		overdue := s.now().After(due)
		return func(c event.Change) any {
			return event.MediumReturn{Custodian: c.Custodian, From: c.From, Holder: holder, MediumID: c.MediumID, Note: note,
				Overdue: overdue, To: c.To}
		}, nil
	})
}

// SetStatus performs a simple status change (lost, found, repair, repaired, destroy,
// retire) with its details (approver, witness, method, note); the store fills in the
// medium, its custodian and the statuses. people must be active.
func (s *Store) SetStatus(ctx context.Context, number string, to media.Status, kind event.Kind, details event.MediumStatus, people ...string) (media.Medium, error) {
	return s.change(ctx, number, kind, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		for _, p := range people {
			if _, err := activePersonTx(ctx, tx, p); err != nil {
				return nil, err
			}
		}
		if err := setStatus(m, to); err != nil {
			return nil, err
		}
		if to != media.StatusLent {
			m.Holder, m.DueAt = "", time.Time{}
		}
		return func(c event.Change) any {
			d := details
			d.Custodian, d.MediumID, d.From, d.To = c.Custodian, c.MediumID, c.From, c.To
			return d
		}, nil
	})
}

// Relevel raises a medium's level. Lowering is refused: a medium's level is never
// lowered while it exists. A number made by the numbering pattern carries the level's
// code, so the medium gets the next number of its new level; the old one stays its
// alias (found by every lookup, never given out again). A number in another form
// (given by hand) stays.
func (s *Store) Relevel(ctx context.Context, number string, level media.Level, note string) (media.Medium, error) {
	return s.change(ctx, number, event.KindMediumRelevel, func(tx *sql.Tx, m *media.Medium) (func(event.Change) any, error) {
		if !level.Valid() {
			return nil, errf(ErrInvalid, "invalid.value", Field("level"), level.String())
		}
		if level <= m.Level {
			return nil, errf(ErrRelevelDown, "relevel-down", m.Number, m.Level, level)
		}
		if m.Status.Terminal() {
			return nil, errf(ErrTransition, "transition.status", m.Number, m.Status)
		}
		from, fromNumber, toNumber, year, seq := m.Level, "", "", 0, 0
		n, err := numberingTx(ctx, tx)
		if err != nil {
			return nil, err
		}
		if n.Carries(m.Number, from) && n.Codes[from] != n.Codes[level] {
			num, y, q, err := s.nextNumber(ctx, tx, level)
			if err != nil {
				return nil, err
			}
			year, seq = y, q
			if _, err := tx.ExecContext(ctx, `INSERT INTO numbers_used (number) VALUES (?)`, num); err != nil {
				return nil, fmt.Errorf("relevel %s: %w", m.Number, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO media_aliases (number, medium_id, created) VALUES (?, ?, ?)`, m.Number, m.ID, s.stamp()); err != nil {
				return nil, fmt.Errorf("relevel %s: %w", m.Number, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE media SET number = ? WHERE id = ?`, num, m.ID); err != nil {
				return nil, fmt.Errorf("relevel %s: %w", m.Number, err)
			}
			fromNumber, toNumber, m.Number = m.Number, num, num
		}
		m.Level = level
		return func(c event.Change) any {
			return event.MediumRelevel{Custodian: c.Custodian, FromLevel: from, FromNumber: fromNumber, MediumID: c.MediumID, Note: note,
				NumberSeq: seq, NumberYear: year, ToLevel: level, ToNumber: toNumber}
		}, nil
	})
}

// SerialInUse returns the number of a medium registered with this serial under another
// identity key, or "" when there is none. Serials are compared without regard to
// ASCII letter case. Empty serials are never "in use".
func (s *Store) SerialInUse(ctx context.Context, serial, exceptKey string) (string, error) {
	if strings.TrimSpace(serial) == "" {
		return "", nil
	}
	var num string
	err := s.db.QueryRowContext(ctx, `SELECT number FROM media WHERE LOWER(serial) = LOWER(?) AND identity_key <> ? ORDER BY number LIMIT 1`,
		serial, exceptKey).Scan(&num)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return num, err
}
