package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
)

var (
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex4RE   = regexp.MustCompile(`^[0-9a-f]{4}$`)
)

// keyKind is the kind of medium each identity key prefix stands for.
var keyKind = map[string]media.Kind{"usb": media.KindUSBDisk, "wwn": media.KindDisk, "disk": media.KindDisk,
	"nvme": media.KindDisk, "mmc": media.KindSD, "disc": media.KindOpticalDisc}

// IdentityFields is the identity of a medium registered by hand (not read from the
// device): what an officer types or a spreadsheet holds.
type IdentityFields struct {
	Kind, Serial, Vendor, Product, WWN, Model, Key, DescriptorHash string
	Capacity                                                       int64
}

// IdentityFromFields builds the identity of a medium registered by hand, checking
// every field: a usb-disk needs VID and PID, a disk a WWN or a model, other kinds an
// identity key of their kind.
func IdentityFromFields(f IdentityFields) (media.Identity, error) {
	kind, err := media.ParseKind(f.Kind)
	if err != nil {
		return media.Identity{}, badRequest("err.unknown-kind", f.Kind)
	}
	id := media.Identity{Kind: kind, Serial: identity.TrimSerial(f.Serial), Capacity: f.Capacity}
	if f.Capacity < 0 {
		return id, badRequest("usage.capacity")
	}
	if f.DescriptorHash != "" {
		id.DescriptorHash = strings.ToLower(strings.TrimSpace(f.DescriptorHash))
		if !sha256RE.MatchString(id.DescriptorHash) {
			return id, badRequest("usage.descriptor-hash")
		}
	}
	if f.Key != "" {
		prefix, parts, err := identity.SplitKey(f.Key)
		if err != nil || keyKind[prefix] != kind && kind != media.KindOther {
			return id, badRequest("usage.key", f.Key, kind)
		}
		id.Key = f.Key
		if kind == media.KindOther {
			return id, nil // the escape hatch: any well-formed key
		}
		return checkKey(id, prefix, parts)
	}
	switch kind {
	case media.KindUSBDisk:
		if f.Vendor == "" || f.Product == "" {
			return id, badRequest("usage.usb-needs")
		}
		id.VendorID, id.ProductID = strings.ToLower(f.Vendor), strings.ToLower(f.Product)
		if !hex4RE.MatchString(id.VendorID) || !hex4RE.MatchString(id.ProductID) {
			return id, badRequest("usage.vidpid")
		}
		id.Key = identity.USBKey(id.VendorID, id.ProductID, f.Serial)
	case media.KindDisk:
		if f.WWN != "" {
			k, ok := identity.WWNKey(f.WWN)
			if !ok {
				return id, badRequest("usage.wwn", f.WWN)
			}
			id.Key, id.WWN = k, strings.TrimPrefix(k, "wwn:")
			return id, nil
		}
		if f.Model == "" {
			return id, badRequest("usage.disk-needs")
		}
		id.Key = identity.DiskKey(f.Model, f.Serial)
	default:
		return id, badRequest("usage.key-needed", kind)
	}
	return id, nil
}

var (
	hex6RE       = regexp.MustCompile(`^[0-9a-f]{6}$`)
	hex8RE       = regexp.MustCompile(`^[0-9a-f]{8}$`)
	discFormatRE = regexp.MustCompile(`^v2-(iso9660|udf)$`)
)

// checkKey checks an identity key typed by hand against the form the device reader
// makes for its kind, so that a typo cannot register a medium that then works nowhere:
// an SD card's mmc:MANFID:OEMID:NAME:SERIAL with its hex fields of the right length
// (and its serial, which becomes the medium's serial and must agree with --serial); a
// disc's disc:v2-FORMAT:SIGNATURE with 64 hex digits; usb and disk keys with their
// fields.
func checkKey(id media.Identity, prefix string, parts []string) (media.Identity, error) {
	bad := func() (media.Identity, error) {
		return id, badRequest("usage.key-form", id.Key, id.Kind, keyForms[prefix])
	}
	switch prefix {
	case "mmc":
		if !hex6RE.MatchString(parts[0]) || !hex4RE.MatchString(parts[1]) || parts[2] == "" || !hex8RE.MatchString(parts[3]) {
			return bad()
		}
		serial := "0x" + parts[3]
		if id.Serial != "" && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(id.Serial), "0x"), parts[3]) {
			return id, badRequest("usage.key-serial", id.Key, id.Serial)
		}
		id.Serial, id.VendorID, id.ProductID = serial, parts[0], parts[2]
	case "disc":
		if identity.IsLegacyDiscKey(id.Key) {
			return id, badRequest("usage.disc-v1-key", id.Key)
		}
		if !discFormatRE.MatchString(parts[0]) || !sha256RE.MatchString(parts[1]) {
			return bad()
		}
	case "usb":
		if !hex4RE.MatchString(parts[0]) || !hex4RE.MatchString(parts[1]) {
			return bad()
		}
		id.VendorID, id.ProductID = parts[0], parts[1]
	case "wwn":
		if k, ok := identity.WWNKey(parts[0]); !ok || k != id.Key {
			return bad()
		}
		id.WWN = parts[0]
	case "disk", "nvme":
		for _, p := range parts {
			if p == "" {
				return bad()
			}
		}
	}
	return id, nil
}

// keyForms describes each key's form for the message of a malformed one.
var keyForms = map[string]string{
	"mmc":  "mmc:MANFID(6 hex):OEMID(4 hex):NAME:SERIAL(8 hex)",
	"disc": "disc:v2-iso9660|v2-udf:SIGNATURE(64 hex)",
	"usb":  "usb:VID(4 hex):PID(4 hex):SERIAL",
	"wwn":  "wwn:0x(16 or 32 hex)",
	"disk": "disk:MODEL:SERIAL",
	"nvme": "nvme:WWID",
}

// HasExtraIdentity reports whether an identity binds both capacity and descriptor hash
// (USB) or capacity (other kinds): what a weak or shared serial needs before it may be
// registered.
func HasExtraIdentity(id media.Identity) bool {
	if id.Capacity <= 0 {
		return false
	}
	if strings.HasPrefix(id.Key, "usb:") {
		return id.DescriptorHash != ""
	}
	return true
}

// RegisterRequest registers one medium.
type RegisterRequest struct {
	Identity     media.Identity // read from the device, or IdentityFromFields
	Level        media.Level
	Custodian    string // person handle
	Department   string // default: the custodian's
	Number       string // default: the next from the numbering pattern
	Note         string
	ReadOnly     bool
	AllowedHosts []string
	// FormerKey is the key an earlier release identified this medium by (a disc's
	// version 1 key, read from the device). A medium registered under it is the same
	// medium: registering it again would give it two numbers.
	FormerKey string
	// The fields of the paper register: brand and model (filled from the device when
	// read from it), capacity as stated ("32GB"), purpose or scope of use, date put
	// into service (YYYY-MM-DD).
	Model, CapacityText, Purpose, InService string
}

// RegisterResult is the registered medium.
type RegisterResult struct {
	Medium media.Medium
	// WeakSerial is why the serial is weak when it was accepted only because extra
	// identity is bound ("" when the serial is good).
	WeakSerial string
	// Weak is the serial's quality when WeakSerial is set, for messages.
	Weak identity.Quality
}

// Register registers a medium. A weak serial (empty, repeated, known bogus) or one
// already registered under another identity is refused unless extra identity is bound
// (HasExtraIdentity); optical discs, WWN and NVMe identities carry no serial rule.
func (s *Service) Register(ctx context.Context, r RegisterRequest) (RegisterResult, error) {
	reg, res, err := s.checkRegistration(ctx, r)
	if err != nil {
		return RegisterResult{}, err
	}
	m, err := s.store.Register(ctx, reg)
	if err != nil {
		return RegisterResult{}, err
	}
	s.changed(ctx)
	res.Medium = m
	return res, nil
}

// checkRegistration applies the rules of registration that need the register but no
// transaction (kind, level, hosts, the disc and baseline rules, the serial rule) and
// returns the registration to write.
func (s *Service) checkRegistration(ctx context.Context, r RegisterRequest) (Registration, RegisterResult, error) {
	id := r.Identity
	if !id.Kind.Valid() {
		return Registration{}, RegisterResult{}, badRequest("err.unknown-kind", string(id.Kind))
	}
	if !r.Level.Valid() {
		return Registration{}, RegisterResult{}, badRequest("err.unknown-level", r.Level.String())
	}
	if id.Capacity < 0 {
		return Registration{}, RegisterResult{}, badRequest("usage.capacity")
	}
	if id.DescriptorHash != "" && !sha256RE.MatchString(id.DescriptorHash) {
		return Registration{}, RegisterResult{}, badRequest("usage.descriptor-hash")
	}
	hosts, err := cleanHosts(r.AllowedHosts)
	if err != nil {
		return Registration{}, RegisterResult{}, err
	}
	if identity.IsLegacyDiscKey(id.Key) {
		return Registration{}, RegisterResult{}, badRequest("usage.disc-v1-key", id.Key)
	}
	if r.FormerKey != "" {
		m, err := s.store.MediumByIdentity(ctx, r.FormerKey)
		switch {
		case err == nil:
			return Registration{}, RegisterResult{}, refused("err.dup-disc-v1", m.Number, r.FormerKey)
		case !errors.Is(err, ErrNotFound):
			return Registration{}, RegisterResult{}, err
		}
	}
	// The host's own disks (its baseline) are not media: registering one would let it
	// be handed over, lent or checked in as if it could leave the host.
	switch h, err := s.store.Host(ctx); {
	case err == nil && slices.Contains(h.Baseline, id.Key):
		return Registration{}, RegisterResult{}, refused("err.baseline-disk", id.Key, h.Number)
	case err != nil && !errors.Is(err, ErrNoHost):
		return Registration{}, RegisterResult{}, err
	}
	var res RegisterResult
	if res.Weak, err = s.serialRule(ctx, id, ""); err != nil {
		return Registration{}, res, err
	}
	res.WeakSerial = res.Weak.Reason
	access := media.AccessReadWrite
	if r.ReadOnly {
		access = media.AccessReadOnly
	}
	return Registration{Number: r.Number, Identity: id, Level: r.Level, Custodian: r.Custodian,
		Department: r.Department, Access: access, Note: r.Note, AllowedHosts: hosts, Model: r.Model, CapacityText: r.CapacityText,
		Purpose: r.Purpose, InService: r.InService}, res, nil
}

// serialRule applies the serial rules of registration to an identity: a weak serial
// (empty, repeated, known bogus) or one already registered under another identity
// (of a medium other than self) is refused unless extra identity is bound
// (HasExtraIdentity); optical discs, WWN and NVMe identities carry no serial rule.
// It returns the serial's quality when a weak serial was accepted.
func (s *Service) serialRule(ctx context.Context, id media.Identity, self string) (identity.Quality, error) {
	if id.Kind == media.KindOpticalDisc || id.WWN != "" || strings.HasPrefix(id.Key, "nvme:") {
		return identity.Quality{}, nil
	}
	var weak identity.Quality
	q := identity.CheckSerial(id.Serial)
	if !q.Good {
		if !HasExtraIdentity(id) {
			return weak, refused("err.weak-serial", id.Serial, q)
		}
		weak = q
	}
	other, err := s.store.SerialInUse(ctx, id.Serial, id.Key)
	if err != nil {
		return weak, err
	}
	if other != "" && other != self && !HasExtraIdentity(id) {
		return weak, refused("err.serial-known", id.Serial, other)
	}
	return weak, nil
}

// Medium returns a registered medium.
func (s *Service) Medium(ctx context.Context, number string) (media.Medium, error) {
	return s.store.Medium(ctx, number)
}

// MediumByIdentity returns the medium registered with an identity key.
func (s *Service) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	return s.store.MediumByIdentity(ctx, key)
}

// ListMedia lists media by number. A filter naming a custodian who is not registered
// is refused (err.filter-unknown), not answered with an empty list.
func (s *Service) ListMedia(ctx context.Context, f MediaFilter) ([]media.Medium, error) {
	if f.Custodian != "" {
		if err := s.knownPerson(ctx, "custodian", f.Custodian); err != nil {
			return nil, err
		}
	}
	return s.store.ListMedia(ctx, f)
}

// OverdueLoans lists the lent media whose return date has passed, by number.
func (s *Service) OverdueLoans(ctx context.Context, f MediaFilter) ([]media.Medium, error) {
	f.Status = media.StatusLent
	list, err := s.ListMedia(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	return slices.DeleteFunc(list, func(m media.Medium) bool { return !m.DueAt.Before(now) }), nil
}

// knownPerson refuses a filter naming a person who is not registered.
func (s *Service) knownPerson(ctx context.Context, flag, handle string) error {
	_, err := s.store.Person(ctx, handle)
	if errors.Is(err, ErrNotFound) {
		return badRequest("err.filter-unknown", flag, handle)
	}
	return err
}

// MediumHistory is a medium with its audit rows.
type MediumHistory struct {
	Medium  media.Medium
	History []*audit.Event
	// Mounts are the medium's mount rows in the logs the office collected from its
	// hosts, each with its host's number in Origin (none on a host's own register).
	Mounts []*audit.Event `json:",omitempty"`
}

// ShowMedium returns a medium with its history.
func (s *Service) ShowMedium(ctx context.Context, number string) (MediumHistory, error) {
	m, err := s.store.Medium(ctx, number)
	if err != nil {
		return MediumHistory{}, err
	}
	h, err := s.store.Events(ctx, EventFilter{Medium: m.Number})
	if err != nil {
		return MediumHistory{}, err
	}
	mounts, err := s.store.SearchEvents(ctx, EventQuery{EventFilter: EventFilter{Medium: m.Number, Kind: "mount."}, NoOwn: true})
	if err != nil {
		return MediumHistory{}, err
	}
	return MediumHistory{Medium: m, History: h, Mounts: mounts}, nil
}

// HandoverRequest hands a medium to a new custodian before a witness.
type HandoverRequest struct {
	Number, To, Witness, Note string
}

// Handover records the signed handover of a medium to a new custodian.
func (s *Service) Handover(ctx context.Context, r HandoverRequest) (media.Medium, error) {
	if err := need(map[string]string{"number": r.Number, "to": r.To, "witness": r.Witness}); err != nil {
		return media.Medium{}, err
	}
	return s.apply(ctx, func() (media.Medium, error) { return s.store.Handover(ctx, r.Number, r.To, r.Witness, r.Note) })
}

// LendRequest lends a medium to another person until Due.
type LendRequest struct {
	Number, To string
	Due        time.Time
	ApprovedBy string
	Note       string
}

// Lend records an approved loan. The approver is neither the custodian nor the
// borrower (the loan form's two signatures).
func (s *Service) Lend(ctx context.Context, r LendRequest) (media.Medium, error) {
	if err := need(map[string]string{"number": r.Number, "to": r.To, "approved-by": r.ApprovedBy}); err != nil {
		return media.Medium{}, err
	}
	if r.Due.IsZero() {
		return media.Medium{}, badRequest("usage.required", "due")
	}
	m, err := s.store.Medium(ctx, r.Number)
	if err != nil {
		return media.Medium{}, err
	}
	if err := distinct(m, duty{roleApprover, r.ApprovedBy}, duty{roleCustodian, m.Custodian}, duty{roleBorrower, r.To}); err != nil {
		return media.Medium{}, err
	}
	return s.apply(ctx, func() (media.Medium, error) {
		return s.store.Lend(ctx, r.Number, r.To, r.Due, r.ApprovedBy, r.Note)
	})
}

// ReturnRequest ends a loan.
type ReturnRequest struct{ Number, Note string }

// Return records that a lent medium came back.
func (s *Service) Return(ctx context.Context, r ReturnRequest) (media.Medium, error) {
	if err := need(map[string]string{"number": r.Number}); err != nil {
		return media.Medium{}, err
	}
	return s.apply(ctx, func() (media.Medium, error) { return s.store.Return(ctx, r.Number, r.Note) })
}

// StatusChange is a simple change of a medium's status.
type StatusChange string

// The simple status changes.
const (
	ChangeLost     StatusChange = "lost"
	ChangeFound    StatusChange = "found"
	ChangeRepair   StatusChange = "repair"
	ChangeRepaired StatusChange = "repaired"
	ChangeDestroy  StatusChange = "destroy"
	ChangeRetire   StatusChange = "retire"
)

// statusChanges says, for each simple change, the status it leads to, the audit kind
// and which people it needs named.
var statusChanges = map[StatusChange]struct {
	to                        media.Status
	act                       media.Action
	kind                      event.Kind
	approver, witness, method bool
	repairer                  bool // repairer and place
}{
	ChangeLost:     {media.StatusLost, media.ActLose, event.KindMediumLost, false, false, false, false},
	ChangeFound:    {media.StatusActive, media.ActFound, event.KindMediumFound, false, false, false, false},
	ChangeRepair:   {media.StatusRepair, media.ActRepair, event.KindMediumRepair, true, false, false, true},
	ChangeRepaired: {media.StatusActive, media.ActRepaired, event.KindMediumRepaired, false, false, false, false},
	ChangeDestroy:  {media.StatusDestroyed, media.ActDestroy, event.KindMediumDestroy, true, true, true, false},
	ChangeRetire:   {media.StatusRetired, media.ActRetire, event.KindMediumRetire, false, false, false, false},
}

// StatusRequest is one simple status change. Repair needs ApprovedBy, Repairer and
// Place; destroy needs ApprovedBy, Witness and Method.
type StatusRequest struct {
	Number     string
	Change     StatusChange
	ApprovedBy string
	Witness    string
	Method     string
	Note       string
	// Repairer and Place: who repairs the medium and where (repair).
	Repairer, Place string
}

// SetStatus applies a simple status change; the status table (media.CheckTransition)
// refuses what may not happen.
func (s *Service) SetStatus(ctx context.Context, r StatusRequest) (media.Medium, error) {
	sc, ok := statusChanges[r.Change]
	if !ok {
		return media.Medium{}, badRequest("usage.change", string(r.Change))
	}
	req := map[string]string{"number": r.Number}
	if sc.approver {
		req["approved-by"] = r.ApprovedBy
	}
	if sc.witness {
		req["witness"] = r.Witness
	}
	if sc.method {
		req["method"] = r.Method
	}
	if sc.repairer {
		req["repairer"], req["place"] = r.Repairer, r.Place
	}
	if err := need(req); err != nil {
		return media.Medium{}, err
	}
	// The status table names the action of each change: a medium in the vault comes
	// out by issue, not by "found" or "repaired"; a lost one is found, not repaired.
	// (The store checks the target status again inside its transaction.)
	m, err := s.store.Medium(ctx, r.Number)
	if err != nil {
		return media.Medium{}, err
	}
	if act, ok := media.ActionOf(m.Status, sc.to); ok && act != sc.act {
		return media.Medium{}, &StoreError{Kind: ErrTransition, Code: "transition.action", Args: []any{m.Number, m.Status, sc.to, string(act), string(r.Change)}}
	}
	// Separation of duties, as the paper forms' signatures: the approver is not the
	// custodian; a destruction's witness is neither of them.
	switch {
	case sc.witness:
		if err := distinct(m, duty{roleApprover, r.ApprovedBy}, duty{roleCustodian, m.Custodian}, duty{roleWitness, r.Witness}); err != nil {
			return media.Medium{}, err
		}
	case sc.approver:
		if err := distinct(m, duty{roleApprover, r.ApprovedBy}, duty{roleCustodian, m.Custodian}); err != nil {
			return media.Medium{}, err
		}
	}
	details := event.MediumStatus{ApprovedBy: r.ApprovedBy, Method: strings.TrimSpace(r.Method), Note: r.Note, Witness: r.Witness}
	if sc.repairer {
		details.Repairer, details.Place = strings.TrimSpace(r.Repairer), strings.TrimSpace(r.Place)
	}
	var people []string
	if r.ApprovedBy != "" {
		people = append(people, r.ApprovedBy)
	}
	if r.Witness != "" {
		people = append(people, r.Witness)
	}
	return s.apply(ctx, func() (media.Medium, error) {
		return s.store.SetStatus(ctx, r.Number, sc.to, sc.kind, details, people...)
	})
}

// RelevelRequest raises a medium's level.
type RelevelRequest struct {
	Number string
	Level  media.Level
	Note   string
}

// Relevel raises a medium's level; a level is never lowered.
func (s *Service) Relevel(ctx context.Context, r RelevelRequest) (media.Medium, error) {
	if err := need(map[string]string{"number": r.Number}); err != nil {
		return media.Medium{}, err
	}
	if !r.Level.Valid() {
		return media.Medium{}, badRequest("err.unknown-level", r.Level.String())
	}
	return s.apply(ctx, func() (media.Medium, error) { return s.store.Relevel(ctx, r.Number, r.Level, r.Note) })
}

// IssueRequest issues a medium from the vault to a custodian.
type IssueRequest struct{ Number, To, Note string }

// Issue takes a medium out of the vault (in-vault → active). A medium checked in to a
// campaign still open cannot be issued.
func (s *Service) Issue(ctx context.Context, r IssueRequest) (media.Medium, error) {
	if err := need(map[string]string{"number": r.Number, "to": r.To}); err != nil {
		return media.Medium{}, err
	}
	return s.apply(ctx, func() (media.Medium, error) { return s.store.Issue(ctx, r.Number, r.To, r.Note) })
}

// apply runs one change of a medium and tells the hook when it committed.
func (s *Service) apply(ctx context.Context, f func() (media.Medium, error)) (media.Medium, error) {
	m, err := f()
	if err != nil {
		return media.Medium{}, err
	}
	s.changed(ctx)
	return m, nil
}

// cleanHosts checks the host numbers a medium is limited to: each non-empty, at most
// 64 bytes, without control or format characters (media.UnsafeRune); at most 256.
func cleanHosts(in []string) ([]string, error) {
	if len(in) > 256 {
		return nil, badRequest("usage.allowed-host", fmt.Sprintf("%d hosts", len(in)))
	}
	var out []string
	for _, h := range in {
		c := strings.TrimSpace(h)
		if _, unsafe := media.UnsafeRune(c); c == "" || len(c) > 64 || unsafe {
			return nil, badRequest("usage.allowed-host", h)
		}
		out = append(out, c)
	}
	return out, nil
}

// The roles of the people a form names, as catalogue phrases.
var (
	roleApprover  = Phrase{Code: "role.approver"}
	roleCustodian = Phrase{Code: "role.custodian"}
	roleBorrower  = Phrase{Code: "role.borrower"}
	roleWitness   = Phrase{Code: "role.witness"}
)

// duty is one signature of a form: the role and the person's handle.
type duty struct {
	role   Phrase
	person string
}

// distinct refuses one person in two roles of the same form (err.duty-same): an
// approver who is the custodian signs for himself.
func distinct(m media.Medium, duties ...duty) error {
	for i, a := range duties {
		for _, b := range duties[i+1:] {
			if strings.TrimSpace(a.person) != "" && strings.TrimSpace(a.person) == strings.TrimSpace(b.person) {
				return refused("err.duty-same", a.person, a.role, b.role, m.Number)
			}
		}
	}
	return nil
}

// need refuses a request with an empty required field (named as the flag is).
func need(fields map[string]string) error {
	for _, name := range []string{"number", "to", "witness", "approved-by", "method", "repairer", "place"} {
		if v, ok := fields[name]; ok && strings.TrimSpace(v) == "" {
			return badRequest("usage.required", name)
		}
	}
	return nil
}
