package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/policydoc"
	"mediagate/internal/registry"
)

// ErrOfficeRegister is returned by PolicyStore for what only the office's register
// may change (moving a disc's registration to a new identity key).
var ErrOfficeRegister = errors.New("the office server keeps this host's register")

// PolicyStore is the Store of a host enrolled with an office server: the host profile,
// media and people come from the verified office policy in force (policydoc), never
// from the network; audit rows and the mount log stay in the host's local registry
// (Local). Before the first policy it has no host profile, so the daemon blocks
// every medium (host-not-initialised).
type PolicyStore struct {
	Local Store
	// Baseline holds the internal disks recorded on this host at enrolment; they
	// join the policy profile's baseline.
	Baseline []string

	mu     sync.RWMutex
	policy *policydoc.Policy
	host   media.Host
	media  map[string]media.Medium // by identity key
	people map[string]media.Person // by handle
}

// NewPolicyStore returns a PolicyStore without a policy; see Set.
func NewPolicyStore(local Store, baseline []string) *PolicyStore {
	return &PolicyStore{Local: local, Baseline: baseline}
}

// Set puts a verified policy in force. The caller then has the daemon decide every
// present device again (Daemon.Rescan).
func (s *PolicyStore) Set(p *policydoc.Policy) {
	byKey := make(map[string]media.Medium, len(p.Document.Media))
	for _, m := range p.Document.Media {
		byKey[m.Identity.Key] = m.Record()
	}
	people := make(map[string]media.Person, len(p.Document.People))
	for _, pp := range p.Document.People {
		people[pp.Handle] = pp.Record()
	}
	h := p.Document.Profile.Host()
	for _, k := range s.Baseline {
		if !slices.Contains(h.Baseline, k) {
			h.Baseline = append(slices.Clip(h.Baseline), k)
		}
	}
	s.mu.Lock()
	s.policy, s.host, s.media, s.people = p, h, byKey, people
	s.mu.Unlock()
}

// Policy is the policy in force, nil before the first.
func (s *PolicyStore) Policy() *policydoc.Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.policy
}

// Host is the profile of the policy in force.
func (s *PolicyStore) Host(ctx context.Context) (media.Host, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.policy == nil {
		return media.Host{}, registry.ErrNoHost
	}
	return s.host, nil
}

// MediumByIdentity finds a medium of the policy in force.
func (s *PolicyStore) MediumByIdentity(ctx context.Context, key string) (media.Medium, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.media[key]
	if !ok {
		return media.Medium{}, fmt.Errorf("medium with identity %s: %w", key, registry.ErrNotFound)
	}
	return m, nil
}

// Person finds a custodian or holder of the policy in force.
func (s *PolicyStore) Person(ctx context.Context, handle string) (media.Person, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.people[handle]
	if !ok {
		return media.Person{}, fmt.Errorf("person %s: %w", handle, registry.ErrNotFound)
	}
	return p, nil
}

// UpgradeIdentityKey refuses: a disc registered under its version 1 key stays
// blocked on an enrolled host until the office registers its whole-disc key.
func (s *PolicyStore) UpgradeIdentityKey(ctx context.Context, oldKey, newKey string) (media.Medium, error) {
	return media.Medium{}, ErrOfficeRegister
}

// RecordEvent writes to the host's local log.
func (s *PolicyStore) RecordEvent(ctx context.Context, kind event.Kind, medium string, details any) (*audit.Event, error) {
	return s.Local.RecordEvent(ctx, kind, medium, details)
}

// OpenMounts reads the host's local mount log.
func (s *PolicyStore) OpenMounts(ctx context.Context) ([]registry.OpenMount, error) {
	return s.Local.OpenMounts(ctx)
}

// OfficeStatus is what Status says of the office on an enrolled host.
type OfficeStatus struct {
	Server string `json:"server"`
	// Standalone is a host enrolled by file: no server to reach; its policy is
	// carried in and its log carried out by the officer.
	Standalone       bool      `json:"standalone,omitempty"`
	PolicyVersion    uint64    `json:"policy_version"`
	PolicyIssued     time.Time `json:"policy_issued,omitzero"`
	LastContact      time.Time `json:"last_contact,omitzero"`
	UnreachableSince time.Time `json:"unreachable_since,omitzero"`
	LastError        string    `json:"last_error,omitempty"`
	// Refused is the last policy refused: when, from where, why.
	RefusedAt     time.Time `json:"refused_at,omitzero"`
	RefusedSource string    `json:"refused_source,omitempty"`
	RefusedReason string    `json:"refused_reason,omitempty"`
	// Log is the collection of this host's audit log by the office.
	Log *LogShipStatus `json:"log,omitempty"`
	// CheckInsQueued counts the vault station's check-ins not yet answered by the
	// server (an enrolled vault station with the server down).
	CheckInsQueued int `json:"checkins_queued,omitempty"`
}

// LogShipStatus is what Status says of the office's collection of the host's log:
// the row it acknowledged last, the newest local row (Head-Acked rows wait to be
// sent), the last failure, and — when the office holds the chain as broken — the
// first bad row and why.
type LogShipStatus struct {
	Acked        int64     `json:"acked"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	Head         int64     `json:"head"`
	LastError    string    `json:"last_error,omitempty"`
	BrokenSeq    int64     `json:"broken_seq,omitempty"`
	BrokenReason string    `json:"broken_reason,omitempty"`
}
