package event

import "reflect"

// The kinds the office server writes about the hosts' audit logs it collects
// (internal/office/ledger): a host whose log no longer continues the chain the office
// acknowledged, and an officer freezing or thawing a host.
const (
	// A host's log does not continue its acknowledged chain: rows deleted or
	// rewritten, the database rolled back or replaced. Seq is the first bad row.
	KindOfficeLogBroken Kind = "office.host-log-broken"
	// An officer froze a host (its policy holds no media until thawed) or thawed it.
	KindOfficeHostFreeze   Kind = "office.host-freeze"
	KindOfficeHostUnfreeze Kind = "office.host-unfreeze"
)

func init() {
	for k, t := range map[Kind]any{
		KindOfficeLogBroken:    OfficeLogBroken{},
		KindOfficeHostFreeze:   OfficeFreeze{},
		KindOfficeHostUnfreeze: OfficeFreeze{},
	} {
		if _, dup := kinds[k]; dup {
			panic("event: kind " + string(k) + " defined twice")
		}
		kinds[k] = reflect.TypeOf(t)
	}
}

// OfficeLogBroken is a host whose log broke its chain as the office holds it. Seq is
// the first bad row, OfficeSeq the head the office had acknowledged, HostSeq the
// newest row the host sent (0 when unknown), and Source where the rows came from
// ("network" or "file").
type OfficeLogBroken struct {
	Host      string `json:"host" event:"host"`
	HostID    string `json:"host_id"`
	HostSeq   int64  `json:"host_seq,omitempty"`
	OfficeSeq int64  `json:"office_seq"`
	Reason    string `json:"reason"`
	Seq       int64  `json:"seq"`
	Source    string `json:"source,omitempty"`
}

// OfficeFreeze is a host an officer froze or thawed.
type OfficeFreeze struct {
	Host   string `json:"host" event:"host"`
	HostID string `json:"host_id"`
	Reason string `json:"reason,omitempty"`
}
