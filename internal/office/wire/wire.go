// Package wire holds what the office server and its clients exchange besides the
// service's own request and result types: the officer operations by name, the
// argument structs of operations that take several arguments, the host endpoints'
// bodies, and errors as JSON that keep their kind, code and arguments, so that a
// refusal by the server reads as the same refusal would locally.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// MaxBody is the largest request body the server reads (1 MiB).
const MaxBody = 1 << 20

// Paths of the endpoints.
const (
	PathEnroll   = "/v1/enroll"
	PathPolicy   = "/v1/host/policy"
	PathReport   = "/v1/host/report"
	PathRequests = "/v1/host/requests"
	PathOfficer  = "/v1/officer/" // + op
)

// EnrollRequest is the body of POST /v1/enroll.
type EnrollRequest struct {
	Token string `json:"token"`
	Host  string `json:"host"`
	CSR   string `json:"csr"`
	// Baseline lists the identity keys of the host's internal disks (optional).
	Baseline []string `json:"baseline,omitempty"`
}

// EnrollResponse answers an enrolment.
type EnrollResponse struct {
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
	PolicyKey   string `json:"policy_key"` // base64 of the ed25519 public key
}

// Sighting is one medium seen by a host.
type Sighting struct {
	Medium   string    `json:"medium"`
	Key      string    `json:"key"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
}

// Report is the body of POST /v1/host/report.
type Report struct {
	Daemon        string     `json:"daemon"`
	PolicyVersion uint64     `json:"policy_version"`
	Seen          []Sighting `json:"seen,omitempty"`
	// CheckIns are the media plugged into a vault-station host since its last report
	// that was answered: the server checks them in to the office's campaign.
	CheckIns []StationCheckIn `json:"checkins,omitempty"`
}

// StationCheckIn is one medium plugged into a vault-station host, under an id of the
// host's making: the server records each id once.
type StationCheckIn struct {
	ID     string         `json:"id"`
	Seen   media.Identity `json:"seen"`
	Device string         `json:"device,omitempty"`
}

// ReportAnswer answers a report that carried check-ins (200; a report without any is
// answered 204).
type ReportAnswer struct {
	CheckIns []StationOutcome `json:"checkins"`
}

// StationOutcome is what the server made of one check-in: checked-in,
// already-checked-in, no-campaign, refused (Code says why) or not-station.
type StationOutcome struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Number  string `json:"number,omitempty"`
	Code    string `json:"code,omitempty"`
}

// RegistrationRequest is the body of POST /v1/host/requests.
type RegistrationRequest struct {
	Identity  media.Identity `json:"identity"`
	Level     media.Level    `json:"level"`
	Purpose   string         `json:"purpose"`
	Requester string         `json:"requester"`
	Label     string         `json:"label,omitempty"`
}

// RequestID answers a registration request.
type RequestID struct {
	ID string `json:"id"`
}

// Decode reads one JSON value from r into v: unknown fields, trailing data and a
// body over max bytes are refused.
func Decode(r io.Reader, max int64, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > max {
		return ErrTooLarge
	}
	return DecodeBytes(b, v)
}

// ErrTooLarge: the body is over the limit.
var ErrTooLarge = errors.New("body too large")

// DecodeBytes decodes b strictly (see Decode).
func DecodeBytes(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode body: trailing data after the JSON value")
	}
	return nil
}

// Argument structs of officer operations with more than one argument, or one that
// is not a struct.
type (
	Handle       struct{ Handle string }
	All          struct{ All bool }
	Number       struct{ Number string }
	Key          struct{ Key string }
	Year         struct{ Year int }
	Empty        struct{}
	UpdatePerson struct {
		Handle string
		Update service.PersonUpdate
	}
	SetNumbering struct {
		Pattern string
		Codes   map[media.Level]string
	}
	CampaignReport struct {
		Year int
		By   checkin.GroupBy
	}
	Outstanding struct{ CampaignID, Custodian string }
	Counts      struct{ Total, OfCustodian int }
	Since       struct {
		CampaignID string
		Seq        int64
	}
	// Plug is service.PlugRequest without its callback.
	Plug struct {
		Seen          media.Identity
		Device        string
		Number        string
		Cabinet, Slot string
	}
	FinalReport struct {
		Report   []byte
		Campaign checkin.Campaign
	}
	Count    struct{ N int64 }
	NewToken struct {
		Number string
		TTL    time.Duration
	}
	Revoke struct{ Number, Reason string }
	Freeze struct {
		Number string
		Freeze bool
		Reason string
	}
	Reject struct{ ID, Reason string }
	State  struct{ State string }
)

// Error is a refusal as JSON.
type Error struct {
	// Kind: "bad-request", "refused" (a rule of the service), "store" (a store
	// refusal; Sentinel names which), "broken" (the audit log), "office" (a refusal
	// of the server itself: certificate, token, body), "internal".
	Kind     string `json:"kind"`
	Sentinel string `json:"sentinel,omitempty"`
	Code     string `json:"code"`
	Args     []Arg  `json:"args,omitempty"`
	// Message is the refusal in English, for clients that do not render codes.
	Message string `json:"message"`
	Seq     int64  `json:"seq,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Arg is one argument of a message, typed so that the reader renders it in its
// language: a level, status, kind or access by name, a catalogue word (term), a
// nested phrase, a time, an integer or text.
type Arg struct {
	T    string `json:"t"`
	V    any    `json:"v,omitempty"`
	Code string `json:"code,omitempty"`
	Args []Arg  `json:"args,omitempty"`
}

type messageKeyer interface{ MessageKey() string }
type messageCoder interface {
	MessageCode() (string, []any)
}

// EncodeArgs types the arguments of a message.
func EncodeArgs(args []any) []Arg {
	var out []Arg
	for _, a := range args {
		out = append(out, encodeArg(a))
	}
	return out
}

func encodeArg(a any) Arg {
	switch v := a.(type) {
	case media.Level:
		return Arg{T: "level", V: v.String()}
	case media.Status:
		return Arg{T: "status", V: string(v)}
	case media.Kind:
		return Arg{T: "kind", V: string(v)}
	case media.Access:
		return Arg{T: "access", V: string(v)}
	case messageKeyer:
		return Arg{T: "term", V: v.MessageKey()}
	case messageCoder:
		code, args := v.MessageCode()
		return Arg{T: "phrase", Code: code, Args: EncodeArgs(args)}
	case time.Time:
		return Arg{T: "time", V: v.UTC().Format(time.RFC3339Nano)}
	case int:
		return Arg{T: "int", V: int64(v)}
	case int64:
		return Arg{T: "int", V: v}
	case uint64:
		return Arg{T: "int", V: v}
	case string:
		return Arg{T: "text", V: v}
	case error:
		return Arg{T: "text", V: v.Error()}
	}
	return Arg{T: "text", V: fmt.Sprint(a)}
}

// Term is a catalogue word received from the server.
type Term string

// MessageKey is the catalogue key.
func (t Term) MessageKey() string { return string(t) }

// DecodeArgs gives arguments back their types.
func DecodeArgs(in []Arg) []any {
	var out []any
	for _, a := range in {
		s, _ := a.V.(string)
		switch a.T {
		case "level":
			l, err := media.ParseLevel(s)
			if err != nil {
				out = append(out, s)
				continue
			}
			out = append(out, l)
		case "status":
			out = append(out, media.Status(s))
		case "kind":
			out = append(out, media.Kind(s))
		case "access":
			out = append(out, media.Access(s))
		case "term":
			out = append(out, Term(s))
		case "phrase":
			out = append(out, service.Phrase{Code: a.Code, Args: DecodeArgs(a.Args)})
		case "time":
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				out = append(out, s)
				continue
			}
			out = append(out, t)
		case "int":
			f, ok := a.V.(float64)
			if ok && f == math.Trunc(f) {
				out = append(out, int64(f))
			} else {
				out = append(out, fmt.Sprint(a.V))
			}
		default:
			out = append(out, fmt.Sprint(a.V))
			if s != "" || a.V == nil {
				out[len(out)-1] = s
			}
		}
	}
	return out
}

// sentinels are the store refusals a client can test with errors.Is, by name.
var sentinels = map[string]error{
	"not-found": service.ErrNotFound, "duplicate-handle": service.ErrDuplicateHandle,
	"duplicate-number": service.ErrDuplicateNumber, "duplicate-identity": service.ErrDuplicateIdentity,
	"no-host": service.ErrNoHost, "inactive-person": service.ErrInactivePerson,
	"person-holds-media": service.ErrPersonHoldsMedia, "relevel-down": service.ErrRelevelDown,
	"bad-pattern": service.ErrBadPattern, "invalid": service.ErrInvalid, "transition": service.ErrTransition,
	"no-campaign": service.ErrNoCampaign, "campaign-exists": service.ErrCampaignExists,
	"campaign-open": service.ErrCampaignOpen, "campaign-closed": service.ErrCampaignClosed,
	"not-expected": service.ErrNotExpected, "already-checked-in": service.ErrAlreadyCheckedIn,
	"identity-differs": service.ErrIdentityDiffers, "checked-in-campaign": service.ErrCheckedInCampaign,
	"duplicate-host": service.ErrDuplicateHost, "bad-token": service.ErrBadToken,
	"request-decided": service.ErrRequestDecided, "no-office": service.ErrNoOffice,
}

// FromError turns an error of the service into its JSON form; message renders the
// English text of a code.
func FromError(err error, message func(code string, args []any) string) *Error {
	var se *service.Error
	if errors.As(err, &se) {
		kind := "refused"
		if errors.Is(se.Kind, service.ErrBadRequest) {
			kind = "bad-request"
		}
		return &Error{Kind: kind, Code: se.Code, Args: EncodeArgs(se.Args), Message: message(se.Code, se.Args)}
	}
	var st *service.StoreError
	if errors.As(err, &st) {
		e := &Error{Kind: "store", Code: st.Code, Args: EncodeArgs(st.Args), Message: message(st.Code, st.Args)}
		for name, s := range sentinels {
			if errors.Is(st.Kind, s) {
				e.Sentinel = name
				break
			}
		}
		return e
	}
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return &Error{Kind: "broken", Code: "err.audit-broken", Seq: be.Seq, Args: EncodeArgs([]any{be.Seq, be.Reason}),
			Message: be.Error()}
	}
	for name, s := range sentinels {
		if errors.Is(err, s) {
			return &Error{Kind: "store", Sentinel: name, Code: "", Message: err.Error()}
		}
	}
	return &Error{Kind: "internal", Message: "internal error"}
}

// Err is an *Error turned back into the error the service returned: a
// *service.Error, a *service.StoreError wrapping its sentinel, an
// *audit.BrokenError, or an *OfficeError for the server's own refusals.
func (e *Error) Err() error {
	args := DecodeArgs(e.Args)
	switch e.Kind {
	case "bad-request":
		return &service.Error{Kind: service.ErrBadRequest, Code: e.Code, Args: args}
	case "refused":
		return &service.Error{Kind: service.ErrRefused, Code: e.Code, Args: args}
	case "store":
		s, ok := sentinels[e.Sentinel]
		if !ok {
			return &OfficeError{Code: e.Code, Args: args, Message: e.Message}
		}
		if e.Code == "" {
			return fmt.Errorf("%s: %w", e.Message, s)
		}
		return &service.StoreError{Kind: s, Code: e.Code, Args: args}
	case "broken":
		var reason string
		if len(args) == 2 {
			reason, _ = args[1].(string)
		}
		return &audit.BrokenError{Seq: e.Seq, Reason: reason}
	}
	return &OfficeError{Code: e.Code, Args: args, Message: e.Message}
}

// OfficeError is a refusal by the office server itself (certificate, token, body,
// connection), rendered from the catalogue by Code.
type OfficeError struct {
	Code    string
	Args    []any
	Message string
}

func (e *OfficeError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code
}

// MessageCode returns the catalogue key and its arguments.
func (e *OfficeError) MessageCode() (string, []any) { return e.Code, e.Args }
