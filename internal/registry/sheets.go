package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"mediagate/internal/event"
	"mediagate/internal/media"
)

// parseNumber reads a number made by the pattern n: its level, year and sequence.
// ok is false for a number the pattern did not make (a number from an older scheme).
func (n Numbering) parseNumber(number string) (level media.Level, year, seq int, ok bool) {
	var re strings.Builder
	re.WriteString("^")
	var order []string
	last := 0
	for _, loc := range tokenRE.FindAllStringSubmatchIndex(n.Pattern, -1) {
		re.WriteString(regexp.QuoteMeta(n.Pattern[last:loc[0]]))
		name := n.Pattern[loc[2]:loc[3]]
		switch name {
		case "level_code":
			var alts []string
			for _, c := range n.Codes {
				alts = append(alts, regexp.QuoteMeta(c))
			}
			re.WriteString("(" + strings.Join(alts, "|") + ")")
		case "year":
			re.WriteString(`([0-9]{4})`)
		case "seq":
			re.WriteString(`([0-9]{1,9})`)
		}
		order = append(order, name)
		last = loc[1]
	}
	re.WriteString(regexp.QuoteMeta(n.Pattern[last:]) + "$")
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return 0, 0, 0, false
	}
	m := rx.FindStringSubmatch(number)
	if m == nil {
		return 0, 0, 0, false
	}
	found := false
	for i, name := range order {
		v := m[i+1]
		switch name {
		case "level_code":
			for l, c := range n.Codes {
				if c == v {
					level, found = l, true
				}
			}
		case "year":
			year, _ = strconv.Atoi(v)
		case "seq":
			seq, _ = strconv.Atoi(v)
		}
	}
	// The number must be exactly what the pattern makes (zero padding included).
	if !found || n.Format(level, year, seq) != number {
		return 0, 0, 0, false
	}
	return level, year, seq, true
}

// reserveSeqTx moves the sequence of a given number's level and year past the
// number when the numbering pattern made it (for the medium's own level), so that the
// next generated number follows the numbers already given out (an imported register
// keeps its numbers). It returns the year and sequence it read from the number (0, 0
// for a number the pattern did not make), which the registration's audit row records.
func (s *Store) reserveSeqTx(ctx context.Context, tx *sql.Tx, number string, level media.Level) (year, seq int, err error) {
	n, err := numberingTx(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	l, year, seq, ok := n.parseNumber(number)
	if !ok || l != level {
		return 0, 0, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO number_seq (level, year, next) VALUES (?, ?, ?)
		ON CONFLICT (level, year) DO UPDATE SET next = excluded.next WHERE number_seq.next < excluded.next`,
		int(level), year, seq+1)
	if err != nil {
		return 0, 0, fmt.Errorf("reserve number %s: %w", number, err)
	}
	return year, seq, nil
}

// ImportBatch is one import of the office's register: the people to add, then the
// media to register, then the summary row, in one transaction: all of it or none.
type ImportBatch struct {
	People  []media.Person
	Media   []Registration
	Summary event.MediumImport
}

// Import applies an import batch: one person.add row per person, one medium.register
// row per medium and the medium.import summary row. Any refusal rolls all of it back
// and names the medium (by its index in Media) in an *ImportError.
func (s *Store) Import(ctx context.Context, b ImportBatch) ([]media.Medium, error) {
	var out []media.Medium
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		for _, p := range b.People {
			if _, err := s.addPersonTx(ctx, tx, p); err != nil {
				return err
			}
		}
		for i, r := range b.Media {
			r.Import = b.Summary.SHA256
			m, err := s.registerTx(ctx, tx, r)
			if err != nil {
				return &ImportError{Index: i, Err: err}
			}
			out = append(out, m)
		}
		_, err := s.appendEvent(ctx, tx, event.KindMediumImport, "", b.Summary)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ImportError is the refusal of one medium of an import batch.
type ImportError struct {
	Index int // in ImportBatch.Media
	Err   error
}

func (e *ImportError) Error() string { return fmt.Sprintf("import medium %d: %v", e.Index+1, e.Err) }
func (e *ImportError) Unwrap() error { return e.Err }

// BindIdentity gives a medium whose identity is pending the identity read from its
// device, with a medium.bind row; model fills the medium's brand and model when the
// register had none. station says the vault station bound it during a check-in.
func (s *Store) BindIdentity(ctx context.Context, number string, id media.Identity, model string, station bool) (media.Medium, error) {
	var m media.Medium
	if !id.Kind.Valid() || id.Key == "" || len(id.Key) > 512 || strings.HasPrefix(id.Key, PendingKeyPrefix) {
		return m, errf(ErrInvalid, "invalid.identity-key")
	}
	for field, v := range map[string]string{"serial": id.Serial, "identity": id.Key} {
		if err := checkRunes(field, v); err != nil {
			return m, err
		}
	}
	model, err := cleanText("model", model, 200)
	if err != nil {
		return m, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = mediumTx(ctx, tx, number); err != nil {
			return err
		}
		if !m.IdentityPending {
			return errf(ErrInvalid, "invalid.not-pending", m.Number)
		}
		if m.Status.Terminal() {
			return errf(ErrTransition, "transition.status", m.Number, m.Status)
		}
		var other string
		err = tx.QueryRowContext(ctx, `SELECT number FROM media WHERE identity_key = ?`, id.Key).Scan(&other)
		if err == nil {
			return errf(ErrDuplicateIdentity, "dup-identity.as", id.Key, other)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		from := m.Identity.Key
		if m.Model == "" {
			m.Model = model
		}
		access := m.Access
		if id.Kind == media.KindOpticalDisc {
			access = media.AccessReadOnly
		}
		now := s.stamp()
		_, err = tx.ExecContext(ctx, `UPDATE media SET kind = ?, identity_key = ?, serial = ?, vendor_id = ?, product_id = ?, wwn = ?,
			capacity = ?, descriptor_hash = ?, interface_classes = ?, model = ?, access = ?, pending = 0, updated = ? WHERE id = ?`,
			string(id.Kind), id.Key, id.Serial, id.VendorID, id.ProductID, id.WWN, id.Capacity, id.DescriptorHash,
			jsonList(id.InterfaceClasses), m.Model, string(access), now, m.ID)
		switch {
		case isUnique(err, "media.identity_key"):
			return errf(ErrDuplicateIdentity, "err.dup-identity", id.Key)
		case err != nil:
			return fmt.Errorf("bind %s: %w", number, err)
		}
		m.Kind, m.Identity, m.Access, m.IdentityPending, m.Updated = id.Kind, id, access, false, parseStamp(now)
		_, err = s.appendEvent(ctx, tx, event.KindMediumBind, m.Number, event.MediumBind{Custodian: m.Custodian,
			FromIdentity: from, Identity: id, MediumID: m.ID, Model: model, Station: station})
		return err
	})
	if err != nil {
		return media.Medium{}, err
	}
	return m, nil
}
