package event

import (
	"reflect"
	"time"
)

// The kinds an enrolled classified host writes about the office's signed policy
// (internal/policydoc): a policy put in force, and a policy refused (the last good one
// stays in force).
const (
	KindPolicyApplied Kind = "policy.applied"
	KindPolicyRefused Kind = "policy.refused"
)

func init() {
	for k, t := range map[Kind]any{
		KindPolicyApplied: PolicyApplied{},
		KindPolicyRefused: PolicyRefused{},
	} {
		if _, dup := kinds[k]; dup {
			panic("event: kind " + string(k) + " defined twice")
		}
		kinds[k] = reflect.TypeOf(t)
	}
}

// Where a policy came from: the office server, the host's cache at daemon start, or
// the cache file changed while the daemon ran.
const (
	PolicyFromServer = "server"
	PolicyFromCache  = "cache"
	PolicyFromFile   = "file"
)

// PolicyApplied is a verified policy put in force on an enrolled host.
type PolicyApplied struct {
	Host     string    `json:"host" event:"host"`
	IssuedAt time.Time `json:"issued_at"`
	KeyID    string    `json:"key_id"`
	Media    int       `json:"media"`
	Previous uint64    `json:"previous"` // the version in force before, 0 for none
	Source   string    `json:"source"`
	Version  uint64    `json:"version"`
}

// PolicyRefused is a policy an enrolled host refused; the version in force (InForce,
// 0 for none) stays. Reason is the refusal's short name (bad-signature, other-key,
// other-host, old-version, version-conflict, format, too-large, malformed, invalid).
type PolicyRefused struct {
	Error   string `json:"error"`
	Host    string `json:"host" event:"host"`
	InForce uint64 `json:"in_force"`
	Reason  string `json:"reason"`
	Source  string `json:"source"`
}
