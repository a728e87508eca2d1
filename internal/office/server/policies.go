package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
	"mediagate/internal/service"
)

// policyBook keeps every host's policy: its version, the digest of its document's
// content, and the signed envelope once a host asked for it. compute rebuilds the
// picture from the register after a change (kick) and bumps the version of exactly
// the hosts whose document changed, waking their long polls. Nothing polls: compute
// runs when kicked.
type policyBook struct {
	svc *service.Service
	key ed25519.PrivateKey
	now func() time.Time
	log *slog.Logger

	kick  chan struct{}
	ready chan struct{} // closed after the first compute
	build chan struct{} // bounds the envelopes built at once
	// changes counts the changes announced (Kick); auth holds the hosts as of the
	// compute that started after authGen changes. While no change is pending
	// (authGen == changes) a request is authenticated from auth, without the
	// register; a change (a revocation) sends requests to the register until the
	// next compute.
	changes atomic.Int64
	authGen int64
	auth    map[string]service.OfficeHost

	// The media as of the last compute (used by compute only).
	media     map[string]media.Medium
	numberOf  map[string]string // medium id → its number in media
	sorted    []string
	lastRead  time.Time // when the last read began
	lastFull  time.Time
	sinceFull int

	mu     sync.Mutex
	hosts  map[string]*hostPolicy
	gen    uint64              // of the newest snapshot
	diffs  []snapDiff          // what changed in the media from one snapshot to the next, oldest first
	frags  map[string]fragment // medium number → its encoded entry
	certs  map[string]string   // host → its certificate serial at the last compute
	stats  computeStats
	nready bool
}

type computeStats struct {
	Runs     int
	Last     time.Duration
	Bumped   int
	Media    int
	LastDone time.Time
}

type fragment struct {
	entry Medium
	json  []byte
	sum   [sha256.Size]byte // of json: a host's digest hashes these, not the entries
}

// sameEntry reports whether two entries encode the same (no clock involved: two
// changes in one millisecond still differ).
func sameEntry(a, b Medium) bool {
	return a.Number == b.Number && a.Kind == b.Kind && a.Level == b.Level && a.Access == b.Access && a.Custodian == b.Custodian &&
		a.Status == b.Status && a.Department == b.Department && a.Holder == b.Holder && a.DueAt.Equal(b.DueAt) &&
		a.DueAt.Location().String() == b.DueAt.Location().String() &&
		slices.Equal(a.AllowedHosts, b.AllowedHosts) && a.Identity.Kind == b.Identity.Kind && a.Identity.Key == b.Identity.Key &&
		a.Identity.Serial == b.Identity.Serial && a.Identity.VendorID == b.Identity.VendorID &&
		a.Identity.ProductID == b.Identity.ProductID && a.Identity.WWN == b.Identity.WWN && a.Identity.Capacity == b.Identity.Capacity &&
		a.Identity.DescriptorHash == b.Identity.DescriptorHash && slices.Equal(a.Identity.InterfaceClasses, b.Identity.InterfaceClasses)
}

// snapDiff is what changed in the media between the snapshot gen-1 and gen: for a
// host holding a version of an older snapshot, the deltas are made from these.
type snapDiff struct {
	gen     uint64
	changes map[string]mediumChange
}

// mediumChange is one medium before and after (nil: absent).
type mediumChange struct{ old, new *fragment }

// Limits of the history kept for deltas: the versions of a host a delta can start
// from, and the media changes kept (older diffs are dropped first).
const (
	maxHistory = 4
	maxDiffs   = 256
	maxChanges = 200_000
)

// versionInfo is what a delta needs of one version of a host's document besides the
// media: kept for the current version and the last maxHistory ones.
type versionInfo struct {
	version uint64
	level   media.Level
	profile []byte
	people  []string
	persons map[string][]byte // the snapshot's encoded people

	mu     sync.Mutex
	gen    uint64 // the newest snapshot at which this version was current
	digest string // policydoc.Digest of the document's bytes, once built
	size   int    // their length
}

func (v *versionInfo) sizeHint() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.size
}

func (v *versionInfo) state() (gen uint64, digest string, size int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen, v.digest, v.size
}

// hostPolicy is one host's current policy.
type hostPolicy struct {
	version uint64
	digest  string
	issued  time.Time
	snap    *snapshot
	own     []int    // indexes into snap.media of the media limited to this host
	people  []string // handles of the people in the document, sorted
	profile []byte   // the profile's JSON
	level   media.Level
	changed chan struct{}
	info    *versionInfo
	prev    []*versionInfo // earlier versions, newest first

	envMu sync.Mutex // held while the envelope is built from snap (compute swaps snap under it)
}

func newInfo(p *hostPolicy) *versionInfo {
	return &versionInfo{version: p.version, level: p.level, profile: p.profile, people: p.people, persons: p.snap.people, gen: p.snap.gen}
}

// snapshot is the media and people of one compute, shared by every host's document.
type snapshot struct {
	gen    uint64
	media  []media.Medium
	frags  [][]byte            // encoded entry of each medium
	sums   [][sha256.Size]byte // their digests
	byLvl  [4][]int            // media not limited to hosts, per level, by number
	digest [4]string           // cumulative: media of levels ≤ L
	people map[string][]byte   // handle → encoded person
	perLvl [4][]string         // people of the media of levels ≤ L, sorted
}

func newPolicyBook(svc *service.Service, key ed25519.PrivateKey, now func() time.Time, log *slog.Logger) *policyBook {
	return &policyBook{svc: svc, key: key, now: now, log: log, kick: make(chan struct{}, 1), ready: make(chan struct{}),
		build: make(chan struct{}, runtime.GOMAXPROCS(0)),
		hosts: map[string]*hostPolicy{}, frags: map[string]fragment{}, certs: map[string]string{}}
}

// Kick asks for a compute; kicks during a compute coalesce into one more.
func (b *policyBook) Kick() {
	b.changes.Add(1)
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// run computes at start and after every kick until ctx ends.
func (b *policyBook) run(ctx context.Context) {
	for {
		if err := b.compute(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("compute host policies", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
	}
}

// compute reads the register and updates every host's policy.
func (b *policyBook) compute(ctx context.Context) error {
	start := time.Now()
	gen := b.changes.Load()
	hosts, err := b.svc.OfficeHosts(ctx)
	if err != nil {
		return err
	}
	auth := make(map[string]service.OfficeHost, len(hosts))
	for _, h := range hosts {
		auth[h.Number] = h
	}
	b.mu.Lock()
	b.auth, b.authGen = auth, gen
	b.mu.Unlock()
	all, err := b.readMedia(ctx, b.now())
	if err != nil {
		return err
	}
	people, err := b.svc.ListPeople(ctx, true)
	if err != nil {
		return err
	}
	snap, err := b.snapshot(all, people)
	if err != nil {
		return err
	}
	// Media limited to some hosts go to those hosts only.
	own := map[string][]int{}
	for i, m := range snap.media {
		for j, h := range m.AllowedHosts {
			if !slices.Contains(m.AllowedHosts[:j], h) { // a host named twice gets the medium once
				own[h] = append(own[h], i)
			}
		}
	}
	type bump struct {
		host string
		p    *hostPolicy
	}
	var bumps []bump
	var versions []service.PolicyVersion
	// A frozen host gets a policy without media (every medium blocked) until an
	// officer thaws it: fail closed while its tampered log is looked into.
	frozen := &snapshot{people: map[string][]byte{}}
	for _, h := range hosts {
		snap := snap
		mine := slices.DeleteFunc(slices.Clone(own[h.Number]), func(i int) bool { return snap.media[i].Level > h.Level })
		if !h.Log.Frozen.IsZero() {
			snap, mine = frozen, nil
		}
		prof, err := json.Marshal(fromHost(h.Host))
		if err != nil {
			return err
		}
		ppl := peopleOf(snap, h.Level, mine)
		digest := docDigest(prof, snap, h.Level, mine, ppl)
		b.mu.Lock()
		st := b.hosts[h.Number]
		cert := h.CertSerial
		if !h.Revoked.IsZero() {
			cert = "revoked"
		}
		if old, seen := b.certs[h.Number]; seen && old != cert && st != nil {
			// Revoked or enrolled again: polls waiting with the old certificate re-check
			// it and end.
			close(st.changed)
			st.changed = make(chan struct{})
		}
		b.certs[h.Number] = cert
		b.mu.Unlock()
		switch {
		case st != nil && st.digest == digest:
			// Same content: move to the newest snapshot so that old ones are freed.
			st.envMu.Lock()
			st.snap, st.own = snap, mine
			st.envMu.Unlock()
			st.info.mu.Lock()
			st.info.gen = snap.gen
			st.info.mu.Unlock()
			continue
		case st == nil && h.PolicyVersion > 0 && h.PolicyHash == digest:
			// Restarted with the same content: the same version, signed again to the
			// very same bytes.
			p := &hostPolicy{version: h.PolicyVersion, digest: digest, issued: h.PolicyIssued, snap: snap,
				own: mine, people: ppl, profile: prof, level: h.Level}
			p.info = newInfo(p)
			b.publish(h.Number, p)
			continue
		}
		next := h.PolicyVersion + 1
		if st != nil && st.version >= next {
			next = st.version + 1
		}
		issued := b.now().UTC().Truncate(time.Millisecond)
		versions = append(versions, service.PolicyVersion{Host: h.Number, Version: next, Hash: digest, Issued: issued})
		np := &hostPolicy{version: next, digest: digest, issued: issued, snap: snap, own: mine, people: ppl,
			profile: prof, level: h.Level}
		np.info = newInfo(np)
		if st != nil {
			np.prev = append([]*versionInfo{st.info}, st.prev[:min(len(st.prev), maxHistory-1)]...)
		}
		bumps = append(bumps, bump{h.Number, np})
	}
	// The new versions are stored before any host sees them: a restarted server
	// never goes back to a version a host already holds.
	if len(versions) > 0 {
		if err := b.svc.SetPolicyVersions(ctx, versions); err != nil {
			return err
		}
	}
	for _, x := range bumps {
		b.publish(x.host, x.p)
	}
	bumped := len(bumps)
	b.mu.Lock()
	b.stats = computeStats{Runs: b.stats.Runs + 1, Last: time.Since(start), Bumped: bumped, Media: len(all), LastDone: time.Now()}
	if !b.nready {
		b.nready = true
		close(b.ready)
	}
	b.mu.Unlock()
	b.log.Debug("host policies computed", "hosts", len(hosts), "media", len(all), "bumped", bumped, "took", time.Since(start))
	return nil
}

// Reading the media: the whole register at the first compute, then only what changed
// since the previous compute began (less a margin for transactions that stamped their
// change before it and committed after, and for a clock stepped back), and the whole
// register again every fullEvery computes or fullAfter — so that no change is missed
// for long even if the clock was set back by more than the margin.
const (
	changedMargin = time.Minute
	fullEvery     = 100
	fullAfter     = 10 * time.Minute
)

func (b *policyBook) readMedia(ctx context.Context, start time.Time) ([]media.Medium, error) {
	full := b.media == nil || b.sinceFull >= fullEvery || start.Sub(b.lastFull) >= fullAfter || start.Before(b.lastRead)
	var changed []media.Medium
	var err error
	if full {
		changed, err = b.svc.ListMedia(ctx, service.MediaFilter{})
	} else {
		changed, err = b.svc.MediaChangedSince(ctx, b.lastRead.Add(-changedMargin))
	}
	if err != nil {
		return nil, err
	}
	if full {
		b.media = make(map[string]media.Medium, len(changed))
		b.numberOf = make(map[string]string, len(changed))
		b.lastFull, b.sinceFull = start, 0
	} else {
		b.sinceFull++
	}
	b.lastRead = start
	added := false
	for _, m := range changed {
		// A relevel may give a medium a new number: the entry under the old one goes.
		if old, ok := b.numberOf[m.ID]; ok && old != m.Number {
			delete(b.media, old)
			added = true
		}
		b.numberOf[m.ID] = m.Number
		if _, ok := b.media[m.Number]; !ok {
			added = true
		}
		b.media[m.Number] = m
	}
	if full || added || b.sorted == nil {
		b.sorted = b.sorted[:0]
		for n := range b.media {
			b.sorted = append(b.sorted, n)
		}
		slices.Sort(b.sorted)
	}
	all := make([]media.Medium, len(b.sorted))
	for i, n := range b.sorted {
		all[i] = b.media[n]
	}
	return all, nil
}

// publish replaces a host's policy and wakes whoever waits for it.
func (b *policyBook) publish(host string, p *hostPolicy) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.changed = make(chan struct{})
	if old := b.hosts[host]; old != nil {
		close(old.changed)
	}
	b.hosts[host] = p
}

// cachedHost returns a host's record as of the last compute, when no change was
// announced since.
func (b *policyBook) cachedHost(number string) (service.OfficeHost, bool, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.auth == nil || b.authGen != b.changes.Load() {
		return service.OfficeHost{}, false, false
	}
	h, ok := b.auth[number]
	return h, ok, true
}

// current returns a host's version and the channel closed at its next change.
func (b *policyBook) current(host string) (*hostPolicy, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.hosts[host]
	if p == nil {
		return nil, 0, nil
	}
	return p, p.version, p.changed
}

func (b *policyBook) snapshot(all []media.Medium, people []media.Person) (*snapshot, error) {
	s := &snapshot{media: all, frags: make([][]byte, len(all)), sums: make([][sha256.Size]byte, len(all)), people: map[string][]byte{}}
	b.mu.Lock()
	frags, first := b.frags, b.gen == 0
	s.gen = b.gen + 1
	b.mu.Unlock()
	next := make(map[string]fragment, len(all))
	changes := map[string]mediumChange{}
	for i, m := range all {
		e := fromMedium(m)
		f, ok := frags[m.Number]
		if !ok || !sameEntry(f.entry, e) {
			j, err := json.Marshal(e)
			if err != nil {
				return nil, fmt.Errorf("encode medium %s: %w", m.Number, err)
			}
			var ch mediumChange
			if ok {
				old := f
				ch.old = &old
			}
			f = fragment{entry: e, json: j, sum: sha256.Sum256(j)}
			nf := f
			ch.new = &nf
			if !first {
				changes[m.Number] = ch
			}
		}
		next[m.Number] = f
		s.frags[i], s.sums[i] = f.json, f.sum
		if len(m.AllowedHosts) == 0 && m.Level.Valid() {
			s.byLvl[m.Level] = append(s.byLvl[m.Level], i)
		}
	}
	if !first {
		for n, f := range frags {
			if _, ok := next[n]; !ok {
				old := f
				changes[n] = mediumChange{old: &old}
			}
		}
	}
	b.mu.Lock()
	b.frags = next
	b.gen = s.gen
	if !first {
		b.diffs = append(b.diffs, snapDiff{gen: s.gen, changes: changes})
		total := 0
		for _, d := range b.diffs {
			total += len(d.changes)
		}
		for len(b.diffs) > maxDiffs || (len(b.diffs) > 1 && total > maxChanges) {
			total -= len(b.diffs[0].changes)
			b.diffs = slices.Delete(b.diffs, 0, 1)
		}
	}
	b.mu.Unlock()
	h := sha256.New()
	sets := [4]map[string]bool{}
	for l := range 4 {
		for _, i := range s.byLvl[l] {
			h.Write(s.sums[i][:])
		}
		s.digest[l] = hex.EncodeToString(h.Sum(nil))
		h.Write([]byte{'|'})
		sets[l] = map[string]bool{}
		if l > 0 {
			for k := range sets[l-1] {
				sets[l][k] = true
			}
		}
		for _, i := range s.byLvl[l] {
			addPeople(sets[l], all[i])
		}
	}
	for _, p := range people {
		j, err := json.Marshal(fromPerson(p))
		if err != nil {
			return nil, err
		}
		s.people[p.Handle] = j
	}
	for l := range 4 {
		for k := range sets[l] {
			if _, ok := s.people[k]; ok {
				s.perLvl[l] = append(s.perLvl[l], k)
			}
		}
		slices.Sort(s.perLvl[l])
	}
	return s, nil
}

func addPeople(set map[string]bool, m media.Medium) {
	if m.Custodian != "" {
		set[m.Custodian] = true
	}
	if m.Holder != "" {
		set[m.Holder] = true
	}
}

// peopleOf lists the custodians and holders of a host's media.
func peopleOf(s *snapshot, level media.Level, own []int) []string {
	if !level.Valid() {
		return nil
	}
	base := s.perLvl[level]
	if len(own) == 0 {
		return base
	}
	set := map[string]bool{}
	for _, i := range own {
		addPeople(set, s.media[i])
	}
	out := slices.Clone(base)
	for k := range set {
		if _, ok := s.people[k]; ok {
			if _, found := slices.BinarySearch(base, k); !found {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// docDigest is the digest of a host's document without version and issue time.
func docDigest(profile []byte, s *snapshot, level media.Level, own []int, people []string) string {
	h := sha256.New()
	h.Write(profile)
	h.Write([]byte{0})
	if level.Valid() {
		h.Write([]byte(s.digest[level]))
	}
	h.Write([]byte{0})
	for _, i := range own {
		h.Write(s.sums[i][:])
	}
	h.Write([]byte{0})
	for _, p := range people {
		h.Write(s.people[p])
		h.Write([]byte{','})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// envelope returns the host's signed policy. It is built for each answer and not
// kept (a host fetches a version once; a thousand cached envelopes of a large office
// would be gigabytes); at most GOMAXPROCS are built at once, so that a change waking
// every host does not hold every host's document in memory at the same time. The
// payload is what json.Marshal of the Document gives (TestSealMatchesSign), assembled
// from the snapshot's encoded entries; one version is always the same bytes.
func (b *policyBook) envelope(host string, p *hostPolicy) ([]byte, error) {
	b.build <- struct{}{}
	defer func() { <-b.build }()
	p.envMu.Lock()
	defer p.envMu.Unlock()
	payload, err := p.payload(host)
	if err != nil {
		return nil, err
	}
	p.info.mu.Lock()
	if p.info.digest == "" {
		p.info.digest, p.info.size = policydoc.Digest(payload), len(payload)
	}
	p.info.mu.Unlock()
	env, err := sealPayload(payload, b.key)
	if err != nil {
		return nil, fmt.Errorf("sign policy for %s: %w", host, err)
	}
	return env, nil
}

// payload assembles the document's JSON.
func (p *hostPolicy) payload(host string) ([]byte, error) {
	var buf bytes.Buffer
	if n := p.info.sizeHint(); n > 0 {
		buf.Grow(n)
	}
	if err := p.writePayload(&buf, host); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// digest returns the digest and length of the document's bytes, computed once per
// version (streamed through the hash: no copy of the document is made). Called with
// p.envMu held.
func (p *hostPolicy) docDigest(host string) (string, int, error) {
	p.info.mu.Lock()
	d, n := p.info.digest, p.info.size
	p.info.mu.Unlock()
	if d != "" {
		return d, n, nil
	}
	h := &countingHash{Hash: sha256.New()}
	if err := p.writePayload(h, host); err != nil {
		return "", 0, err
	}
	d, n = hex.EncodeToString(h.Sum(nil)), h.n
	p.info.mu.Lock()
	p.info.digest, p.info.size = d, n
	p.info.mu.Unlock()
	return d, n, nil
}

// countingHash hashes what is written to it and counts the bytes, without a copy.
type countingHash struct {
	hash.Hash
	n   int
	one [1]byte
}

func (c *countingHash) Write(b []byte) (int, error) { c.n += len(b); return c.Hash.Write(b) }

func (c *countingHash) WriteString(s string) (int, error) { return c.Write([]byte(s)) }

func (c *countingHash) WriteByte(b byte) error {
	c.one[0] = b
	_, err := c.Write(c.one[:])
	return err
}

// payloadWriter is where a document's JSON is written: a bytes.Buffer, or the hash of
// its digest.
type payloadWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// writePayload writes the document's JSON to w.
func (p *hostPolicy) writePayload(w payloadWriter, host string) error {
	s := p.snap
	hostJSON, err := json.Marshal(host)
	if err != nil {
		return err
	}
	issued, err := json.Marshal(p.issued)
	if err != nil {
		return err
	}
	w.WriteString(`{"format":"` + policyFormat + `","host":`)
	w.Write(hostJSON)
	w.WriteString(`,"version":` + strconv.FormatUint(p.version, 10) + `,"issued_at":`)
	w.Write(issued)
	w.WriteString(`,"profile":`)
	w.Write(p.profile)
	w.WriteString(`,"media":[`)
	first := true
	add := func(j []byte) {
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.Write(j)
	}
	for l := media.Level(0); p.level.Valid() && l <= p.level; l++ {
		for _, i := range s.byLvl[l] {
			add(s.frags[i])
		}
	}
	for _, i := range p.own {
		add(s.frags[i])
	}
	w.WriteByte(']')
	if len(p.people) > 0 {
		w.WriteString(`,"people":[`)
		for i, h := range p.people {
			if i > 0 {
				w.WriteByte(',')
			}
			w.Write(s.people[h])
		}
		w.WriteByte(']')
	}
	w.WriteByte('}')
	return nil
}

// sealPayload signs document bytes into an envelope (policydoc's encoding).
func sealPayload(payload []byte, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("policy key of %d bytes", len(priv))
	}
	// The envelope's JSON written directly: base64 and hex need no escaping, so these
	// are the bytes json.Marshal(envelope{…}) gives, without scanning the payload
	// again (TestSealMatchesSign).
	sig := ed25519.Sign(priv, signedMessage(payload))
	kid := keyID(priv.Public().(ed25519.PublicKey))
	enc := base64.StdEncoding
	out := make([]byte, 0, len(`{"payload":"","signature":"","key_id":""}`)+enc.EncodedLen(len(payload))+enc.EncodedLen(len(sig))+len(kid))
	out = append(out, `{"payload":"`...)
	out = enc.AppendEncode(out, payload)
	out = append(out, `","signature":"`...)
	out = enc.AppendEncode(out, sig)
	out = append(out, `","key_id":"`...)
	out = append(out, kid...)
	out = append(out, `"}`...)
	if len(out) > maxEnvelope {
		return nil, fmt.Errorf("policy envelope of %d bytes is over the %d bytes a host reads: limit media to hosts (--allowed-host)", len(out), maxEnvelope)
	}
	return out, nil
}
