package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/wire"
	"mediagate/internal/service"
)

// opFunc runs one officer operation on a decoded body.
type opFunc func(ctx context.Context, svc *service.Service, body []byte) (any, error)

// op adapts a service method taking one request value.
func op[Req, Res any](f func(*service.Service, context.Context, Req) (Res, error)) opFunc {
	return func(ctx context.Context, svc *service.Service, body []byte) (any, error) {
		var req Req
		if err := wire.DecodeBytes(body, &req); err != nil {
			return nil, errBody{err}
		}
		return f(svc, ctx, req)
	}
}

type errBody struct{ error }

// ops are the officer operations: each a service method, the same rules as locally.
var ops = map[string]opFunc{
	wire.OpAddPerson: op((*service.Service).AddPerson),
	wire.OpPerson: op(func(s *service.Service, ctx context.Context, r wire.Handle) (media.Person, error) {
		return s.Person(ctx, r.Handle)
	}),
	wire.OpListPeople: op(func(s *service.Service, ctx context.Context, r wire.All) ([]media.Person, error) {
		return s.ListPeople(ctx, r.All)
	}),
	wire.OpShowPerson: op(func(s *service.Service, ctx context.Context, r wire.Handle) (service.PersonMedia, error) {
		return s.ShowPerson(ctx, r.Handle)
	}),
	wire.OpUpdatePerson: op(func(s *service.Service, ctx context.Context, r wire.UpdatePerson) (media.Person, error) {
		return s.UpdatePerson(ctx, r.Handle, r.Update)
	}),
	wire.OpDeactivatePerson: op(func(s *service.Service, ctx context.Context, r wire.Handle) (wire.Empty, error) {
		return wire.Empty{}, s.DeactivatePerson(ctx, r.Handle)
	}),
	wire.OpHost: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (media.Host, error) { return s.Host(ctx) }),
	wire.OpNumbering: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (service.Numbering, error) {
		return s.Numbering(ctx)
	}),
	wire.OpSetNumbering: op(func(s *service.Service, ctx context.Context, r wire.SetNumbering) (service.Numbering, error) {
		return s.SetNumbering(ctx, r.Pattern, r.Codes)
	}),
	wire.OpEvents:       op((*service.Service).Events),
	wire.OpSearchEvents: op((*service.Service).SearchEvents),
	wire.OpVerifyLog: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (wire.Count, error) {
		n, err := s.VerifyLog(ctx)
		return wire.Count{N: n}, err
	}),

	wire.OpRegister: op((*service.Service).Register),
	wire.OpBind:     op((*service.Service).Bind),
	wire.OpMedium: op(func(s *service.Service, ctx context.Context, r wire.Number) (media.Medium, error) {
		return s.Medium(ctx, r.Number)
	}),
	wire.OpMediumByIdentity: op(func(s *service.Service, ctx context.Context, r wire.Key) (media.Medium, error) {
		return s.MediumByIdentity(ctx, r.Key)
	}),
	wire.OpListMedia: op((*service.Service).ListMedia),
	wire.OpShowMedium: op(func(s *service.Service, ctx context.Context, r wire.Number) (service.MediumHistory, error) {
		return s.ShowMedium(ctx, r.Number)
	}),
	wire.OpHandover:     op((*service.Service).Handover),
	wire.OpLend:         op((*service.Service).Lend),
	wire.OpReturn:       op((*service.Service).Return),
	wire.OpSetStatus:    op((*service.Service).SetStatus),
	wire.OpRelevel:      op((*service.Service).Relevel),
	wire.OpIssue:        op((*service.Service).Issue),
	wire.OpOverdueLoans: op((*service.Service).OverdueLoans),
	wire.OpNextNumbers: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (map[media.Level]string, error) {
		return s.NextNumbers(ctx)
	}),
	wire.OpSummary: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (service.Summary, error) {
		return s.Summary(ctx)
	}),
	wire.OpSeenWhere: op(func(s *service.Service, ctx context.Context, r wire.Number) ([]service.Seen, error) {
		return s.SeenWhere(ctx, r.Number)
	}),

	wire.OpOpenCampaign: op((*service.Service).OpenCampaign),
	wire.OpOpenCampaignNow: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (any, error) {
		return s.OpenCampaignNow(ctx)
	}),
	wire.OpCampaign: op(func(s *service.Service, ctx context.Context, r wire.Year) (any, error) {
		return s.Campaign(ctx, r.Year)
	}),
	wire.OpCampaignReport: op(func(s *service.Service, ctx context.Context, r wire.CampaignReport) (any, error) {
		return s.CampaignReport(ctx, r.Year, r.By)
	}),
	wire.OpCheckInManual: op((*service.Service).CheckInManual),
	wire.OpOutstanding: op(func(s *service.Service, ctx context.Context, r wire.Outstanding) (wire.Counts, error) {
		t, o, err := s.Outstanding(ctx, r.CampaignID, r.Custodian)
		return wire.Counts{Total: t, OfCustodian: o}, err
	}),
	wire.OpCheckInsSince: op(func(s *service.Service, ctx context.Context, r wire.Since) (any, error) {
		return s.CheckInsSince(ctx, r.CampaignID, r.Seq)
	}),
	wire.OpCheckInPlug: op(func(s *service.Service, ctx context.Context, r wire.Plug) (service.PlugResult, error) {
		return s.CheckInPlug(ctx, service.PlugRequest{Seen: r.Seen, Device: r.Device, Number: r.Number, Cabinet: r.Cabinet, Slot: r.Slot})
	}),
	wire.OpPlanClose: op(func(s *service.Service, ctx context.Context, _ wire.Empty) (service.ClosePlan, error) {
		return s.PlanClose(ctx)
	}),
	wire.OpCloseCampaign: op((*service.Service).CloseCampaign),
	wire.OpFinalReport: op(func(s *service.Service, ctx context.Context, r wire.Year) (wire.FinalReport, error) {
		b, c, err := s.FinalReport(ctx, r.Year)
		return wire.FinalReport{Report: b, Campaign: c}, err
	}),

	wire.OpAddHost: op((*service.Service).AddOfficeHost),
	wire.OpNewToken: op(func(s *service.Service, ctx context.Context, r wire.NewToken) (service.AddHostResult, error) {
		return s.NewEnrolToken(ctx, r.Number, r.TTL)
	}),
	wire.OpUpdateHost: op((*service.Service).UpdateOfficeHost),
	wire.OpOfficeHosts: op(func(s *service.Service, ctx context.Context, _ wire.Empty) ([]service.OfficeHost, error) {
		return s.OfficeHosts(ctx)
	}),
	wire.OpShowHost: op(func(s *service.Service, ctx context.Context, r wire.Number) (service.OfficeHostView, error) {
		return s.ShowOfficeHost(ctx, r.Number)
	}),
	wire.OpRevokeHost: op(func(s *service.Service, ctx context.Context, r wire.Revoke) (service.OfficeHost, error) {
		return s.RevokeOfficeHost(ctx, r.Number, r.Reason)
	}),
	wire.OpFreezeHost: op(func(s *service.Service, ctx context.Context, r wire.Freeze) (service.OfficeHost, error) {
		return s.FreezeOfficeHost(ctx, r.Number, r.Freeze, r.Reason)
	}),
	wire.OpRequests: op(func(s *service.Service, ctx context.Context, r wire.State) ([]service.RegistrationRequest, error) {
		return s.Requests(ctx, r.State)
	}),
	wire.OpApprove: op((*service.Service).ApproveRegistration),
	wire.OpReject: op(func(s *service.Service, ctx context.Context, r wire.Reject) (service.RegistrationRequest, error) {
		return s.RejectRegistration(ctx, r.ID, r.Reason)
	}),
}

// peopleOps change people, which the service's change hook does not announce (a
// person's active flag and login are in the policies): the server computes after
// them itself. Every other change announces itself through the hook.
var peopleOps = map[string]bool{wire.OpAddPerson: true, wire.OpUpdatePerson: true, wire.OpDeactivatePerson: true}

// authOfficer admits the current certificate of a registered officer.
func (s *Server) authOfficer(w http.ResponseWriter, r *http.Request) (string, bool) {
	p, code, detail := s.verifyPeer(r)
	if code != "" {
		s.refuse(w, r, http.StatusUnauthorized, code, detail, "", p.cn)
		return "", false
	}
	handle, ok := strings.CutPrefix(p.cn, pki.OfficerPrefix)
	if !ok {
		s.refuse(w, r, http.StatusForbidden, "not-officer", "", "", p.cn)
		return "", false
	}
	o, err := s.svc.Officer(r.Context(), handle)
	switch {
	case errors.Is(err, service.ErrNotFound):
		s.refuse(w, r, http.StatusForbidden, "not-officer", "", "", p.cn)
		return "", false
	case err != nil:
		s.internal(w, r, err)
		return "", false
	case !o.Revoked.IsZero() || o.CertSerial != p.serial:
		s.refuse(w, r, http.StatusForbidden, "revoked", "", "", p.cn, p.cn)
		return "", false
	}
	return handle, true
}

func (s *Server) handleOfficer(w http.ResponseWriter, r *http.Request) {
	handle, ok := s.authOfficer(w, r)
	if !ok {
		return
	}
	subject := pki.OfficerPrefix + handle
	name := strings.TrimPrefix(r.URL.Path, wire.PathOfficer)
	f, known := ops[name]
	if !known {
		s.refuse(w, r, http.StatusNotFound, "unknown-op", clip(name), "", subject)
		return
	}
	var body json.RawMessage
	if !s.decode(w, r, &body, "", subject) {
		return
	}
	ctx := audit.WithActor(r.Context(), audit.Actor{UID: -1, User: subject})
	res, err := f(ctx, s.svc, body)
	var eb errBody
	switch {
	case errors.As(err, &eb):
		s.refuse(w, r, http.StatusBadRequest, "bad-body", eb.Error(), "", subject)
		return
	case err != nil:
		s.serviceRefusal(w, r, err, "", subject, false)
		return
	}
	if peopleOps[name] {
		s.book.Kick()
	}
	writeJSON(w, http.StatusOK, res)
}
