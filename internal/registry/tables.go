package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"mediagate/internal/audit"
)

// Tables is every row of the register's tables as stored, column by column, with
// the ids the rows refer to each other by: what `audit verify` compares with the
// register it rebuilds from the audit log. Nothing is joined, defaulted or skipped,
// so a row that a join would hide (a medium whose custodian is not a person) is read
// too. Times are the stored text.
type Tables struct {
	HostID    string            // settings: host_id
	Numbering string            // settings: numbering (JSON), "" when never set
	Settings  map[string]string // every other settings row
	Host      *HostRow          // nil before host init
	People    []PersonRow
	Media     []MediumRow
	// NumbersUsed is every number ever given out; NumberSeq the next sequence
	// number per level and year.
	NumbersUsed   []string
	NumberSeq     []NumberSeqRow
	Handovers     []HandoverRow
	Campaigns     []CampaignRow
	CampaignMedia []CampaignMediumRow
	CheckIns      []CheckInRow
}

// PersonRow is a row of people.
type PersonRow struct {
	ID, Handle, Name, Department, Email, Login string
	Active                                     bool
	Created, Updated                           string
}

// HostRow is the row of host.
type HostRow struct {
	ID, Number                           string
	Level                                int
	Department, Mode, Hostname           string
	VaultStation                         bool
	AllowClasses, AllowDevices, Baseline string // JSON lists
	LowerMedia, DevicePins               string // DevicePins: JSON list
	Created, Updated                     string
}

// MediumRow is a row of media.
type MediumRow struct {
	ID, Number, Kind, IdentityKey, Serial, VendorID, ProductID, WWN string
	Capacity                                                        int64
	DescriptorHash, InterfaceClasses                                string // InterfaceClasses: JSON list
	Level                                                           int
	CustodianID, Department, Status, Access, Note                   string
	HolderID                                                        string // "" for NULL
	DueAt, AllowedHosts, Created, Updated                           string // AllowedHosts: JSON list
	// The fields of the paper register and the identity pending flag (release 4).
	Model, CapacityText, Purpose, InService string
	DepartmentSet, Pending                  bool
}

// NumberSeqRow is a row of number_seq.
type NumberSeqRow struct{ Level, Year, Next int }

// HandoverRow is a row of handovers.
type HandoverRow struct{ ID, MediumID, FromID, ToID, WitnessID, At, Note string }

// CampaignRow is a row of campaigns; ReportSHA256Of is the SHA-256 of the saved
// report as read ("" when none is saved), ReportSHA256 the column.
type CampaignRow struct {
	ID                           string
	Year                         int
	Opened, Deadline, Closed     string
	ReportSHA256, ReportSHA256Of string
}

// CampaignMediumRow is a row of campaign_media.
type CampaignMediumRow struct{ CampaignID, MediumID, StatusAtOpen, CustodianID, Outcome string }

// CheckInRow is a row of checkins.
type CheckInRow struct {
	Seq                                      int64
	ID, CampaignID, MediumID, At, Source     string
	Manual, Away                             bool
	Reason, ByID, Cabinet, Slot, IdentityKey string // ByID: "" for NULL
	Actor                                    string
}

// ReadRegister reads the audit log and every table of the register in one
// consistent snapshot (one read-only transaction, which does not hold up writers):
// each row of the log goes to each in sequence order, then the tables are read. It
// returns the log's recorded head and the tables. An error from each stops the read
// and is returned.
func (s *Store) ReadRegister(ctx context.Context, each func(*audit.Event) error) (Tables, audit.Head, error) {
	var t Tables
	var head audit.Head
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return t, head, fmt.Errorf("read register: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM event_head WHERE singleton = 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return t, head, fmt.Errorf("read register: audit head: %w", err)
	}
	if err := eachRow(ctx, tx, `SELECT `+eventCols+` FROM events ORDER BY seq`, func(r *sql.Rows) error {
		e, err := scanEvent(r)
		if err != nil {
			return err
		}
		return each(e)
	}); err != nil {
		return t, head, fmt.Errorf("read register: audit log: %w", err)
	}
	if err := readTables(ctx, tx, &t); err != nil {
		return t, head, fmt.Errorf("read register: %w", err)
	}
	return t, head, nil
}

func eachRow(ctx context.Context, tx *sql.Tx, query string, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func readTables(ctx context.Context, tx *sql.Tx, t *Tables) error {
	t.Settings = map[string]string{}
	err := eachRow(ctx, tx, `SELECT key, value FROM settings ORDER BY key`, func(r *sql.Rows) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		switch k {
		case "host_id":
			t.HostID = v
		case "numbering":
			t.Numbering = v
		default:
			t.Settings[k] = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT id, number, level, department, mode, hostname, vault_station, allow_classes, allow_devices,
		baseline, lower_media, device_pins, created, updated FROM host`, func(r *sql.Rows) error {
		var h HostRow
		if err := r.Scan(&h.ID, &h.Number, &h.Level, &h.Department, &h.Mode, &h.Hostname, &h.VaultStation, &h.AllowClasses,
			&h.AllowDevices, &h.Baseline, &h.LowerMedia, &h.DevicePins, &h.Created, &h.Updated); err != nil {
			return err
		}
		t.Host = &h
		return nil
	})
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT `+personCols+` FROM people ORDER BY handle`, func(r *sql.Rows) error {
		var p PersonRow
		if err := r.Scan(&p.ID, &p.Handle, &p.Name, &p.Department, &p.Email, &p.Login, &p.Active, &p.Created, &p.Updated); err != nil {
			return err
		}
		t.People = append(t.People, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("people: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT id, number, kind, identity_key, serial, vendor_id, product_id, wwn, capacity, descriptor_hash,
		interface_classes, level, custodian_id, department, status, access, note, COALESCE(holder_id, ''), due_at, allowed_hosts,
		created, updated, model, capacity_text, purpose, in_service, department_set, pending FROM media ORDER BY number`, func(r *sql.Rows) error {
		var m MediumRow
		if err := r.Scan(&m.ID, &m.Number, &m.Kind, &m.IdentityKey, &m.Serial, &m.VendorID, &m.ProductID, &m.WWN, &m.Capacity,
			&m.DescriptorHash, &m.InterfaceClasses, &m.Level, &m.CustodianID, &m.Department, &m.Status, &m.Access, &m.Note,
			&m.HolderID, &m.DueAt, &m.AllowedHosts, &m.Created, &m.Updated, &m.Model, &m.CapacityText, &m.Purpose, &m.InService,
			&m.DepartmentSet, &m.Pending); err != nil {
			return err
		}
		t.Media = append(t.Media, m)
		return nil
	})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT number FROM numbers_used ORDER BY number`, func(r *sql.Rows) error {
		var n string
		if err := r.Scan(&n); err != nil {
			return err
		}
		t.NumbersUsed = append(t.NumbersUsed, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("numbers used: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT level, year, next FROM number_seq ORDER BY level, year`, func(r *sql.Rows) error {
		var n NumberSeqRow
		if err := r.Scan(&n.Level, &n.Year, &n.Next); err != nil {
			return err
		}
		t.NumberSeq = append(t.NumberSeq, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("number sequences: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT id, medium_id, from_id, to_id, witness_id, at, note FROM handovers ORDER BY at, id`, func(r *sql.Rows) error {
		var h HandoverRow
		if err := r.Scan(&h.ID, &h.MediumID, &h.FromID, &h.ToID, &h.WitnessID, &h.At, &h.Note); err != nil {
			return err
		}
		t.Handovers = append(t.Handovers, h)
		return nil
	})
	if err != nil {
		return fmt.Errorf("handovers: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT id, year, opened, deadline, closed, report, report_sha256 FROM campaigns ORDER BY year`, func(r *sql.Rows) error {
		var c CampaignRow
		var report []byte
		if err := r.Scan(&c.ID, &c.Year, &c.Opened, &c.Deadline, &c.Closed, &report, &c.ReportSHA256); err != nil {
			return err
		}
		if report != nil {
			sum := sha256.Sum256(report)
			c.ReportSHA256Of = hex.EncodeToString(sum[:])
		}
		t.Campaigns = append(t.Campaigns, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("campaigns: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT campaign_id, medium_id, status_at_open, custodian_id, outcome FROM campaign_media
		ORDER BY campaign_id, medium_id`, func(r *sql.Rows) error {
		var c CampaignMediumRow
		if err := r.Scan(&c.CampaignID, &c.MediumID, &c.StatusAtOpen, &c.CustodianID, &c.Outcome); err != nil {
			return err
		}
		t.CampaignMedia = append(t.CampaignMedia, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("campaign media: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT seq, id, campaign_id, medium_id, at, source, manual, away, reason, COALESCE(by_id, ''), cabinet,
		slot, identity_key, actor FROM checkins ORDER BY seq`, func(r *sql.Rows) error {
		var c CheckInRow
		if err := r.Scan(&c.Seq, &c.ID, &c.CampaignID, &c.MediumID, &c.At, &c.Source, &c.Manual, &c.Away, &c.Reason, &c.ByID,
			&c.Cabinet, &c.Slot, &c.IdentityKey, &c.Actor); err != nil {
			return err
		}
		t.CheckIns = append(t.CheckIns, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("check-ins: %w", err)
	}
	return nil
}
