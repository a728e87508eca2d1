package service

import (
	"context"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/media"
)

// API is the operations a front-end calls: *Service runs them on a register, and the
// office server's remote client (internal/office/remote) sends them to the server,
// where a *Service runs them. The CLI holds an API, so its code path is the same
// either way and the rules are the register's.
type API interface {
	AddPerson(ctx context.Context, p media.Person) (media.Person, error)
	Person(ctx context.Context, handle string) (media.Person, error)
	ListPeople(ctx context.Context, all bool) ([]media.Person, error)
	ShowPerson(ctx context.Context, handle string) (PersonMedia, error)
	UpdatePerson(ctx context.Context, handle string, u PersonUpdate) (media.Person, error)
	DeactivatePerson(ctx context.Context, handle string) error

	InitHost(ctx context.Context, r HostRequest) (media.Host, error)
	Host(ctx context.Context) (media.Host, error)
	Numbering(ctx context.Context) (Numbering, error)
	SetNumbering(ctx context.Context, pattern string, codes map[media.Level]string) (Numbering, error)
	Events(ctx context.Context, f EventFilter) ([]*audit.Event, error)
	SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error)
	VerifyLog(ctx context.Context) (int64, error)

	Register(ctx context.Context, r RegisterRequest) (RegisterResult, error)
	Bind(ctx context.Context, r BindRequest) (RegisterResult, error)
	Medium(ctx context.Context, number string) (media.Medium, error)
	MediumByIdentity(ctx context.Context, key string) (media.Medium, error)
	ListMedia(ctx context.Context, f MediaFilter) ([]media.Medium, error)
	ShowMedium(ctx context.Context, number string) (MediumHistory, error)
	Handover(ctx context.Context, r HandoverRequest) (media.Medium, error)
	Lend(ctx context.Context, r LendRequest) (media.Medium, error)
	Return(ctx context.Context, r ReturnRequest) (media.Medium, error)
	SetStatus(ctx context.Context, r StatusRequest) (media.Medium, error)
	Relevel(ctx context.Context, r RelevelRequest) (media.Medium, error)
	Issue(ctx context.Context, r IssueRequest) (media.Medium, error)
	SeenWhere(ctx context.Context, number string) ([]Seen, error)
	OverdueLoans(ctx context.Context, f MediaFilter) ([]media.Medium, error)
	NextNumbers(ctx context.Context) (map[media.Level]string, error)
	Summary(ctx context.Context) (Summary, error)

	OpenCampaign(ctx context.Context, r OpenCampaignRequest) (OpenCampaignResult, error)
	OpenCampaignNow(ctx context.Context) (checkin.Campaign, error)
	Campaign(ctx context.Context, year int) (checkin.Campaign, error)
	CampaignReport(ctx context.Context, year int, by checkin.GroupBy) (checkin.Report, error)
	CheckInManual(ctx context.Context, m ManualCheckIn) (CheckInResult, error)
	Outstanding(ctx context.Context, campaignID, custodian string) (total, ofCustodian int, err error)
	CheckInsSince(ctx context.Context, campaignID string, seq int64) ([]checkin.CheckIn, error)
	CheckInPlug(ctx context.Context, r PlugRequest) (PlugResult, error)
	PlanClose(ctx context.Context) (ClosePlan, error)
	CloseCampaign(ctx context.Context, r CloseRequest) (ClosedCampaign, error)
	FinalReport(ctx context.Context, year int) ([]byte, checkin.Campaign, error)
	EndOfDay(year int, month time.Month, day int) time.Time

	AddOfficeHost(ctx context.Context, r AddHostRequest) (AddHostResult, error)
	NewEnrolToken(ctx context.Context, number string, ttl time.Duration) (AddHostResult, error)
	UpdateOfficeHost(ctx context.Context, r UpdateHostRequest) (OfficeHost, error)
	OfficeHosts(ctx context.Context) ([]OfficeHost, error)
	ShowOfficeHost(ctx context.Context, number string) (OfficeHostView, error)
	RevokeOfficeHost(ctx context.Context, number, reason string) (OfficeHost, error)
	FreezeOfficeHost(ctx context.Context, number string, freeze bool, reason string) (OfficeHost, error)
	Requests(ctx context.Context, state string) ([]RegistrationRequest, error)
	ApproveRegistration(ctx context.Context, r ApproveRequest) (ApproveResult, error)
	RejectRegistration(ctx context.Context, id, reason string) (RegistrationRequest, error)
}

var _ API = (*Service)(nil)
