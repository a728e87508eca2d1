// Package service owns every operation on the register and its rules: registration
// with the identity and serial rules, the lifecycle of a medium, people, the host
// profile, numbering, the year-end check-in with the canonical bytes of its final
// report, and which changes make the daemon decide again.
//
// Every front-end calls it: the CLI, the daemon's vault station, and later the office
// server and spreadsheet import. Operations take typed requests and validate them as
// hostile input. The register itself is behind Store; OpenLocal opens the registry
// (an SQLite file, or a PostgreSQL database by URL) for the wiring (cli, daemon), which
// never needs the registry package.
package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// Store is the register the service works on. *registry.Store implements it; so will
// a PostgreSQL store and the client of an office server. Every change it makes is
// atomic with its audit row: a change either happened and is logged, or neither.
type Store interface {
	AddPerson(ctx context.Context, p media.Person) (media.Person, error)
	Person(ctx context.Context, handle string) (media.Person, error)
	ListPeople(ctx context.Context, all bool) ([]media.Person, error)
	UpdatePerson(ctx context.Context, handle string, u PersonUpdate) (media.Person, error)
	DeactivatePerson(ctx context.Context, handle string) error

	InitHost(ctx context.Context, h media.Host) (media.Host, error)
	Host(ctx context.Context) (media.Host, error)
	Numbering(ctx context.Context) (Numbering, error)
	SetNumbering(ctx context.Context, pattern string, codes map[media.Level]string) (Numbering, error)
	// NextNumbers is the number the next registration of each level gets now; it
	// takes none.
	NextNumbers(ctx context.Context) (map[media.Level]string, error)

	Register(ctx context.Context, r Registration) (media.Medium, error)
	Medium(ctx context.Context, number string) (media.Medium, error)
	MediumByIdentity(ctx context.Context, key string) (media.Medium, error)
	// UpgradeIdentityKey moves a registration from an identity key of an earlier
	// release to the current one, with its audit row (a disc's version 1 key).
	UpgradeIdentityKey(ctx context.Context, oldKey, newKey string) (media.Medium, error)
	ListMedia(ctx context.Context, f MediaFilter) ([]media.Medium, error)
	SerialInUse(ctx context.Context, serial, exceptKey string) (string, error)
	Handover(ctx context.Context, number, to, witness, note string) (media.Medium, error)
	Lend(ctx context.Context, number, to string, due time.Time, approvedBy, note string) (media.Medium, error)
	Return(ctx context.Context, number, note string) (media.Medium, error)
	SetStatus(ctx context.Context, number string, to media.Status, kind event.Kind, details event.MediumStatus, people ...string) (media.Medium, error)
	Relevel(ctx context.Context, number string, level media.Level, note string) (media.Medium, error)
	Issue(ctx context.Context, number, to, note string) (media.Medium, error)
	// Import registers the people and media of an imported register and its summary
	// row, all in one transaction; a refused medium is named in an *ImportError.
	Import(ctx context.Context, b ImportBatch) ([]media.Medium, error)
	// BindIdentity gives a medium whose identity is pending the identity read from
	// its device, with its medium.bind row.
	BindIdentity(ctx context.Context, number string, id media.Identity, model string, station bool) (media.Medium, error)

	// RecordEvent writes a free-standing row; details must be kind's type in package
	// event.
	RecordEvent(ctx context.Context, kind event.Kind, medium string, details any) (*audit.Event, error)
	Events(ctx context.Context, f EventFilter) ([]*audit.Event, error)
	SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error)
	VerifyLog(ctx context.Context) (int64, error)
	OpenMounts(ctx context.Context) ([]OpenMount, error)

	OpenCampaign(ctx context.Context, year int, deadline time.Time) (checkin.Campaign, int, error)
	OpenCampaignNow(ctx context.Context) (checkin.Campaign, error)
	Campaign(ctx context.Context, year int) (checkin.Campaign, error)
	CampaignItems(ctx context.Context, campaignID string) ([]checkin.Item, error)
	CheckInManual(ctx context.Context, m ManualCheckIn) (checkin.CheckIn, error)
	CheckInPlugged(ctx context.Context, number string, seen media.Identity, cabinet, slot string) (checkin.CheckIn, error)
	RefuseCheckIn(ctx context.Context, number string, seen media.Identity, reason string) error
	CheckInsSince(ctx context.Context, campaignID string, seq int64) ([]checkin.CheckIn, error)
	Outstanding(ctx context.Context, campaignID, custodian string) (total, ofCustodian int, err error)
	CloseCampaign(ctx context.Context, report func(c checkin.Campaign, items []checkin.Item) ([]byte, error)) (CloseResult, error)
	FinalReport(ctx context.Context, year int) ([]byte, checkin.Campaign, error)
}

// The value types of the Store, defined with the SQLite registry today. They are plain
// structs without SQL types; front-ends name them through this package.
type (
	PersonUpdate  = registry.PersonUpdate
	Numbering     = registry.Numbering
	Registration  = registry.Registration
	MediaFilter   = registry.MediaFilter
	EventFilter   = registry.EventFilter
	EventQuery    = registry.EventQuery
	OpenMount     = registry.OpenMount
	ManualCheckIn = registry.ManualCheckIn
	CloseResult   = registry.CloseResult
	ImportBatch   = registry.ImportBatch
	ImportError   = registry.ImportError
	// StoreError is a store refusal about one subject; it wraps one of the Err…
	// sentinels below.
	StoreError = registry.Error
)

// DefaultPattern is the numbering pattern of a new register.
const DefaultPattern = registry.DefaultPattern

// PendingKeyPrefix starts the placeholder identity key of a medium whose identity is
// pending.
const PendingKeyPrefix = registry.PendingKeyPrefix

// Sentinels of store refusals, for errors.Is.
var (
	ErrNotFound          = registry.ErrNotFound
	ErrDuplicateHandle   = registry.ErrDuplicateHandle
	ErrDuplicateNumber   = registry.ErrDuplicateNumber
	ErrDuplicateIdentity = registry.ErrDuplicateIdentity
	ErrNoHost            = registry.ErrNoHost
	ErrInactivePerson    = registry.ErrInactivePerson
	ErrPersonHoldsMedia  = registry.ErrPersonHoldsMedia
	ErrRelevelDown       = registry.ErrRelevelDown
	ErrBadPattern        = registry.ErrBadPattern
	ErrInvalid           = registry.ErrInvalid
	ErrTransition        = registry.ErrTransition

	ErrNoCampaign        = registry.ErrNoCampaign
	ErrCampaignExists    = registry.ErrCampaignExists
	ErrCampaignOpen      = registry.ErrCampaignOpen
	ErrCampaignClosed    = registry.ErrCampaignClosed
	ErrNotExpected       = registry.ErrNotExpected
	ErrAlreadyCheckedIn  = registry.ErrAlreadyCheckedIn
	ErrIdentityDiffers   = registry.ErrIdentityDiffers
	ErrCheckedInCampaign = registry.ErrCheckedInCampaign
)

// Kinds of *Error.
var (
	// ErrBadRequest: the request itself is malformed (a missing or ill-formed field);
	// a front-end reports it as a usage error.
	ErrBadRequest = errors.New("bad request")
	// ErrRefused: the request is well-formed but a rule of the register refuses it.
	ErrRefused = errors.New("refused")
)

// Error is a refusal by a rule of the service. Code names the message in the
// catalogue (internal/catalog, e.g. "err.weak-serial"); Args are its arguments.
// badRequest and refused take the code as a string literal: the catalogue's test
// finds every code the service can return by reading the calls.
type Error struct {
	Kind error // ErrBadRequest (or ErrNoRegister, one of them) or ErrRefused
	Code string
	Args []any
}

func (e *Error) Error() string {
	if len(e.Args) == 0 {
		return fmt.Sprintf("%s: %s", e.Kind, e.Code)
	}
	return fmt.Sprintf("%s: %s %v", e.Kind, e.Code, e.Args)
}

func (e *Error) Unwrap() error { return e.Kind }

// MessageCode returns the catalogue key and its arguments.
func (e *Error) MessageCode() (string, []any) { return e.Code, e.Args }

// Phrase is a part of a message that the catalogue renders in the reader's language,
// such as why a plugged medium was refused: Code is its key, Args its arguments.
type Phrase struct {
	Code string
	Args []any
}

// MessageCode returns the catalogue key and its arguments.
func (p Phrase) MessageCode() (string, []any) { return p.Code, p.Args }

// String describes the phrase for logs.
func (p Phrase) String() string { return fmt.Sprintf("%s %v", p.Code, p.Args) }

func badRequest(code string, args ...any) error {
	return &Error{Kind: ErrBadRequest, Code: code, Args: args}
}
func refused(code string, args ...any) error { return &Error{Kind: ErrRefused, Code: code, Args: args} }

// Config configures a Service.
type Config struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is where a date without a time is read (default time.Local).
	Location *time.Location
	// Changed is called after a committed change that can alter the daemon's decision
	// about a medium already plugged in (registration, status, level, host profile,
	// check-in plug and close). The CLI asks the running daemon to rescan; nil does
	// nothing. It is never called for reads or refused changes.
	Changed func(ctx context.Context)
}

// Service runs the operations of the register on a Store.
type Service struct {
	store Store
	cfg   Config
}

// New returns a service on store.
func New(store Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	return &Service{store: store, cfg: cfg}
}

// Store is the register the service works on (for the daemon's wiring).
func (s *Service) Store() Store { return s.store }

// changed tells the hook that a committed change may alter a decision.
func (s *Service) changed(ctx context.Context) {
	if s.cfg.Changed != nil {
		s.cfg.Changed(ctx)
	}
}

// EndOfDay is the last instant of the day of t in the service's location.
func (s *Service) EndOfDay(year int, month time.Month, day int) time.Time {
	return media.EndOfDay(time.Date(year, month, day, 0, 0, 0, 0, s.cfg.Location))
}
