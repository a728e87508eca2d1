package event

import (
	"reflect"

	"mediagate/internal/media"
)

// The kinds the office server writes (mediagate server): its register of classified
// hosts, enrolment, registration requests from hosts, officers, and every request it
// refused.
const (
	KindOfficeHostAdd    Kind = "office.host-add"
	KindOfficeHostUpdate Kind = "office.host-update"
	KindOfficeHostToken  Kind = "office.host-token"
	KindOfficeEnroll     Kind = "office.enroll"
	KindOfficeHostRevoke Kind = "office.host-revoke"
	// A request the server refused: bad or revoked certificate, bad or reused token,
	// wrong host, oversized or malformed body. Nothing else was changed.
	KindOfficeRefused        Kind = "office.refused"
	KindOfficeRequest        Kind = "office.request"
	KindOfficeRequestApprove Kind = "office.request-approve"
	KindOfficeRequestReject  Kind = "office.request-reject"
	KindOfficeOfficerAdd     Kind = "office.officer-add"
)

func init() {
	for k, t := range map[Kind]any{
		KindOfficeHostAdd:        OfficeHost{},
		KindOfficeHostUpdate:     OfficeHost{},
		KindOfficeHostToken:      OfficeToken{},
		KindOfficeEnroll:         OfficeEnroll{},
		KindOfficeHostRevoke:     OfficeRevoke{},
		KindOfficeRefused:        OfficeRefused{},
		KindOfficeRequest:        OfficeRequest{},
		KindOfficeRequestApprove: OfficeDecision{},
		KindOfficeRequestReject:  OfficeDecision{},
		KindOfficeOfficerAdd:     OfficeOfficer{},
	} {
		if _, dup := kinds[k]; dup {
			panic("event: kind " + string(k) + " defined twice")
		}
		kinds[k] = reflect.TypeOf(t)
	}
}

// OfficeHost is a classified host as the office's register records it.
type OfficeHost struct {
	Custodian  string      `json:"custodian,omitempty" event:"custodian"`
	Department string      `json:"department,omitempty"`
	Host       string      `json:"host" event:"host"`
	HostID     string      `json:"host_id"`
	Level      media.Level `json:"level"`
	Location   string      `json:"location,omitempty"`
	LowerMedia string      `json:"lower_media,omitempty"`
	Mode       media.Mode  `json:"mode"`
	// VaultStation: media plugged there are checked in to the office's campaign.
	VaultStation bool `json:"vault_station,omitempty"`
}

// OfficeToken is a one-time enrolment token issued for a host (the token itself is
// never logged).
type OfficeToken struct {
	Expires string `json:"expires"`
	Host    string `json:"host" event:"host"`
}

// OfficeEnroll is a host that proved its token and got its certificate.
type OfficeEnroll struct {
	Baseline   []string `json:"baseline,omitempty"`
	CertSerial string   `json:"cert_serial"`
	Host       string   `json:"host" event:"host"`
	Remote     string   `json:"remote,omitempty"`
}

// OfficeRevoke is a host whose certificate the office no longer accepts.
type OfficeRevoke struct {
	CertSerial string `json:"cert_serial,omitempty"`
	Host       string `json:"host" event:"host"`
	Reason     string `json:"reason,omitempty"`
}

// OfficeRefused is a request the server refused. Code names the refusal ("bad-token",
// "revoked", "too-large" …); Subject is the client certificate's CN, if any; Host is
// the host the request was about, when it named one.
type OfficeRefused struct {
	Code     string `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Endpoint string `json:"endpoint"`
	Host     string `json:"host,omitempty" event:"host"`
	Remote   string `json:"remote,omitempty"`
	Subject  string `json:"subject,omitempty" event:"person"`
}

// OfficeRequest is a registration request a custodian sent from a host.
type OfficeRequest struct {
	Host        string      `json:"host" event:"host"`
	ID          string      `json:"id"`
	IdentityKey string      `json:"identity_key"`
	Label       string      `json:"label,omitempty"`
	Level       media.Level `json:"level"`
	Purpose     string      `json:"purpose,omitempty"`
	Requester   string      `json:"requester,omitempty" event:"person"`
}

// OfficeDecision is the officer's answer to a registration request: approved with
// the medium's number and custodian, or rejected with a reason.
type OfficeDecision struct {
	Custodian   string `json:"custodian,omitempty" event:"custodian"`
	Host        string `json:"host" event:"host"`
	ID          string `json:"id"`
	IdentityKey string `json:"identity_key"`
	Number      string `json:"number,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// OfficeOfficer is an officer given a client certificate for the server.
type OfficeOfficer struct {
	CertSerial string `json:"cert_serial"`
	Handle     string `json:"handle" event:"person"`
}
