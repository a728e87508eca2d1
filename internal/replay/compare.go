package replay

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// Problem says how a row of the register differs from what the log makes of it.
type Problem string

const (
	// ProblemNotInLog: the register holds a row the log never made.
	ProblemNotInLog Problem = "not-in-log"
	// ProblemMissing: the log made a row that the register does not hold.
	ProblemMissing Problem = "missing"
	// ProblemDiffers: a field of the row is not what the log made it.
	ProblemDiffers Problem = "differs"
	// ProblemLog: a row of the log does not fit the register the rows before it
	// made (a change of a medium never registered, a status it was not in).
	ProblemLog Problem = "log"
	// ProblemAnchor: the log does not hold the row the office acknowledged.
	ProblemAnchor Problem = "anchor"
)

// Finding is one row of the register that its log does not explain.
type Finding struct {
	Table    string  `json:"table"`
	Key      string  `json:"key"`             // the row: a medium's number, a person's handle, …
	Field    string  `json:"field,omitempty"` // the column that differs; "" for a whole row
	Problem  Problem `json:"problem"`
	Register string  `json:"register,omitempty"` // what the register holds
	Log      string  `json:"log,omitempty"`      // what the log says it must hold
	Row      int64   `json:"row,omitempty"`      // the last row of the log about it
}

// Unverifiable is a field that rows of an earlier release do not explain: it is
// taken from the register as it is. Row is the last such row.
type Unverifiable struct {
	Table   string `json:"table"`
	Field   string `json:"field"`
	Release int    `json:"before_release"`
	Row     int64  `json:"row"`
}

// slack is how far a stored time stamp may lie outside its window: a wall clock
// stepped back by less between two changes is not reported.
const slack = time.Second

type comparer struct {
	s        *State
	findings []Finding
	handle   map[string]string // person id → handle, for readable values
}

func (c *comparer) add(f Finding) { c.findings = append(c.findings, f) }

func (c *comparer) field(table, key, field, register, log string, row int64) {
	if register != log {
		c.add(Finding{Table: table, Key: key, Field: field, Problem: ProblemDiffers, Register: register, Log: log, Row: row})
	}
}

func (c *comparer) stamp(table, key, field, stored string, w window, row int64) {
	t, err := time.Parse(audit.TimeLayout, stored)
	if err == nil && !t.Before(w.lo.Add(-slack)) && !t.After(w.hi.Add(slack)) {
		return
	}
	c.add(Finding{Table: table, Key: key, Field: field, Problem: ProblemDiffers, Register: stored, Row: row,
		Log: "between " + w.lo.UTC().Format(audit.TimeLayout) + " and " + w.hi.UTC().Format(audit.TimeLayout)})
}

// who renders a person id as its handle.
func (c *comparer) who(id string) string {
	if h, ok := c.handle[id]; ok {
		return h
	}
	return id
}

// jsonList is a list as the register stores it: [] when empty.
func jsonList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(audit.TimeLayout)
}

// Compare checks the register's tables against the state its log makes. It returns
// what differs, sorted by table and key, and the fields rows of earlier releases
// leave unexplained.
func Compare(s *State, t service.Tables) ([]Finding, []Unverifiable) {
	c := &comparer{s: s, findings: slices.Clone(s.problems), handle: map[string]string{}}
	for _, p := range t.People {
		c.handle[p.ID] = p.Handle
	}
	for id, p := range s.people {
		c.handle[id] = p.handle
	}
	c.settings(t)
	c.people(t.People)
	c.host(t.Host)
	c.media(t.Media)
	c.numbers(t)
	c.handovers(t.Handovers)
	c.campaigns(t)
	sort.SliceStable(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Key < b.Key
	})
	var old []Unverifiable
	for _, k := range sortedKeys(s.old) {
		tbl, fld, _ := strings.Cut(k, ".")
		old = append(old, Unverifiable{Table: tbl, Field: fld, Release: Release, Row: s.old[k]})
	}
	return c.findings, old
}

func (c *comparer) settings(t service.Tables) {
	s := c.s
	if s.rows > 0 {
		c.field("settings", "host_id", "value", t.HostID, s.hostID, s.hostIDRow)
	}
	switch {
	case s.numbering == nil && t.Numbering != "":
		c.add(Finding{Table: "settings", Key: "numbering", Problem: ProblemNotInLog, Register: t.Numbering})
	case s.numbering != nil && t.Numbering == "":
		c.add(Finding{Table: "settings", Key: "numbering", Problem: ProblemMissing, Log: s.numbering.Pattern})
	case s.numbering != nil:
		var stored event.Numbering
		if err := json.Unmarshal([]byte(t.Numbering), &stored); err != nil {
			c.add(Finding{Table: "settings", Key: "numbering", Problem: ProblemDiffers, Register: t.Numbering})
			return
		}
		c.field("settings", "numbering", "pattern", stored.Pattern, s.numbering.Pattern, 0)
		for _, l := range []media.Level{media.Unclassified, media.Confidential, media.Secret, media.TopSecret} {
			c.field("settings", "numbering", "level_codes."+l.String(), stored.Codes[l], s.numbering.Codes[l], 0)
		}
	}
}

func (c *comparer) people(rows []service.PersonRow) {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.ID] = true
		p := c.s.people[r.ID]
		if p == nil {
			c.add(Finding{Table: "people", Key: r.Handle, Problem: ProblemNotInLog, Register: r.Name})
			continue
		}
		k := p.handle
		c.field("people", k, "handle", r.Handle, p.handle, p.row)
		c.field("people", k, "name", r.Name, p.name, p.row)
		c.field("people", k, "department", r.Department, p.department, p.row)
		c.field("people", k, "email", r.Email, p.email, p.row)
		c.field("people", k, "login", r.Login, p.login, p.row)
		c.field("people", k, "active", strconv.FormatBool(r.Active), strconv.FormatBool(p.active), p.row)
		c.stamp("people", k, "created", r.Created, p.created, p.row)
		c.stamp("people", k, "updated", r.Updated, p.updated, p.row)
	}
	for _, id := range sortedKeys(c.s.people) {
		if p := c.s.people[id]; !seen[id] {
			c.add(Finding{Table: "people", Key: p.handle, Problem: ProblemMissing, Log: p.name, Row: p.row})
		}
	}
}

func (c *comparer) host(r *service.HostRow) {
	h := c.s.host
	switch {
	case h == nil && r == nil:
		return
	case h == nil:
		c.add(Finding{Table: "host", Key: r.Number, Problem: ProblemNotInLog, Register: r.Number})
		return
	case r == nil:
		c.add(Finding{Table: "host", Key: h.h.Number, Problem: ProblemMissing, Log: h.h.Number, Row: h.row})
		return
	}
	d, k, row := h.h, h.h.Number, h.row
	c.field("host", k, "id", r.ID, d.ID, row)
	c.field("host", k, "number", r.Number, d.Number, row)
	c.field("host", k, "level", media.Level(r.Level).String(), d.Level.String(), row)
	c.field("host", k, "department", r.Department, d.Department, row)
	c.field("host", k, "mode", r.Mode, string(d.Mode), row)
	c.field("host", k, "hostname", r.Hostname, d.Hostname, row)
	c.field("host", k, "vault_station", strconv.FormatBool(r.VaultStation), strconv.FormatBool(d.VaultStation), row)
	c.field("host", k, "allow_classes", r.AllowClasses, jsonList(d.AllowClasses), row)
	c.field("host", k, "allow_devices", r.AllowDevices, jsonList(d.AllowDevices), row)
	c.field("host", k, "baseline", r.Baseline, jsonList(d.Baseline), row)
	if d.LowerMedia != "" {
		c.field("host", k, "lower_media", r.LowerMedia, string(d.LowerMedia), row)
	}
	if h.pinsKnown {
		c.field("host", k, "device_pins", r.DevicePins, jsonList(*d.DevicePins), row)
	}
	c.field("host", k, "created", r.Created, fmtTime(d.Created), row)
	c.field("host", k, "updated", r.Updated, fmtTime(d.Updated), row)
}

func (c *comparer) media(rows []service.MediumRow) {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.ID] = true
		m := c.s.media[r.ID]
		if m == nil {
			c.add(Finding{Table: "media", Key: r.Number, Problem: ProblemNotInLog,
				Register: fmt.Sprintf("%s %s %s %s", r.Kind, media.Level(r.Level), r.Status, r.IdentityKey)})
			continue
		}
		k, row, id := m.number, m.row, m.identity
		c.field("media", k, "number", r.Number, m.number, row)
		c.field("media", k, "kind", r.Kind, string(id.Kind), row)
		c.field("media", k, "identity_key", r.IdentityKey, id.Key, row)
		c.field("media", k, "serial", r.Serial, id.Serial, row)
		c.field("media", k, "vendor_id", r.VendorID, id.VendorID, row)
		c.field("media", k, "product_id", r.ProductID, id.ProductID, row)
		c.field("media", k, "wwn", r.WWN, id.WWN, row)
		c.field("media", k, "capacity", strconv.FormatInt(r.Capacity, 10), strconv.FormatInt(id.Capacity, 10), row)
		c.field("media", k, "descriptor_hash", r.DescriptorHash, id.DescriptorHash, row)
		c.field("media", k, "interface_classes", r.InterfaceClasses, jsonList(id.InterfaceClasses), row)
		c.field("media", k, "level", media.Level(r.Level).String(), m.level.String(), row)
		c.field("media", k, "custodian", c.who(r.CustodianID), c.who(m.custodianID), row)
		c.field("media", k, "department", r.Department, m.department, row)
		c.field("media", k, "status", r.Status, string(m.status), row)
		c.field("media", k, "access", r.Access, string(m.access), row)
		c.field("media", k, "note", r.Note, m.note, row)
		c.field("media", k, "holder", c.who(r.HolderID), c.who(m.holderID), row)
		c.field("media", k, "due_at", r.DueAt, m.due, row)
		c.field("media", k, "allowed_hosts", r.AllowedHosts, jsonList(m.allowedHosts), row)
		c.field("media", k, "model", r.Model, m.model, row)
		c.field("media", k, "capacity_text", r.CapacityText, m.capacityText, row)
		c.field("media", k, "purpose", r.Purpose, m.purpose, row)
		c.field("media", k, "in_service", r.InService, m.inService, row)
		c.field("media", k, "department_set", strconv.FormatBool(r.DepartmentSet), strconv.FormatBool(m.departmentSet), row)
		c.field("media", k, "pending", strconv.FormatBool(r.Pending), strconv.FormatBool(m.pending), row)
		c.stamp("media", k, "created", r.Created, m.created, row)
		c.stamp("media", k, "updated", r.Updated, m.updated, row)
	}
	for _, id := range sortedKeys(c.s.media) {
		if m := c.s.media[id]; !seen[id] {
			c.add(Finding{Table: "media", Key: m.number, Problem: ProblemMissing,
				Log: fmt.Sprintf("%s %s %s %s", m.identity.Kind, m.level, m.status, m.identity.Key), Row: m.row})
		}
	}
}

func (c *comparer) numbers(t service.Tables) {
	s := c.s
	used := map[string]bool{}
	for _, n := range t.NumbersUsed {
		used[n] = true
		if _, ok := s.numbers[n]; !ok {
			c.add(Finding{Table: "numbers_used", Key: n, Problem: ProblemNotInLog, Register: n})
		}
	}
	for _, n := range sortedKeys(s.numbers) {
		if !used[n] {
			c.add(Finding{Table: "numbers_used", Key: n, Problem: ProblemMissing, Log: n, Row: s.media[s.numbers[n]].row})
		}
	}
	seen := map[seqKey]bool{}
	for _, r := range t.NumberSeq {
		k := seqKey{r.Level, r.Year}
		seen[k] = true
		key := fmt.Sprintf("%s %d", media.Level(r.Level), r.Year)
		next, ok := s.seq[k]
		switch {
		case ok:
			c.field("number_seq", key, "next", strconv.Itoa(r.Next), strconv.Itoa(next), 0)
		case s.seqOld:
			s.old["number_seq.next"] = s.seqOldAt
		default:
			c.add(Finding{Table: "number_seq", Key: key, Problem: ProblemNotInLog, Register: strconv.Itoa(r.Next)})
		}
	}
	var keys []seqKey
	for k := range s.seq {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b seqKey) int { return (a.level-b.level)*10000 + a.year - b.year })
	for _, k := range keys {
		c.add(Finding{Table: "number_seq", Key: fmt.Sprintf("%s %d", media.Level(k.level), k.year), Problem: ProblemMissing,
			Log: strconv.Itoa(s.seq[k])})
	}
}

func (c *comparer) handovers(rows []service.HandoverRow) {
	stored := map[string][]service.HandoverRow{}
	for _, r := range rows {
		stored[r.MediumID] = append(stored[r.MediumID], r)
	}
	made := map[string][]handover{}
	for _, h := range c.s.handovers {
		made[h.mediumID] = append(made[h.mediumID], h)
	}
	ids := sortedKeys(stored)
	for id := range made {
		if _, ok := stored[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		rs, hs := stored[id], made[id]
		slices.SortStableFunc(rs, func(a, b service.HandoverRow) int {
			if a.At != b.At {
				return strings.Compare(a.At, b.At)
			}
			return strings.Compare(a.ID, b.ID)
		})
		number := id
		if m := c.s.media[id]; m != nil {
			number = m.number
		}
		for i := range max(len(rs), len(hs)) {
			k := fmt.Sprintf("%s #%d", number, i+1)
			switch {
			case i >= len(hs):
				r := rs[i]
				c.add(Finding{Table: "handovers", Key: k, Problem: ProblemNotInLog,
					Register: c.who(r.FromID) + " → " + c.who(r.ToID) + " " + r.At})
			case i >= len(rs):
				h := hs[i]
				c.add(Finding{Table: "handovers", Key: k, Problem: ProblemMissing, Log: c.who(h.fromID) + " → " + c.who(h.toID), Row: h.row})
			default:
				r, h := rs[i], hs[i]
				c.field("handovers", k, "from", c.who(r.FromID), c.who(h.fromID), h.row)
				c.field("handovers", k, "to", c.who(r.ToID), c.who(h.toID), h.row)
				c.field("handovers", k, "witness", c.who(r.WitnessID), c.who(h.witnessID), h.row)
				c.field("handovers", k, "note", r.Note, h.note, h.row)
				c.stamp("handovers", k, "at", r.At, h.at, h.row)
			}
		}
	}
}

func (c *comparer) campaigns(t service.Tables) {
	s := c.s
	seen := map[string]bool{}
	for _, r := range t.Campaigns {
		seen[r.ID] = true
		k := strconv.Itoa(r.Year)
		cp := s.campaigns[r.ID]
		if cp == nil {
			c.add(Finding{Table: "campaigns", Key: k, Problem: ProblemNotInLog, Register: r.Opened})
			continue
		}
		row := cp.row
		c.field("campaigns", k, "year", k, strconv.Itoa(cp.year), row)
		c.field("campaigns", k, "deadline", r.Deadline, cp.deadline, row)
		c.stamp("campaigns", k, "opened", r.Opened, cp.opened, row)
		if cp.isClosed {
			c.stamp("campaigns", k, "closed", r.Closed, cp.closed, row)
		} else {
			c.field("campaigns", k, "closed", r.Closed, "", row)
		}
		c.field("campaigns", k, "report_sha256", r.ReportSHA256, cp.reportSHA256, row)
		c.field("campaigns", k, "report", r.ReportSHA256Of, cp.reportSHA256, row)
	}
	for _, id := range sortedKeys(s.campaigns) {
		if cp := s.campaigns[id]; !seen[id] {
			c.add(Finding{Table: "campaigns", Key: strconv.Itoa(cp.year), Problem: ProblemMissing, Log: cp.deadline, Row: cp.row})
		}
	}
	type key struct{ campaign, medium string }
	name := func(k key) string {
		y, n := k.campaign, k.medium
		if cp := s.campaigns[k.campaign]; cp != nil {
			y = strconv.Itoa(cp.year)
		}
		if m := s.media[k.medium]; m != nil {
			n = m.number
		}
		return y + " " + n
	}
	items := map[key]bool{}
	for _, r := range t.CampaignMedia {
		k := key{r.CampaignID, r.MediumID}
		items[k] = true
		var it *item
		var row int64
		if cp := s.campaigns[r.CampaignID]; cp != nil {
			it, row = cp.items[r.MediumID], cp.row
		}
		if it == nil {
			c.add(Finding{Table: "campaign_media", Key: name(k), Problem: ProblemNotInLog, Register: r.StatusAtOpen})
			continue
		}
		c.field("campaign_media", name(k), "status_at_open", r.StatusAtOpen, string(it.statusAtOpen), row)
		c.field("campaign_media", name(k), "custodian", c.who(r.CustodianID), c.who(it.custodianID), row)
		c.field("campaign_media", name(k), "outcome", r.Outcome, string(it.outcome), row)
	}
	checked := map[key]bool{}
	for _, r := range t.CheckIns {
		k := key{r.CampaignID, r.MediumID}
		if checked[k] {
			c.add(Finding{Table: "checkins", Key: name(k), Problem: ProblemNotInLog, Register: r.At})
			continue
		}
		checked[k] = true
		var ci *checkIn
		if cp := s.campaigns[r.CampaignID]; cp != nil && cp.items[r.MediumID] != nil {
			ci = cp.items[r.MediumID].checkIn
		}
		if ci == nil {
			c.add(Finding{Table: "checkins", Key: name(k), Problem: ProblemNotInLog, Register: r.Source + " " + r.At})
			continue
		}
		n, row := name(k), ci.row
		c.field("checkins", n, "source", r.Source, ci.source, row)
		c.field("checkins", n, "manual", strconv.FormatBool(r.Manual), strconv.FormatBool(ci.manual), row)
		c.field("checkins", n, "away", strconv.FormatBool(r.Away), strconv.FormatBool(ci.away), row)
		c.field("checkins", n, "reason", r.Reason, ci.reason, row)
		c.field("checkins", n, "by", c.who(r.ByID), c.who(ci.byID), row)
		c.field("checkins", n, "cabinet", r.Cabinet, ci.cabinet, row)
		c.field("checkins", n, "slot", r.Slot, ci.slot, row)
		c.field("checkins", n, "identity_key", r.IdentityKey, ci.identityKey, row)
		c.field("checkins", n, "actor", r.Actor, ci.actor, row)
		c.stamp("checkins", n, "at", r.At, ci.at, row)
	}
	for _, id := range sortedKeys(s.campaigns) {
		cp := s.campaigns[id]
		for _, mid := range cp.expected {
			k := key{id, mid}
			it := cp.items[mid]
			if !items[k] {
				c.add(Finding{Table: "campaign_media", Key: name(k), Problem: ProblemMissing, Log: string(it.statusAtOpen), Row: cp.row})
			}
			if it.checkIn != nil && !checked[k] {
				c.add(Finding{Table: "checkins", Key: name(k), Problem: ProblemMissing, Log: it.checkIn.source, Row: it.checkIn.row})
			}
		}
	}
}
