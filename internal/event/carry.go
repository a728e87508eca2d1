package event

import "reflect"

// The kinds of files carried by hand between the office server and a standalone host
// (internal/carry): a host's log taken in by the office, the office's
// acknowledgement stored by the host, and a carried file refused (nothing changed).
// A policy carried in is policy.applied / policy.refused with source "import".
const (
	KindCarryLogImport Kind = "carry.log-import"
	KindCarryAck       Kind = "carry.ack"
	KindCarryRefused   Kind = "carry.refused"
)

// PolicyFromImport is the source of a policy an officer carried in by file (policy
// import on a standalone host).
const PolicyFromImport = "import"

func init() {
	for k, t := range map[Kind]any{
		KindCarryLogImport: CarryLogImport{},
		KindCarryAck:       CarryAck{},
		KindCarryRefused:   CarryRefused{},
	} {
		if _, dup := kinds[k]; dup {
			panic("event: kind " + string(k) + " defined twice")
		}
		kinds[k] = reflect.TypeOf(t)
	}
}

// CarryLogImport is a host's log file taken in by the office: rows First..Last of
// the host's chain, and the office's acknowledgement of row AckSeq. File is the
// SHA-256 of the file.
type CarryLogImport struct {
	AckSeq int64  `json:"ack_seq"`
	File   string `json:"file"`
	First  int64  `json:"first"`
	Host   string `json:"host" event:"host"`
	Last   int64  `json:"last"`
	Rows   int    `json:"rows"`
}

// CarryAck is the office's acknowledgement of this host's log, carried in and
// stored (Previous is the sequence number acknowledged before, 0 for none).
type CarryAck struct {
	File     string `json:"file"`
	Hash     string `json:"hash"`
	Host     string `json:"host" event:"host"`
	Previous int64  `json:"previous"`
	Seq      int64  `json:"seq"`
}

// CarryRefused is a carried file refused: Type is the kind of file (enroll-request,
// enroll-response, log, ack), Reason the refusal's short name (carry.Reason, or
// unknown-host, revoked, chain), File the SHA-256 of the file.
type CarryRefused struct {
	Error  string `json:"error"`
	File   string `json:"file"`
	Host   string `json:"host,omitempty" event:"host"`
	Reason string `json:"reason"`
	Type   string `json:"type"`
}
