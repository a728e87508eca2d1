package hostclient

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"mediagate/internal/event"
	"mediagate/internal/policydoc"
)

// PolicyClient is what the Follower needs of the server; *Client is one.
type PolicyClient interface {
	Policy(ctx context.Context, after uint64, wait time.Duration, delta bool) ([]byte, error)
	Report(ctx context.Context, r Report) ([]StationOutcome, error)
}

// FollowerConfig wires a Follower.
type FollowerConfig struct {
	State *State
	// Client is the server; nil on a standalone host (Run then follows the cache
	// file only).
	Client PolicyClient
	// Apply puts a verified policy in force: the daemon decides from it from now on
	// and decides every present device again. Called with no lock of the Follower's
	// held, one policy at a time.
	Apply func(ctx context.Context, p *policydoc.Policy)
	// Record writes an audit row to the host's local log.
	Record func(ctx context.Context, kind event.Kind, details any) error
	// DaemonState is what reports say of the daemon ("running"); nil says "running".
	DaemonState func() string
	Now         func() time.Time
	Log         *slog.Logger
	// Wait is the long-poll the server is asked for (default 30 s, at most 60 s).
	Wait time.Duration
	// HighWater, when set, gives the highest policy version this host's local audit
	// log records as once in force under the current policy key. A cache file older
	// than that was put back by hand while the daemon was stopped: LoadCache refuses
	// it, and no policy is in force until the server answers.
	HighWater func(ctx context.Context) (uint64, error)
	// CheckedIn, when set, is told the server's answer to each check-in of the
	// vault station (CheckIn).
	CheckedIn func(StationOutcome)
	// CheckEvery is how often the cache file is compared with the policy in force
	// (default 2 s); ReportEvery how often the host reports when nothing happens
	// (default 60 s); MaxBackoff the longest pause after a failure (default 30 s).
	CheckEvery, ReportEvery, MaxBackoff time.Duration
	// Reachable, when set, is called when the server answers again after a failure
	// (the log shipper sends what waited). It must not block.
	Reachable func()
}

// Follower keeps the policy in force up to date from the server and the cache file,
// and reports the host's state to the server.
type Follower struct {
	cfg FollowerConfig
	log *slog.Logger

	offerMu sync.Mutex // one offer at a time

	mu               sync.Mutex
	cur              *policydoc.Policy
	lastContact      time.Time
	unreachableSince time.Time
	lastErr          string
	refused          Refusal
	refusedSum       [32]byte
	seen             []Seen
	checkins         []StationCheckIn
	poke             chan struct{}
}

// Refusal is the last policy refused.
type Refusal struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
	Reason  string    `json:"reason"`
	Version uint64    `json:"in_force"`
	Error   string    `json:"error"`
}

// Status is the host's view of the office for `mediagate status`.
type Status struct {
	Server           string    `json:"server"`
	Host             string    `json:"host"`
	PolicyVersion    uint64    `json:"policy_version"`
	PolicyIssued     time.Time `json:"policy_issued,omitzero"`
	LastContact      time.Time `json:"last_contact,omitzero"`
	UnreachableSince time.Time `json:"unreachable_since,omitzero"`
	LastError        string    `json:"last_error,omitempty"`
	Refused          *Refusal  `json:"refused,omitempty"`
}

// maxSeen bounds the media kept for the next report while the server is down;
// maxCheckIns the vault station's check-ins.
const (
	maxSeen     = 1000
	maxCheckIns = 1000
)

// NewFollower returns a Follower; call LoadCache, then Run.
func NewFollower(cfg FollowerConfig) *Follower {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 30 * time.Second
	}
	cfg.Wait = min(cfg.Wait, MaxWait)
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = 2 * time.Second
	}
	if cfg.ReportEvery <= 0 {
		cfg.ReportEvery = 60 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	return &Follower{cfg: cfg, log: cfg.Log.With("component", "office"), poke: make(chan struct{}, 1)}
}

// Current is the policy in force, nil before the first.
func (f *Follower) Current() *policydoc.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Status is a snapshot for `mediagate status`.
func (f *Follower) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Status{Server: f.cfg.State.Server, Host: f.cfg.State.Host, LastContact: f.lastContact,
		UnreachableSince: f.unreachableSince, LastError: f.lastErr}
	if f.cur != nil {
		s.PolicyVersion, s.PolicyIssued = f.cur.Document.Version, f.cur.Document.IssuedAt
	}
	if !f.refused.Time.IsZero() {
		r := f.refused
		s.Refused = &r
	}
	return s
}

// LoadCache puts the cached policy in force if it verifies (an audit row either way).
// Without a good cache the host has no policy: the daemon blocks every medium
// (host not initialised) until the server sends one.
func (f *Follower) LoadCache(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(f.cfg.State.Dir, FilePolicy))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read policy cache: %w", err)
	}
	if f.cfg.HighWater != nil {
		hw, err := f.cfg.HighWater(ctx)
		if err != nil {
			return fmt.Errorf("policy cache: the versions in force before: %w", err)
		}
		if _, err := policydoc.Verify(b, f.cfg.State.PolicyKey, f.cfg.State.Host, hw); err != nil {
			f.refuse(ctx, b, event.PolicyFromCache, nil, err)
			return err
		}
	}
	_, err = f.Offer(ctx, b, event.PolicyFromCache)
	return err
}

// Offer verifies envelope as the successor of the policy in force and, if it is
// newer, saves it to the cache and puts it in force (an audit row policy.applied). A
// refused policy gets an audit row policy.refused (once per distinct envelope) and
// changes nothing. applied is false for a refusal and for the policy in force again.
func (f *Follower) Offer(ctx context.Context, envelope []byte, source string) (applied bool, err error) {
	f.offerMu.Lock()
	defer f.offerMu.Unlock()
	st := f.cfg.State
	cur := f.Current()
	p, err := policydoc.VerifyNext(envelope, st.PolicyKey, st.Host, cur)
	if err != nil {
		f.refuse(ctx, envelope, source, cur, err)
		return false, err
	}
	return f.install(ctx, cur, p, source), nil
}

// OfferDelta applies a delta from the server to the policy in force and puts the
// result in force as Offer does. A delta for another base or one that does not give
// the document signed (policydoc.ErrDeltaBase, ErrDeltaDigest) changes nothing and
// writes no refusal row: the caller asks for the whole document. Any other refusal
// is recorded as Offer records it.
func (f *Follower) OfferDelta(ctx context.Context, envelope []byte) (applied bool, err error) {
	f.offerMu.Lock()
	defer f.offerMu.Unlock()
	st := f.cfg.State
	cur := f.Current()
	p, err := policydoc.ApplyDelta(envelope, st.PolicyKey, st.Host, cur)
	switch {
	case errors.Is(err, policydoc.ErrDeltaBase) || errors.Is(err, policydoc.ErrDeltaDigest):
		f.log.Warn("policy delta does not apply; asking for the whole policy", "err", err)
		return false, err
	case err != nil:
		f.refuse(ctx, envelope, event.PolicyFromServer, cur, err)
		return false, err
	}
	return f.install(ctx, cur, p, event.PolicyFromServer), nil
}

// install saves a verified successor of cur and puts it in force; false when it is
// cur again.
func (f *Follower) install(ctx context.Context, cur, p *policydoc.Policy, source string) bool {
	st := f.cfg.State
	if cur != nil && p.Document.Version == cur.Document.Version {
		return false
	}
	if source != event.PolicyFromCache {
		if err := st.SavePolicy(p); err != nil {
			f.log.Error("policy in force but not cached", "version", p.Document.Version, "err", err)
		}
	}
	f.mu.Lock()
	f.cur = p
	f.mu.Unlock()
	f.cfg.Apply(ctx, p)
	var prev uint64
	if cur != nil {
		prev = cur.Document.Version
	}
	f.log.Info("policy applied", "version", p.Document.Version, "previous", prev, "source", source, "media", len(p.Document.Media))
	f.record(ctx, event.KindPolicyApplied, event.PolicyApplied{Host: st.Host, IssuedAt: p.Document.IssuedAt.UTC(),
		KeyID: st.PolicyKeyID, Media: len(p.Document.Media), Previous: prev, Source: source, Version: p.Document.Version})
	f.pokeReport()
	return true
}

func (f *Follower) refuse(ctx context.Context, envelope []byte, source string, cur *policydoc.Policy, err error) {
	sum := sha256.Sum256(envelope)
	var inForce uint64
	if cur != nil {
		inForce = cur.Document.Version
	}
	reason := policydoc.Reason(err)
	f.mu.Lock()
	again := f.refusedSum == sum
	f.refusedSum = sum
	f.refused = Refusal{Time: f.cfg.Now(), Source: source, Reason: reason, Version: inForce, Error: err.Error()}
	f.mu.Unlock()
	f.log.Warn("policy refused; the policy in force stays", "source", source, "reason", reason, "in_force", inForce, "err", err)
	if !again {
		f.record(ctx, event.KindPolicyRefused, event.PolicyRefused{Error: err.Error(), Host: f.cfg.State.Host,
			InForce: inForce, Reason: reason, Source: source})
	}
}

func (f *Follower) record(ctx context.Context, kind event.Kind, details any) {
	if f.cfg.Record == nil {
		return
	}
	if err := f.cfg.Record(context.WithoutCancel(ctx), kind, details); err != nil {
		f.log.Error("audit row", "kind", kind, "err", err)
	}
}

// Seen queues a medium the daemon decided for the next report.
func (f *Follower) Seen(s Seen) {
	f.mu.Lock()
	f.seen = append(f.seen, s)
	if len(f.seen) > maxSeen {
		f.seen = f.seen[len(f.seen)-maxSeen:]
	}
	f.mu.Unlock()
	f.pokeReport()
}

// CheckIn queues a medium plugged into this host as a vault station; the next report
// sends it (at once, or when the server is back) until the server answers it.
func (f *Follower) CheckIn(ci StationCheckIn) {
	if ci.ID == "" {
		var b [16]byte
		_, _ = crand.Read(b[:])
		ci.ID = hex.EncodeToString(b[:])
	}
	f.mu.Lock()
	f.checkins = append(f.checkins, ci)
	dropped := 0
	if len(f.checkins) > maxCheckIns {
		dropped = len(f.checkins) - maxCheckIns
		f.checkins = f.checkins[dropped:]
	}
	f.mu.Unlock()
	if dropped > 0 {
		f.log.Error("vault station: check-ins not sent to the office server dropped", "count", dropped)
	}
	f.pokeReport()
}

// PendingCheckIns is the number of check-ins not yet answered by the server.
func (f *Follower) PendingCheckIns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.checkins)
}

func (f *Follower) pokeReport() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// Run follows the server and the cache file, and reports, until ctx ends. Without
// a Client (a standalone host, enrolled by file) it follows the cache file alone:
// `policy import` writes the policy carried in there.
func (f *Follower) Run(ctx context.Context) {
	if f.cfg.Client == nil {
		f.watchCache(ctx)
		return
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); f.poll(ctx) }()
	go func() { defer wg.Done(); f.watchCache(ctx) }()
	go func() { defer wg.Done(); f.report(ctx) }()
	wg.Wait()
}

// poll long-polls the server. The server answers at once when it has a newer
// policy and after Wait otherwise, so an idle host makes one request per Wait; a
// failure or a refused policy waits a growing, jittered pause first.
func (f *Follower) poll(ctx context.Context) {
	failures, first, whole := 0, true, false
	for ctx.Err() == nil {
		var after uint64
		if cur := f.Current(); cur != nil {
			after = cur.Document.Version
		}
		// The first request, and the first after a failure, does not wait: status
		// then knows at once whether the server is there.
		wait := f.cfg.Wait
		if first || failures > 0 || whole {
			wait, first = 0, false
		}
		env, err := f.cfg.Client.Policy(ctx, after, wait, !whole)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f.unreachable(err)
			failures++
			sleep(ctx, backoff(failures, f.cfg.MaxBackoff))
			continue
		}
		f.reachable()
		if env == nil {
			failures = 0
			continue
		}
		var applied bool
		if policydoc.IsDelta(env) {
			// A delta that cannot be applied: the next request asks for the whole
			// document — at once when the delta was merely for another base.
			applied, err = f.OfferDelta(ctx, env)
			if err != nil {
				askedWhole := whole
				whole = true
				if !askedWhole && (errors.Is(err, policydoc.ErrDeltaBase) || errors.Is(err, policydoc.ErrDeltaDigest)) {
					continue
				}
			}
		} else {
			applied, err = f.Offer(ctx, env, event.PolicyFromServer)
			whole = false
		}
		if applied {
			failures = 0
			continue
		}
		// A refused policy, or the one in force offered again: the server would send
		// it again at once; wait first.
		if err == nil {
			f.log.Warn("the server sent the policy in force again", "version", after)
		}
		failures++
		sleep(ctx, backoff(failures, f.cfg.MaxBackoff))
	}
}

func (f *Follower) unreachable(err error) {
	f.mu.Lock()
	first := f.unreachableSince.IsZero()
	if first {
		f.unreachableSince = f.cfg.Now()
	}
	f.lastErr = err.Error()
	f.mu.Unlock()
	if first {
		f.log.Warn("office server unreachable; enforcing the policy in force", "err", err)
	}
}

func (f *Follower) reachable() {
	f.mu.Lock()
	was := !f.unreachableSince.IsZero()
	f.lastContact, f.unreachableSince, f.lastErr = f.cfg.Now(), time.Time{}, ""
	f.mu.Unlock()
	if was {
		f.log.Info("office server reachable again")
		f.pokeReport()
		if f.cfg.Reachable != nil {
			f.cfg.Reachable()
		}
	}
}

// backoff is the pause after n failures in a row: 1 s doubling up to limit, with
// ±20 % jitter so that a thousand hosts do not come back at once.
func backoff(n int, limit time.Duration) time.Duration {
	d := time.Second << min(n-1, 10)
	d = min(d, limit)
	j := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return max(d+j, 100*time.Millisecond)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// watchCache compares the cache file with the policy in force every CheckEvery. A
// file that differs is offered (a newer signed policy carried in is applied); one
// that is refused, or missing, is written back from the policy in force.
func (f *Follower) watchCache(ctx context.Context) {
	t := time.NewTicker(f.cfg.CheckEvery)
	defer t.Stop()
	path := filepath.Join(f.cfg.State.Dir, FilePolicy)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.CheckCache(ctx, path)
	}
}

// CheckCache is one comparison of watchCache.
func (f *Follower) CheckCache(ctx context.Context, path string) {
	cur := f.Current()
	b, err := os.ReadFile(path)
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		f.log.Warn("read policy cache", "err", err)
		return
	case err == nil && cur != nil && bytes.Equal(b, cur.Envelope):
		return
	case err == nil:
		if applied, _ := f.Offer(ctx, b, event.PolicyFromFile); applied {
			return
		}
	}
	if cur = f.Current(); cur != nil {
		if err := f.cfg.State.SavePolicy(cur); err != nil {
			f.log.Error("restore policy cache", "err", err)
		} else {
			f.log.Warn("policy cache restored from the policy in force", "version", cur.Document.Version)
		}
	}
}

// report sends the host's state every ReportEvery, and a second after something to
// report happened (a policy applied, media seen, the server back).
func (f *Follower) report(ctx context.Context) {
	t := time.NewTicker(f.cfg.ReportEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.sendReport(context.WithoutCancel(ctx), "stopped", 2*time.Second)
			return
		case <-t.C:
		case <-f.poke:
			sleep(ctx, time.Second) // gather what comes together
		}
		state := "running"
		if f.cfg.DaemonState != nil {
			state = f.cfg.DaemonState()
		}
		f.sendReport(ctx, state, 30*time.Second)
	}
}

func (f *Follower) sendReport(ctx context.Context, state string, timeout time.Duration) {
	f.mu.Lock()
	seen, cis := f.seen, f.checkins
	f.seen, f.checkins = nil, nil
	var version uint64
	if f.cur != nil {
		version = f.cur.Document.Version
	}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	outs, err := f.cfg.Client.Report(ctx, Report{Daemon: state, PolicyVersion: version, Seen: seen, CheckIns: cis})
	if err != nil {
		f.log.Debug("report", "err", err)
		f.mu.Lock()
		f.seen = append(seen, f.seen...)
		if len(f.seen) > maxSeen {
			f.seen = f.seen[len(f.seen)-maxSeen:]
		}
		// Sent again with the same ids: the server records each once.
		f.checkins = append(cis, f.checkins...)
		f.mu.Unlock()
		return
	}
	for _, o := range outs {
		switch o.Outcome {
		case "checked-in":
			f.log.Info("checked in at the office", "medium", o.Number, "id", o.ID)
		case "no-campaign", "already-checked-in":
			f.log.Info("check-in not needed", "outcome", o.Outcome, "id", o.ID)
		default:
			f.log.Warn("check-in refused by the office server", "outcome", o.Outcome, "code", o.Code, "id", o.ID)
		}
		if f.cfg.CheckedIn != nil {
			f.cfg.CheckedIn(o)
		}
	}
}
