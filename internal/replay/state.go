package replay

import (
	"fmt"
	"slices"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

// Release is the release from which the log's rows explain every field of the
// register.
const Release = 3

// window is when a stored time stamp must lie: the register stamps a change inside
// the transaction that writes its audit row, after the row before it and before its
// own row.
type window struct{ lo, hi time.Time }

type person struct {
	id, handle, name, department, email, login string
	active                                     bool
	created, updated                           window
	row                                        int64 // last row that changed it
}

type host struct {
	h         event.Host
	pinsKnown bool
	row       int64
}

type medium struct {
	id, number, custodianID, holderID, department, note string
	identity                                            media.Identity
	level                                               media.Level
	status                                              media.Status
	access                                              media.Access
	due                                                 string
	allowedHosts                                        []string
	// the paper register's fields and the identity pending flag (release 4)
	model, capacityText, purpose, inService string
	departmentSet, pending                  bool
	created, updated                        window
	lastTouch                               time.Time
	row                                     int64
}

type handover struct {
	mediumID, fromID, toID, witnessID, note string
	at                                      window
	row                                     int64
}

type campaign struct {
	id             string
	year           int
	deadline       string
	opened, closed window
	isClosed       bool
	reportSHA256   string
	lastTouch      time.Time
	expected       []string // medium ids, in the order of the snapshot
	items          map[string]*item
	row            int64
}

type item struct {
	statusAtOpen media.Status
	custodianID  string
	outcome      checkin.Outcome
	checkIn      *checkIn
}

type checkIn struct {
	source, reason, byID, cabinet, slot, identityKey, actor string
	manual, away                                            bool
	at                                                      window
	row                                                     int64
}

type seqKey struct{ level, year int }

// State is the register as its audit log says it must be.
type State struct {
	rows      int64
	prevTime  time.Time
	hostID    string
	hostIDRow int64

	people   map[string]*person // by id
	byHandle map[string]string  // handle → id
	host     *host
	// numbering is the last numbering.set's scheme; nil when never set.
	numbering *event.Numbering
	media     map[string]*medium // by id
	numbers   map[string]string  // number → medium id: every number given out
	seq       map[seqKey]int     // next sequence number, where the log says it
	// seqOld is set by a registration of an earlier release, which does not say
	// whether its number came from the sequence: number_seq rows the log does not
	// set after it are unverifiable.
	seqOld   bool
	seqOldAt int64

	handovers []handover
	campaigns map[string]*campaign
	problems  []Finding
	old       map[string]int64 // "table.field" → last row of an earlier release that left it unexplained
}

// NewState returns the register of an empty log.
func NewState() *State {
	return &State{people: map[string]*person{}, byHandle: map[string]string{}, media: map[string]*medium{},
		numbers: map[string]string{}, seq: map[seqKey]int{}, campaigns: map[string]*campaign{}, old: map[string]int64{}}
}

// Rows is the number of log rows applied.
func (s *State) Rows() int64 { return s.rows }

// logProblem notes a row of the log that does not fit the register built so far.
func (s *State) logProblem(e *audit.Event, format string, args ...any) {
	s.problems = append(s.problems, Finding{Table: "events", Key: fmt.Sprintf("row %d", e.Seq), Field: string(e.Kind),
		Problem: ProblemLog, Log: fmt.Sprintf(format, args...), Row: e.Seq})
}

// stateless are the kinds whose rows change no table of the register: the daemon's,
// the mount log's and refused check-ins. Every other kind is applied by Apply.
var stateless = map[event.Kind]bool{
	event.KindCheckinRefused: true,
	event.KindDaemonStart:    true, event.KindDaemonStop: true, event.KindDaemonLock: true, event.KindDaemonRescan: true,
	event.KindDaemonControl: true, event.KindDeviceDecision: true, event.KindDeviceTamper: true,
	event.KindMountAttach: true, event.KindMountDetach: true, event.KindMountRemount: true, event.KindMountSeenAtStart: true,
	event.KindMountViolation: true,
	// An enrolled host's policy lives in its cache file, not in the register.
	event.KindPolicyApplied: true, event.KindPolicyRefused: true,
	// an import's summary: its people and media have rows of their own
	event.KindMediumImport: true,
	// The office server's register of hosts, tokens, requests and officers is kept
	// in tables of its own that replay does not rebuild (yet); a registration a
	// request leads to has its own medium.register row.
	event.KindOfficeHostAdd: true, event.KindOfficeHostUpdate: true, event.KindOfficeHostToken: true,
	event.KindOfficeEnroll: true, event.KindOfficeHostRevoke: true, event.KindOfficeRefused: true,
	event.KindOfficeRequest: true, event.KindOfficeRequestApprove: true, event.KindOfficeRequestReject: true,
	event.KindOfficeOfficerAdd: true,
	// The office's copy of its hosts' logs lives in tables of its own.
	event.KindOfficeLogBroken: true, event.KindOfficeHostFreeze: true, event.KindOfficeHostUnfreeze: true,
	// Files carried to and from a standalone host: the office's copy of its log is the
	// ledger's, the acknowledgement the anchor file's.
	event.KindCarryLogImport: true, event.KindCarryAck: true, event.KindCarryRefused: true,
}

// Apply replays one row of the log, in sequence order.
func (s *State) Apply(e *audit.Event) {
	s.rows++
	defer func() { s.prevTime = e.Time }()
	if s.hostID == "" {
		s.hostID, s.hostIDRow = e.HostID, e.Seq
	} else if e.HostID != s.hostID {
		s.logProblem(e, "row of host %s in the log of host %s", e.HostID, s.hostID)
	}
	if stateless[e.Kind] {
		return
	}
	d, err := event.Decode(e.Kind, e.Details)
	if err != nil {
		s.logProblem(e, "%v", err)
		return
	}
	created := window{s.prevTime, e.Time}
	switch d := d.(type) {
	case event.Person:
		if _, dup := s.byHandle[d.Handle]; dup {
			s.logProblem(e, "person %s added twice", d.Handle)
		}
		s.people[d.PersonID] = &person{id: d.PersonID, handle: d.Handle, name: d.Name, department: d.Department, email: d.Email,
			login: d.Login, active: true, created: created, updated: created, row: e.Seq}
		s.byHandle[d.Handle] = d.PersonID
	case event.PersonUpdate:
		p := s.people[d.After.PersonID]
		if p == nil {
			s.logProblem(e, "update of unknown person %s", d.After.Handle)
			return
		}
		p.name, p.department, p.email, p.login = d.After.Name, d.After.Department, d.After.Email, d.After.Login
		p.updated, p.row = window{p.updated.hi, e.Time}, e.Seq
	case event.PersonDeactivate:
		p := s.people[d.PersonID]
		if p == nil {
			s.logProblem(e, "deactivation of unknown person %s", d.Handle)
			return
		}
		p.active, p.updated, p.row = false, window{p.updated.hi, e.Time}, e.Seq
	case event.Host:
		h := &host{h: d, pinsKnown: d.DevicePins != nil, row: e.Seq}
		if !h.pinsKnown || d.LowerMedia == "" {
			s.old["host.lower_media"], s.old["host.device_pins"] = e.Seq, e.Seq
		} else {
			delete(s.old, "host.lower_media")
			delete(s.old, "host.device_pins")
		}
		if e.Kind == event.KindHostInit && s.host != nil || e.Kind == event.KindHostUpdate && s.host == nil {
			s.logProblem(e, "%s with the host profile %s", e.Kind, map[bool]string{true: "recorded", false: "not recorded"}[s.host != nil])
		}
		s.host = h
	case event.NumberingSet:
		n := d.After
		s.numbering = &n
	case event.MediumRegister:
		s.register(e, d, created)
	case event.MediumHandover:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		from, to, wit := s.personID(e, d.FromCustodian), s.personID(e, d.ToCustodian), s.personID(e, d.Witness)
		s.handovers = append(s.handovers, handover{mediumID: m.id, fromID: from, toID: to, witnessID: wit, note: d.Note,
			at: created, row: e.Seq})
		m.custodianID = to
		s.touch(m, e)
	case event.MediumLend:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		s.status(e, m, d.From, d.To)
		m.holderID, m.due = s.personID(e, d.Holder), d.Due
		s.touch(m, e)
	case event.MediumReturn:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		s.status(e, m, d.From, d.To)
		m.holderID, m.due = "", ""
		s.touch(m, e)
	case event.MediumRelevel:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		if m.level != d.FromLevel {
			s.logProblem(e, "%s raised from level %s, but the log has it at %s", m.number, d.FromLevel, m.level)
		}
		m.level = d.ToLevel
		if d.ToNumber != "" { // the new level gave it a new number; the old one stays its alias
			if _, dup := s.numbers[d.ToNumber]; dup {
				s.logProblem(e, "number %s given out twice", d.ToNumber)
			}
			s.numbers[d.ToNumber], m.number = m.id, d.ToNumber
			s.seq[seqKey{int(d.ToLevel), d.NumberYear}] = d.NumberSeq + 1
		}
		s.touch(m, e)
	case event.MediumIssue:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		s.status(e, m, d.From, d.To)
		m.custodianID, m.holderID, m.due = s.personID(e, d.ToCustodian), "", ""
		s.touch(m, e)
	case event.MediumBind:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		if !m.pending || m.identity.Key != d.FromIdentity {
			s.logProblem(e, "%s bound from identity %s, but the log has it under %s (pending %t)", m.number, d.FromIdentity,
				m.identity.Key, m.pending)
		}
		m.identity, m.pending = d.Identity, false
		if m.model == "" {
			m.model = d.Model
		}
		if d.Identity.Kind == media.KindOpticalDisc {
			m.access = media.AccessReadOnly
		}
		s.touch(m, e)
	case event.MediumIdentityUpgrade:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		if m.identity.Key != d.FromIdentity {
			s.logProblem(e, "%s moved from identity %s, but the log has it under %s", m.number, d.FromIdentity, m.identity.Key)
		}
		m.identity.Key = d.Identity
		s.touch(m, e)
	case event.MediumStatus:
		m := s.medium(e, d.MediumID)
		if m == nil {
			return
		}
		s.status(e, m, d.From, d.To)
		m.holderID, m.due = "", ""
		s.touch(m, e)
	case event.CheckinOpen:
		s.openCampaign(e, d, created)
	case event.CheckinIn:
		s.checkIn(e, d, created)
	case event.CheckinVault:
		s.closeItem(e, d.CampaignID, d.MediumID, d.From, d.To, checkin.OutcomeVault)
	case event.CheckinMissing:
		s.closeItem(e, d.CampaignID, d.MediumID, d.From, d.To, checkin.OutcomeMissing)
	case event.CheckinClose:
		s.closeCampaign(e, d)
	default:
		s.logProblem(e, "rows of kind %s change the register, but this mediagate cannot replay them", e.Kind)
	}
}

// register replays a registration.
func (s *State) register(e *audit.Event, d event.MediumRegister, created window) {
	if _, dup := s.numbers[e.Medium]; dup {
		s.logProblem(e, "number %s given out twice", e.Medium)
	}
	m := &medium{id: d.MediumID, number: e.Medium, custodianID: s.personID(e, d.Custodian), department: d.Department,
		note: d.Note, identity: d.Identity, level: d.Level, status: media.StatusActive, access: d.Access,
		allowedHosts: d.AllowedHosts, created: created, updated: created, lastTouch: e.Time, row: e.Seq,
		model: d.Model, capacityText: d.CapacityText, purpose: d.Purpose, inService: d.InService,
		departmentSet: d.DepartmentSet, pending: d.IdentityPending}
	if d.Status != "" {
		m.status = d.Status
	}
	if d.Numbered == "" {
		// A registration of an earlier release does not say whether its department
		// was set for it: it was when it differs from the custodian's then (as the
		// migration of release 4 decided).
		if p := s.people[m.custodianID]; p != nil && d.Department != "" && d.Department != p.department {
			m.departmentSet = true
		}
	}
	s.media[m.id] = m
	s.numbers[m.number] = m.id
	switch d.Numbered {
	case event.NumberedPattern:
		s.seq[seqKey{int(d.Level), d.NumberYear}] = d.NumberSeq + 1
	case event.NumberedGiven:
		// A given number the pattern made moved its sequence past it (to the larger of
		// the two). Where a registration of an earlier release may have moved the
		// sequence unseen, the larger is not known: the sequence stays unverifiable.
		k := seqKey{int(d.Level), d.NumberYear}
		if cur, known := s.seq[k]; d.NumberSeq > 0 && (known || !s.seqOld) && cur < d.NumberSeq+1 {
			s.seq[k] = d.NumberSeq + 1
		}
	default: // a registration of an earlier release: did it take a number from the sequence?
		s.seqOld, s.seqOldAt = true, e.Seq
		clear(s.seq)
	}
}

// medium is the medium a change names, or nil (noted) when the log never registered it.
func (s *State) medium(e *audit.Event, id string) *medium {
	m := s.media[id]
	if m == nil {
		s.logProblem(e, "change of a medium the log never registered (%s, id %s)", e.Medium, id)
	}
	return m
}

// personID is the id of the person with handle h, "" (noted) when the log never added them.
func (s *State) personID(e *audit.Event, h string) string {
	if h == "" {
		return ""
	}
	id, ok := s.byHandle[h]
	if !ok {
		s.logProblem(e, "person %s is not in the log", h)
	}
	return id
}

// status applies a change of status the row names (both empty: unchanged).
func (s *State) status(e *audit.Event, m *medium, from, to media.Status) {
	if to == "" {
		return
	}
	if from != m.status {
		s.logProblem(e, "%s changed from %s, but the log has it %s", m.number, from, m.status)
	}
	m.status = to
}

func (s *State) touch(m *medium, e *audit.Event) {
	m.updated, m.lastTouch, m.row = window{m.lastTouch, e.Time}, e.Time, e.Seq
}

func (s *State) openCampaign(e *audit.Event, d event.CheckinOpen, created window) {
	for _, c := range s.campaigns {
		if !c.isClosed {
			s.logProblem(e, "campaign %d opened while %d is open", d.Year, c.year)
		}
	}
	c := &campaign{id: d.CampaignID, year: d.Year, deadline: d.Deadline, opened: created, lastTouch: e.Time,
		items: map[string]*item{}, row: e.Seq}
	for _, id := range sortedKeys(s.media) {
		m := s.media[id]
		if checkin.MustReturn(m.status) {
			c.expected = append(c.expected, id)
			c.items[id] = &item{statusAtOpen: m.status, custodianID: m.custodianID}
		}
	}
	if len(c.expected) != d.Expected {
		s.logProblem(e, "campaign %d expects %d media, but the log has %d that must come back", d.Year, d.Expected, len(c.expected))
	}
	s.campaigns[c.id] = c
}

func (s *State) campaign(e *audit.Event, id string) *campaign {
	c := s.campaigns[id]
	if c == nil {
		s.logProblem(e, "campaign %s is not in the log", id)
	}
	return c
}

func (s *State) checkIn(e *audit.Event, d event.CheckinIn, at window) {
	c := s.campaign(e, d.CampaignID)
	m := s.medium(e, d.MediumID)
	if c == nil || m == nil {
		return
	}
	it := c.items[m.id]
	if it == nil {
		s.logProblem(e, "%s checked in to campaign %d, which does not expect it", m.number, c.year)
		return
	}
	if d.Status != m.status {
		s.logProblem(e, "%s checked in as %s, but the log has it %s", m.number, d.Status, m.status)
	}
	ci := &checkIn{source: d.Source, manual: d.Manual, away: d.Away, reason: d.Reason, cabinet: d.Cabinet, slot: d.Slot,
		identityKey: d.IdentityKey, actor: e.Actor.String(), at: at, row: e.Seq}
	if d.Manual {
		ci.byID = s.personID(e, d.By)
	}
	it.checkIn = ci
	c.lastTouch = e.Time
}

func (s *State) closeItem(e *audit.Event, campaignID, mediumID string, from, to media.Status, outcome checkin.Outcome) {
	c := s.campaign(e, campaignID)
	m := s.medium(e, mediumID)
	if c == nil || m == nil {
		return
	}
	it := c.items[m.id]
	if it == nil {
		s.logProblem(e, "%s closed in campaign %d, which does not expect it", m.number, c.year)
		return
	}
	s.status(e, m, from, to)
	m.holderID, m.due = "", ""
	it.outcome = outcome
	s.touch(m, e)
}

func (s *State) closeCampaign(e *audit.Event, d event.CheckinClose) {
	c := s.campaign(e, d.CampaignID)
	if c == nil {
		return
	}
	count := map[checkin.Outcome]int{}
	for _, id := range c.expected {
		it := c.items[id]
		if it.outcome == "" { // closed without a row of its own: its status stayed
			m := s.media[id]
			_, it.outcome = checkin.ClosePlan(checkin.Item{Status: m.status, CheckIn: toCheckIn(it.checkIn)})
		}
		count[it.outcome]++
	}
	if count[checkin.OutcomeVault] != d.Vault || count[checkin.OutcomeAway] != d.Away || count[checkin.OutcomeMissing] != d.Missing ||
		count[checkin.OutcomeWithdrawn] != d.Withdrawn || len(c.expected) != d.Expected {
		s.logProblem(e, "campaign %d closed with %d vault, %d away, %d missing, %d withdrawn of %d; the log makes it %d, %d, %d, %d of %d",
			c.year, d.Vault, d.Away, d.Missing, d.Withdrawn, d.Expected, count[checkin.OutcomeVault], count[checkin.OutcomeAway],
			count[checkin.OutcomeMissing], count[checkin.OutcomeWithdrawn], len(c.expected))
	}
	c.isClosed, c.closed, c.reportSHA256, c.row = true, window{c.lastTouch, e.Time}, d.ReportSHA256, e.Seq
}

func toCheckIn(ci *checkIn) *checkin.CheckIn {
	if ci == nil {
		return nil
	}
	return &checkin.CheckIn{Source: checkin.Source(ci.source), Manual: ci.manual, Away: ci.away}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
