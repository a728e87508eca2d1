// Package remote is the officer's client of the office server: service.API over
// HTTPS with the officer's client certificate. Each method is one officer operation
// (POST /v1/officer/<op>); the server runs the service's method with its rules, and
// a refusal comes back as the error the service returned (same kind, code and
// arguments), so the CLI prints and exits as it would locally.
package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/media"
	"mediagate/internal/office/wire"
	"mediagate/internal/service"
)

// Client calls an office server.
type Client struct {
	base string
	http *http.Client
}

var _ service.API = (*Client)(nil)

// Files are the officer's credentials: the office CA (to check the server), and the
// officer's certificate and key (PEM files).
type Files struct {
	CA, Cert, Key string
}

// New returns a client of the server at rawURL (https://host:port).
func New(rawURL string, f Files) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("office server %q: want https://host:port", rawURL)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("office CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("office CA %s: no certificate", f.CA)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("officer certificate: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: []tls.Certificate{cert}}
	return &Client{base: strings.TrimRight(u.String(), "/"),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ResponseHeaderTimeout: 60 * time.Second}, Timeout: 5 * time.Minute}}, nil
}

// maxAnswer bounds an answer read from the server.
const maxAnswer = 256 << 20

// call sends one operation.
func (c *Client) call(ctx context.Context, op string, req, res any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("office %s: %w", op, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+wire.PathOfficer+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &wire.OfficeError{Code: "office.unreachable", Args: []any{c.base, err.Error()}, Message: "office server " + c.base + " unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("office %s: read answer: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e wire.Error
		if json.Unmarshal(b, &e) != nil || e.Kind == "" {
			return fmt.Errorf("office %s: HTTP %d", op, resp.StatusCode)
		}
		return e.Err()
	}
	if res == nil {
		return nil
	}
	if err := json.Unmarshal(b, res); err != nil {
		return fmt.Errorf("office %s: answer: %w", op, err)
	}
	return nil
}

func do[Res any](c *Client, ctx context.Context, op string, req any) (Res, error) {
	var res Res
	err := c.call(ctx, op, req, &res)
	return res, err
}

// ErrLocalOnly is returned for operations that belong to a host, not the office.
var ErrLocalOnly = errors.New("this operation is on the host itself, not the office server")

func (c *Client) AddPerson(ctx context.Context, p media.Person) (media.Person, error) {
	return do[media.Person](c, ctx, wire.OpAddPerson, p)
}
func (c *Client) Person(ctx context.Context, handle string) (media.Person, error) {
	return do[media.Person](c, ctx, wire.OpPerson, wire.Handle{Handle: handle})
}
func (c *Client) ListPeople(ctx context.Context, all bool) ([]media.Person, error) {
	return do[[]media.Person](c, ctx, wire.OpListPeople, wire.All{All: all})
}
func (c *Client) ShowPerson(ctx context.Context, handle string) (service.PersonMedia, error) {
	return do[service.PersonMedia](c, ctx, wire.OpShowPerson, wire.Handle{Handle: handle})
}
func (c *Client) UpdatePerson(ctx context.Context, handle string, u service.PersonUpdate) (media.Person, error) {
	return do[media.Person](c, ctx, wire.OpUpdatePerson, wire.UpdatePerson{Handle: handle, Update: u})
}
func (c *Client) DeactivatePerson(ctx context.Context, handle string) error {
	_, err := do[wire.Empty](c, ctx, wire.OpDeactivatePerson, wire.Handle{Handle: handle})
	return err
}

// InitHost is refused: a host's profile is set on the host (host init), or for an
// office host with server host add.
func (c *Client) InitHost(ctx context.Context, r service.HostRequest) (media.Host, error) {
	return media.Host{}, &wire.OfficeError{Code: "office.local-only", Message: ErrLocalOnly.Error()}
}
func (c *Client) Host(ctx context.Context) (media.Host, error) {
	return do[media.Host](c, ctx, wire.OpHost, wire.Empty{})
}
func (c *Client) Numbering(ctx context.Context) (service.Numbering, error) {
	return do[service.Numbering](c, ctx, wire.OpNumbering, wire.Empty{})
}
func (c *Client) SetNumbering(ctx context.Context, pattern string, codes map[media.Level]string) (service.Numbering, error) {
	return do[service.Numbering](c, ctx, wire.OpSetNumbering, wire.SetNumbering{Pattern: pattern, Codes: codes})
}
func (c *Client) Events(ctx context.Context, f service.EventFilter) ([]*audit.Event, error) {
	return do[[]*audit.Event](c, ctx, wire.OpEvents, f)
}
func (c *Client) SearchEvents(ctx context.Context, q service.EventQuery) ([]*audit.Event, error) {
	return do[[]*audit.Event](c, ctx, wire.OpSearchEvents, q)
}
func (c *Client) VerifyLog(ctx context.Context) (int64, error) {
	n, err := do[wire.Count](c, ctx, wire.OpVerifyLog, wire.Empty{})
	return n.N, err
}

func (c *Client) Register(ctx context.Context, r service.RegisterRequest) (service.RegisterResult, error) {
	return do[service.RegisterResult](c, ctx, wire.OpRegister, r)
}
func (c *Client) Bind(ctx context.Context, r service.BindRequest) (service.RegisterResult, error) {
	return do[service.RegisterResult](c, ctx, wire.OpBind, r)
}
func (c *Client) Medium(ctx context.Context, number string) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpMedium, wire.Number{Number: number})
}
func (c *Client) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpMediumByIdentity, wire.Key{Key: key})
}
func (c *Client) ListMedia(ctx context.Context, f service.MediaFilter) ([]media.Medium, error) {
	return do[[]media.Medium](c, ctx, wire.OpListMedia, f)
}
func (c *Client) ShowMedium(ctx context.Context, number string) (service.MediumHistory, error) {
	return do[service.MediumHistory](c, ctx, wire.OpShowMedium, wire.Number{Number: number})
}
func (c *Client) Handover(ctx context.Context, r service.HandoverRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpHandover, r)
}
func (c *Client) Lend(ctx context.Context, r service.LendRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpLend, r)
}
func (c *Client) Return(ctx context.Context, r service.ReturnRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpReturn, r)
}
func (c *Client) SetStatus(ctx context.Context, r service.StatusRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpSetStatus, r)
}
func (c *Client) Relevel(ctx context.Context, r service.RelevelRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpRelevel, r)
}
func (c *Client) Issue(ctx context.Context, r service.IssueRequest) (media.Medium, error) {
	return do[media.Medium](c, ctx, wire.OpIssue, r)
}
func (c *Client) SeenWhere(ctx context.Context, number string) ([]service.Seen, error) {
	return do[[]service.Seen](c, ctx, wire.OpSeenWhere, wire.Number{Number: number})
}

func (c *Client) OpenCampaign(ctx context.Context, r service.OpenCampaignRequest) (service.OpenCampaignResult, error) {
	return do[service.OpenCampaignResult](c, ctx, wire.OpOpenCampaign, r)
}
func (c *Client) OpenCampaignNow(ctx context.Context) (checkin.Campaign, error) {
	return do[checkin.Campaign](c, ctx, wire.OpOpenCampaignNow, wire.Empty{})
}
func (c *Client) Campaign(ctx context.Context, year int) (checkin.Campaign, error) {
	return do[checkin.Campaign](c, ctx, wire.OpCampaign, wire.Year{Year: year})
}
func (c *Client) CampaignReport(ctx context.Context, year int, by checkin.GroupBy) (checkin.Report, error) {
	return do[checkin.Report](c, ctx, wire.OpCampaignReport, wire.CampaignReport{Year: year, By: by})
}
func (c *Client) CheckInManual(ctx context.Context, m service.ManualCheckIn) (service.CheckInResult, error) {
	return do[service.CheckInResult](c, ctx, wire.OpCheckInManual, m)
}
func (c *Client) Outstanding(ctx context.Context, campaignID, custodian string) (int, int, error) {
	n, err := do[wire.Counts](c, ctx, wire.OpOutstanding, wire.Outstanding{CampaignID: campaignID, Custodian: custodian})
	return n.Total, n.OfCustodian, err
}
func (c *Client) CheckInsSince(ctx context.Context, campaignID string, seq int64) ([]checkin.CheckIn, error) {
	return do[[]checkin.CheckIn](c, ctx, wire.OpCheckInsSince, wire.Since{CampaignID: campaignID, Seq: seq})
}

// CheckInPlug sends a plug check-in; Claim and WaitPending are the daemon's and do
// not travel (the server refuses what it cannot confirm yet).
func (c *Client) CheckInPlug(ctx context.Context, r service.PlugRequest) (service.PlugResult, error) {
	if r.Claim != nil && !r.Claim() {
		return service.PlugResult{Dropped: true}, nil
	}
	return do[service.PlugResult](c, ctx, wire.OpCheckInPlug, wire.Plug{Seen: r.Seen, Device: r.Device, Number: r.Number,
		Cabinet: r.Cabinet, Slot: r.Slot})
}
func (c *Client) PlanClose(ctx context.Context) (service.ClosePlan, error) {
	return do[service.ClosePlan](c, ctx, wire.OpPlanClose, wire.Empty{})
}
func (c *Client) OverdueLoans(ctx context.Context, f service.MediaFilter) ([]media.Medium, error) {
	return do[[]media.Medium](c, ctx, wire.OpOverdueLoans, f)
}
func (c *Client) NextNumbers(ctx context.Context) (map[media.Level]string, error) {
	return do[map[media.Level]string](c, ctx, wire.OpNextNumbers, wire.Empty{})
}
func (c *Client) Summary(ctx context.Context) (service.Summary, error) {
	return do[service.Summary](c, ctx, wire.OpSummary, wire.Empty{})
}
func (c *Client) CloseCampaign(ctx context.Context, r service.CloseRequest) (service.ClosedCampaign, error) {
	return do[service.ClosedCampaign](c, ctx, wire.OpCloseCampaign, r)
}
func (c *Client) FinalReport(ctx context.Context, year int) ([]byte, checkin.Campaign, error) {
	r, err := do[wire.FinalReport](c, ctx, wire.OpFinalReport, wire.Year{Year: year})
	return r.Report, r.Campaign, err
}

// EndOfDay is the last instant of a day in the officer's local time.
func (c *Client) EndOfDay(year int, month time.Month, day int) time.Time {
	return media.EndOfDay(time.Date(year, month, day, 0, 0, 0, 0, time.Local))
}

func (c *Client) AddOfficeHost(ctx context.Context, r service.AddHostRequest) (service.AddHostResult, error) {
	return do[service.AddHostResult](c, ctx, wire.OpAddHost, r)
}
func (c *Client) NewEnrolToken(ctx context.Context, number string, ttl time.Duration) (service.AddHostResult, error) {
	return do[service.AddHostResult](c, ctx, wire.OpNewToken, wire.NewToken{Number: number, TTL: ttl})
}
func (c *Client) UpdateOfficeHost(ctx context.Context, r service.UpdateHostRequest) (service.OfficeHost, error) {
	return do[service.OfficeHost](c, ctx, wire.OpUpdateHost, r)
}
func (c *Client) OfficeHosts(ctx context.Context) ([]service.OfficeHost, error) {
	return do[[]service.OfficeHost](c, ctx, wire.OpOfficeHosts, wire.Empty{})
}
func (c *Client) ShowOfficeHost(ctx context.Context, number string) (service.OfficeHostView, error) {
	return do[service.OfficeHostView](c, ctx, wire.OpShowHost, wire.Number{Number: number})
}
func (c *Client) FreezeOfficeHost(ctx context.Context, number string, freeze bool, reason string) (service.OfficeHost, error) {
	return do[service.OfficeHost](c, ctx, wire.OpFreezeHost, wire.Freeze{Number: number, Freeze: freeze, Reason: reason})
}
func (c *Client) RevokeOfficeHost(ctx context.Context, number, reason string) (service.OfficeHost, error) {
	return do[service.OfficeHost](c, ctx, wire.OpRevokeHost, wire.Revoke{Number: number, Reason: reason})
}
func (c *Client) Requests(ctx context.Context, state string) ([]service.RegistrationRequest, error) {
	return do[[]service.RegistrationRequest](c, ctx, wire.OpRequests, wire.State{State: state})
}
func (c *Client) ApproveRegistration(ctx context.Context, r service.ApproveRequest) (service.ApproveResult, error) {
	return do[service.ApproveResult](c, ctx, wire.OpApprove, r)
}
func (c *Client) RejectRegistration(ctx context.Context, id, reason string) (service.RegistrationRequest, error) {
	return do[service.RegistrationRequest](c, ctx, wire.OpReject, wire.Reject{ID: id, Reason: reason})
}
