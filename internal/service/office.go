package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/registry"
)

// The office's register of classified hosts (mediagate server): its value types,
// defined with the SQLite registry.
type (
	OfficeHost          = registry.OfficeHost
	OfficeHostUpdate    = registry.OfficeHostUpdate
	Seen                = registry.Seen
	RegistrationRequest = registry.Request
	Officer             = registry.Officer
	PolicyVersion       = registry.PolicyVersion
)

// Request states.
const (
	RequestPending  = registry.RequestPending
	RequestApproved = registry.RequestApproved
	RequestRejected = registry.RequestRejected
)

// Sentinels of the office register.
var (
	ErrDuplicateHost  = registry.ErrDuplicateHost
	ErrBadToken       = registry.ErrBadToken
	ErrRequestDecided = registry.ErrRequestDecided
	// ErrNoOffice: the store has no office register (a store that is not the office's).
	ErrNoOffice = errors.New("this register keeps no office hosts")
)

// OfficeStore is the office's register of hosts. *registry.Store implements it; it is
// apart from Store so that a host's own register need not.
type OfficeStore interface {
	AddOfficeHost(ctx context.Context, h OfficeHost, tokenHash string, expires time.Time) (OfficeHost, error)
	AddEnrolToken(ctx context.Context, number, tokenHash string, expires time.Time) error
	OfficeHost(ctx context.Context, number string) (OfficeHost, error)
	ListOfficeHosts(ctx context.Context) ([]OfficeHost, error)
	UpdateOfficeHost(ctx context.Context, number string, u OfficeHostUpdate) (OfficeHost, error)
	Enrol(ctx context.Context, host, tokenHash, certSerial string, baseline []string, remote string) (OfficeHost, error)
	RevokeOfficeHost(ctx context.Context, number, reason string) (OfficeHost, error)
	// FreezeHost freezes (or thaws) the host with office id host, with its audit row.
	FreezeHost(ctx context.Context, host string, freeze bool, reason string) (registry.HostChain, error)
	HostContact(ctx context.Context, number, daemonState string, applied uint64, seen []Seen) error
	SeenOn(ctx context.Context, host string) ([]Seen, error)
	SeenWhere(ctx context.Context, medium string) ([]Seen, error)
	SetPolicyVersions(ctx context.Context, vs []PolicyVersion) error
	AddRequest(ctx context.Context, r RegistrationRequest) (RegistrationRequest, error)
	Request(ctx context.Context, id string) (RegistrationRequest, error)
	ListRequests(ctx context.Context, state string) ([]RegistrationRequest, error)
	DecideRequest(ctx context.Context, id string, approve bool, number, custodian, reason string) (RegistrationRequest, error)
	ApproveRequest(ctx context.Context, id string, reg Registration) (RegistrationRequest, media.Medium, error)
	AddOfficer(ctx context.Context, handle, certSerial string) (Officer, error)
	Officer(ctx context.Context, handle string) (Officer, error)
	MediaChangedSince(ctx context.Context, since time.Time) ([]media.Medium, error)
	StationCheckInOutcome(ctx context.Context, id string) (string, bool, error)
	RecordStationCheckIn(ctx context.Context, id, host, outcome string) error
}

func (s *Service) office() (OfficeStore, error) {
	o, ok := s.store.(OfficeStore)
	if !ok {
		return nil, ErrNoOffice
	}
	return o, nil
}

// DefaultTokenTTL is how long an enrolment token works.
const DefaultTokenTTL = 24 * time.Hour

// AddHostRequest records a classified computer in the office register.
type AddHostRequest struct {
	Number     string
	Level      media.Level
	Department string
	Location   string
	Custodian  string // person handle of the computer's custodian
	Mode       string // enforce (default) or audit
	LowerMedia string // read-only (default) or refuse
	// AllowClasses are extra USB peripheral classes (policy names); AllowDevices
	// extra peripherals as "VID:PID=cc/ss/pp+…" (pinned to the interfaces given).
	AllowClasses []string
	AllowDevices []string
	TokenTTL     time.Duration // default DefaultTokenTTL
	// VaultStation: the host checks media in to the office's campaign as they are
	// plugged (the vault station), reporting each check-in to the server.
	VaultStation bool
}

// AddHostResult is the recorded host and its one-time enrolment token (shown once;
// only its hash is kept).
type AddHostResult struct {
	Host    OfficeHost `json:"host"`
	Token   string     `json:"token"`
	Expires time.Time  `json:"expires"`
}

// AddOfficeHost records a host and issues its first enrolment token.
func (s *Service) AddOfficeHost(ctx context.Context, r AddHostRequest) (AddHostResult, error) {
	o, err := s.office()
	if err != nil {
		return AddHostResult{}, err
	}
	prof, err := s.hostProfile(r.Number, r.Level, r.Mode, r.LowerMedia, r.AllowClasses, r.AllowDevices)
	if err != nil {
		return AddHostResult{}, err
	}
	prof.Department, prof.VaultStation = r.Department, r.VaultStation
	token, hash := newToken()
	expires := s.tokenExpiry(r.TokenTTL)
	h, err := o.AddOfficeHost(ctx, OfficeHost{Host: prof, Location: r.Location, Custodian: r.Custodian}, hash, expires)
	if err != nil {
		return AddHostResult{}, err
	}
	s.changed(ctx)
	return AddHostResult{Host: h, Token: token, Expires: expires}, nil
}

func (s *Service) tokenExpiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return s.cfg.Now().Add(ttl).UTC()
}

// hostProfile checks the profile fields of an office host as InitHost does for a
// local one; allow-device entries must carry their interfaces (no device is
// plugged into the server to pin them to).
func (s *Service) hostProfile(number string, level media.Level, modeText, lowerText string, classes, devices []string) (media.Host, error) {
	if strings.TrimSpace(number) == "" {
		return media.Host{}, badRequest("usage.required", "number")
	}
	if !level.Valid() {
		return media.Host{}, badRequest("err.unknown-level", level.String())
	}
	if modeText == "" {
		modeText = string(media.ModeEnforce)
	}
	mode, err := media.ParseMode(modeText)
	if err != nil {
		return media.Host{}, badRequest("usage.mode", modeText)
	}
	lower, err := media.ParseLowerMedia(lowerText)
	if err != nil {
		return media.Host{}, badRequest("usage.lower-media", lowerText)
	}
	for _, d := range devices {
		if !strings.Contains(d, "=") {
			return media.Host{}, badRequest("usage.allow-interfaces", d)
		}
	}
	devs, pins, err := s.pinDevices(context.Background(), devices, nil)
	if err != nil {
		return media.Host{}, err
	}
	var cls []string
	for _, c := range classes {
		cls = append(cls, strings.ToLower(strings.TrimSpace(c)))
	}
	h := media.Host{Number: strings.TrimSpace(number), Level: level, Mode: mode, LowerMedia: lower, AllowClasses: cls,
		AllowDevices: devs, DevicePins: pins}
	if err := policy.CheckAllowLists(&h); err != nil {
		return media.Host{}, badRequest("err.allow-list", err)
	}
	return h, nil
}

// newToken returns a fresh enrolment token and its hash as stored.
func newToken() (token, hash string) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, TokenHash(token)
}

// TokenHash is how a token is stored and looked up: hex SHA-256.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewEnrolToken issues a new one-time token for a host (to enrol it again); earlier
// unused tokens stop working.
func (s *Service) NewEnrolToken(ctx context.Context, number string, ttl time.Duration) (AddHostResult, error) {
	o, err := s.office()
	if err != nil {
		return AddHostResult{}, err
	}
	token, hash := newToken()
	expires := s.tokenExpiry(ttl)
	if err := o.AddEnrolToken(ctx, number, hash, expires); err != nil {
		return AddHostResult{}, err
	}
	h, err := o.OfficeHost(ctx, number)
	return AddHostResult{Host: h, Token: token, Expires: expires}, err
}

// UpdateHostRequest changes an office host; empty fields stay as they are.
type UpdateHostRequest struct {
	Number     string
	Level      *media.Level
	Department *string
	Location   *string
	Custodian  *string
	Mode       string
	LowerMedia string
	// VaultStation, when set, makes the host a vault station or no longer one.
	VaultStation *bool
}

// UpdateOfficeHost changes a host's record (a relevel, a new custodian, the mode).
func (s *Service) UpdateOfficeHost(ctx context.Context, r UpdateHostRequest) (OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHost{}, err
	}
	u := OfficeHostUpdate{Level: r.Level, Department: r.Department, Location: r.Location, Custodian: r.Custodian,
		VaultStation: r.VaultStation}
	if r.Level != nil && !r.Level.Valid() {
		return OfficeHost{}, badRequest("err.unknown-level", r.Level.String())
	}
	if r.Mode != "" {
		m, err := media.ParseMode(r.Mode)
		if err != nil {
			return OfficeHost{}, badRequest("usage.mode", r.Mode)
		}
		u.Mode = &m
	}
	if r.LowerMedia != "" {
		l, err := media.ParseLowerMedia(r.LowerMedia)
		if err != nil {
			return OfficeHost{}, badRequest("usage.lower-media", r.LowerMedia)
		}
		u.LowerMedia = &l
	}
	h, err := o.UpdateOfficeHost(ctx, r.Number, u)
	if err != nil {
		return OfficeHost{}, err
	}
	s.changed(ctx)
	return h, nil
}

// OfficeHost returns a host of the office register.
func (s *Service) OfficeHost(ctx context.Context, number string) (OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHost{}, err
	}
	return o.OfficeHost(ctx, number)
}

// OfficeHosts lists the office's hosts.
func (s *Service) OfficeHosts(ctx context.Context) ([]OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return nil, err
	}
	return o.ListOfficeHosts(ctx)
}

// OfficeHostView is a host with the media seen there.
type OfficeHostView struct {
	Host OfficeHost `json:"host"`
	Seen []Seen     `json:"seen"`
}

// ShowOfficeHost returns a host and the media last seen on it.
func (s *Service) ShowOfficeHost(ctx context.Context, number string) (OfficeHostView, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHostView{}, err
	}
	h, err := o.OfficeHost(ctx, number)
	if err != nil {
		return OfficeHostView{}, err
	}
	seen, err := o.SeenOn(ctx, h.Number)
	return OfficeHostView{Host: h, Seen: seen}, err
}

// SeenWhere lists where a medium was last seen, newest first (empty outside an office).
func (s *Service) SeenWhere(ctx context.Context, number string) ([]Seen, error) {
	o, err := s.office()
	if err != nil {
		return nil, nil
	}
	return o.SeenWhere(ctx, number)
}

// EnrolRequest is a host proving its token to get its certificate.
type EnrolRequest struct {
	Host       string
	Token      string
	CertSerial string   // of the certificate about to be issued
	Baseline   []string // the host's internal disks, as it reports them
	Remote     string   // the caller's address, for the audit row
}

// Enrol spends a host's token; see registry.Store.Enrol. A refusal wraps ErrBadToken.
func (s *Service) Enrol(ctx context.Context, r EnrolRequest) (OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHost{}, err
	}
	if r.Token == "" || len(r.Token) > 256 {
		return OfficeHost{}, &StoreError{Kind: ErrBadToken, Code: "err.token-unknown"}
	}
	if len(r.Baseline) > 64 {
		return OfficeHost{}, badRequest("usage.baseline")
	}
	for _, b := range r.Baseline {
		if _, unsafe := media.UnsafeRune(b); b == "" || len(b) > 512 || unsafe {
			return OfficeHost{}, badRequest("usage.baseline")
		}
	}
	h, err := o.Enrol(ctx, r.Host, TokenHash(r.Token), r.CertSerial, r.Baseline, r.Remote)
	if err != nil {
		return OfficeHost{}, err
	}
	s.changed(ctx)
	return h, nil
}

// RevokeOfficeHost stops accepting a host's certificate.
func (s *Service) RevokeOfficeHost(ctx context.Context, number, reason string) (OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHost{}, err
	}
	h, err := o.RevokeOfficeHost(ctx, number, reason)
	if err != nil {
		return OfficeHost{}, err
	}
	s.changed(ctx)
	return h, nil
}

// FreezeOfficeHost freezes a host (freeze true) or thaws it. A frozen host's policy
// holds no media — every medium is blocked there — until it is thawed; its log is
// still collected. Officers freeze a host whose log the office caught tampered or
// rolled back, while they look into it (docs/office.md).
func (s *Service) FreezeOfficeHost(ctx context.Context, number string, freeze bool, reason string) (OfficeHost, error) {
	o, err := s.office()
	if err != nil {
		return OfficeHost{}, err
	}
	h, err := o.OfficeHost(ctx, number)
	if err != nil {
		return OfficeHost{}, err
	}
	if _, err := o.FreezeHost(ctx, h.ID, freeze, reason); err != nil {
		return OfficeHost{}, err
	}
	s.changed(ctx)
	return o.OfficeHost(ctx, number)
}

// HostReport is what a host reports about itself.
type HostReport struct {
	Daemon        string
	PolicyVersion uint64
	Seen          []Seen
}

// maxSeen bounds the sightings of one report.
const maxSeen = 1000

// RecordHostReport records a host's report (the host is the caller's certificate's).
func (s *Service) RecordHostReport(ctx context.Context, host string, r HostReport) error {
	o, err := s.office()
	if err != nil {
		return err
	}
	if len(r.Seen) > maxSeen {
		return badRequest("usage.too-many-seen", maxSeen)
	}
	state, err := cleanShort(r.Daemon, 32)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	for i := range r.Seen {
		v := &r.Seen[i]
		if v.Decision != "allow" && v.Decision != "block" {
			return badRequest("usage.decision", v.Decision)
		}
		if v.Medium, err = cleanShort(v.Medium, 64); err != nil {
			return err
		}
		if v.Key, err = cleanShort(v.Key, 512); err != nil {
			return err
		}
		if v.Reason, err = cleanShort(v.Reason, 200); err != nil {
			return err
		}
		// A host's clock may be wrong: a sighting is never dated in the server's future.
		if v.Time.IsZero() || v.Time.After(now) {
			v.Time = now
		}
	}
	return o.HostContact(ctx, host, state, r.PolicyVersion, r.Seen)
}

// cleanShort refuses control characters and text over max bytes.
func cleanShort(v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if _, unsafe := media.UnsafeRune(v); unsafe || len(v) > max {
		return "", badRequest("usage.bad-text", max)
	}
	return v, nil
}

// SubmitRequest is a registration request a host sends.
type SubmitRequest struct {
	Identity  media.Identity
	Level     media.Level
	Purpose   string
	Requester string
	Label     string
}

// SubmitRegistration records a registration request from host (the caller's
// certificate's). An identity already registered is refused.
func (s *Service) SubmitRegistration(ctx context.Context, host string, r SubmitRequest) (RegistrationRequest, error) {
	o, err := s.office()
	if err != nil {
		return RegistrationRequest{}, err
	}
	if !r.Identity.Kind.Valid() {
		return RegistrationRequest{}, badRequest("err.unknown-kind", string(r.Identity.Kind))
	}
	if !r.Level.Valid() {
		return RegistrationRequest{}, badRequest("err.unknown-level", r.Level.String())
	}
	if r.Identity.Key == "" {
		return RegistrationRequest{}, badRequest("usage.required", "identity")
	}
	for _, f := range []string{r.Identity.Key, r.Identity.Serial, r.Identity.VendorID, r.Identity.ProductID, r.Identity.WWN, r.Identity.DescriptorHash} {
		if _, err := cleanShort(f, 512); err != nil {
			return RegistrationRequest{}, err
		}
	}
	if len(r.Identity.InterfaceClasses) > 32 || r.Identity.Capacity < 0 {
		return RegistrationRequest{}, badRequest("usage.bad-identity")
	}
	if m, err := s.store.MediumByIdentity(ctx, r.Identity.Key); err == nil {
		return RegistrationRequest{}, refused("err.request-registered", m.Number)
	} else if !errors.Is(err, ErrNotFound) {
		return RegistrationRequest{}, err
	}
	return o.AddRequest(ctx, RegistrationRequest{Host: host, Identity: r.Identity, Level: r.Level, Purpose: r.Purpose,
		Requester: r.Requester, Label: r.Label})
}

// Requests lists registration requests; state "" lists all.
func (s *Service) Requests(ctx context.Context, state string) ([]RegistrationRequest, error) {
	o, err := s.office()
	if err != nil {
		return nil, err
	}
	switch state {
	case "", RequestPending, RequestApproved, RequestRejected:
	default:
		return nil, badRequest("usage.request-state", state)
	}
	return o.ListRequests(ctx, state)
}

// ApproveRequest approves a pending request: the medium is registered with the
// identity the host read, under the register's rules (Register), with the number and
// custodian the officer gives.
type ApproveRequest struct {
	ID         string
	Number     string // "" for the next number of the pattern
	Custodian  string
	Department string
	ReadOnly   bool
	Note       string
}

// ApproveResult is the decided request and the registered medium.
type ApproveResult struct {
	Request RegistrationRequest `json:"request"`
	Medium  media.Medium        `json:"medium"`
}

// ApproveRegistration registers the requested medium and closes the request.
func (s *Service) ApproveRegistration(ctx context.Context, r ApproveRequest) (ApproveResult, error) {
	o, err := s.office()
	if err != nil {
		return ApproveResult{}, err
	}
	if err := need(map[string]string{"number": r.ID}); err != nil {
		return ApproveResult{}, err
	}
	if strings.TrimSpace(r.Custodian) == "" {
		return ApproveResult{}, badRequest("usage.required", "custodian")
	}
	req, err := o.Request(ctx, r.ID)
	if err != nil {
		return ApproveResult{}, err
	}
	if req.State != RequestPending {
		return ApproveResult{}, &StoreError{Kind: ErrRequestDecided, Code: "err.request-decided", Args: []any{req.ID, req.State}}
	}
	note := r.Note
	if note == "" {
		note = strings.TrimSpace(req.Purpose)
	}
	// The registration's rules are Register's; the request, the medium, its number
	// and both audit rows are then written in one transaction.
	reg, _, err := s.checkRegistration(ctx, RegisterRequest{Identity: req.Identity, Level: req.Level, Custodian: r.Custodian,
		Department: r.Department, Number: r.Number, Note: note, ReadOnly: r.ReadOnly})
	if err != nil {
		return ApproveResult{}, err
	}
	done, m, err := o.ApproveRequest(ctx, req.ID, reg)
	if err != nil {
		return ApproveResult{}, err
	}
	s.changed(ctx)
	return ApproveResult{Request: done, Medium: m}, nil
}

// RejectRegistration rejects a pending request with a reason.
func (s *Service) RejectRegistration(ctx context.Context, id, reason string) (RegistrationRequest, error) {
	o, err := s.office()
	if err != nil {
		return RegistrationRequest{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return RegistrationRequest{}, badRequest("usage.required", "reason")
	}
	return o.DecideRequest(ctx, id, false, "", "", reason)
}

// ValidHandle reports whether h can be a person's or officer's handle (letters,
// digits, '.', '_', '-', starting with a letter or digit, at most 64 characters).
func ValidHandle(h string) bool { return registry.ValidHandle(h) }

// AddOfficer records an officer's certificate serial.
func (s *Service) AddOfficer(ctx context.Context, handle, certSerial string) (Officer, error) {
	if !ValidHandle(handle) {
		return Officer{}, badRequest("usage.officer-handle", handle)
	}
	o, err := s.office()
	if err != nil {
		return Officer{}, err
	}
	return o.AddOfficer(ctx, handle, certSerial)
}

// Officer returns an officer.
func (s *Service) Officer(ctx context.Context, handle string) (Officer, error) {
	o, err := s.office()
	if err != nil {
		return Officer{}, err
	}
	return o.Officer(ctx, handle)
}

// SetPolicyVersions records hosts' new policy versions (the server's policy book).
func (s *Service) SetPolicyVersions(ctx context.Context, vs []PolicyVersion) error {
	o, err := s.office()
	if err != nil {
		return err
	}
	return o.SetPolicyVersions(ctx, vs)
}

// MediaChangedSince lists the media registered or changed at or after since (the
// office server's policy computation reads only these between full reads).
func (s *Service) MediaChangedSince(ctx context.Context, since time.Time) ([]media.Medium, error) {
	o, err := s.office()
	if err != nil {
		return nil, err
	}
	return o.MediaChangedSince(ctx, since)
}

// RecordRefusal writes the audit row of a request the server refused.
func (s *Service) RecordRefusal(ctx context.Context, d event.OfficeRefused) error {
	_, err := s.store.RecordEvent(ctx, event.KindOfficeRefused, "", d)
	return err
}

// StationCheckIn is one check-in a vault station host reports: the identity it read
// from the device plugged there, under an id of the host's making (a report sent
// again is not recorded twice).
type StationCheckIn struct {
	ID     string
	Seen   media.Identity
	Device string // the device on the station, for messages
}

// Outcomes of a station's check-in, as StationCheckIns returns and keeps them.
const (
	StationCheckedIn  = "checked-in"
	StationAlready    = "already-checked-in"
	StationNoCampaign = "no-campaign"
	StationRefused    = "refused"     // by the check-in's rules; the audit row says why
	StationNotStation = "not-station" // the host is not a vault station
)

// StationOutcome is what became of one reported check-in.
type StationOutcome struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Number  string `json:"number,omitempty"`
	Code    string `json:"code,omitempty"` // the refusal's message code
}

// MaxStationCheckIns bounds the check-ins of one report.
const MaxStationCheckIns = 1000

// StationCheckIns records the check-ins a vault station host reported in the office's
// open campaign, each through CheckInPlug — the very rules of `checkin plug` and of a
// single host's vault station. A check-in whose id was recorded before gets its first
// outcome again and changes nothing. A host that is not a vault station has its
// check-ins refused (and recorded, so that a retry is not refused again with a row).
func (s *Service) StationCheckIns(ctx context.Context, host string, cis []StationCheckIn) ([]StationOutcome, error) {
	o, err := s.office()
	if err != nil {
		return nil, err
	}
	if len(cis) > MaxStationCheckIns {
		return nil, badRequest("err.too-many", "checkins", MaxStationCheckIns)
	}
	h, err := o.OfficeHost(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]StationOutcome, 0, len(cis))
	for _, ci := range cis {
		if ci.ID == "" || len(ci.ID) > 64 {
			return out, badRequest("err.station-checkin-id")
		}
		if prev, done, err := o.StationCheckInOutcome(ctx, ci.ID); err != nil {
			return out, err
		} else if done {
			out = append(out, StationOutcome{ID: ci.ID, Outcome: prev})
			continue
		}
		res := StationOutcome{ID: ci.ID}
		if !h.VaultStation {
			res.Outcome = StationNotStation
		} else {
			got, err := s.CheckInPlug(ctx, PlugRequest{Seen: ci.Seen, Device: host + ":" + clipDevice(ci.Device)})
			var se *StoreError
			var e *Error
			switch {
			case err == nil:
				res.Outcome, res.Number = StationCheckedIn, got.CheckIn.Number
			case errors.Is(err, ErrNoCampaign):
				res.Outcome = StationNoCampaign
			case errors.Is(err, ErrAlreadyCheckedIn):
				res.Outcome = StationAlready
			case errors.As(err, &e):
				res.Outcome, res.Code = StationRefused, e.Code
			case errors.As(err, &se), errors.Is(err, ErrNotExpected):
				res.Outcome = StationRefused
				if se != nil {
					res.Code = se.Code
				}
			default:
				return out, err
			}
		}
		if err := o.RecordStationCheckIn(ctx, ci.ID, host, res.Outcome); err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func clipDevice(d string) string {
	if len(d) > 200 {
		return d[:200]
	}
	return d
}
