package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

// Policy deltas. A host that holds version `after` of its document and says it takes
// deltas gets the entries added, changed and removed since, and the profile if it
// changed, signed with the digest of the whole new document — when the server still
// knows that version (the last maxHistory versions of each host, and the media
// changes of the snapshots since) and the delta is smaller than the document.
// Otherwise, and whenever the host cannot apply it, the whole document is sent.

// changesSince merges the media changes of the snapshots after from up to to: each
// medium's state at from and at to. ok is false when some of them are no longer kept.
func (b *policyBook) changesSince(from, to uint64) (map[string]mediumChange, bool) {
	out := map[string]mediumChange{}
	if from == to {
		return out, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i, found := slices.BinarySearchFunc(b.diffs, from+1, func(d snapDiff, g uint64) int {
		switch {
		case d.gen < g:
			return -1
		case d.gen > g:
			return 1
		}
		return 0
	})
	if !found {
		return nil, false
	}
	for _, d := range b.diffs[i:] {
		if d.gen > to {
			break
		}
		for n, c := range d.changes {
			if prev, seen := out[n]; seen {
				c.old = prev.old
			}
			out[n] = c
		}
	}
	return out, true
}

// inDoc reports whether a medium is in the document of a host of the given level (as
// compute and writePayload put it there).
func inDoc(f *fragment, host string, level media.Level) bool {
	if f == nil || !level.Valid() {
		return false
	}
	e := f.entry
	if len(e.AllowedHosts) == 0 {
		return e.Level.Valid() && e.Level <= level
	}
	return e.Level <= level && slices.Contains(e.AllowedHosts, host)
}

// delta returns the signed delta from version after to p, or nil when there is none
// to give (the version is not known any more, or the delta would not be smaller).
func (b *policyBook) delta(host string, p *hostPolicy, after uint64) ([]byte, error) {
	var base *versionInfo
	for _, v := range p.prev {
		if v.version == after {
			base = v
			break
		}
	}
	if base == nil || base.level != p.level {
		return nil, nil
	}
	baseGen, baseDigest, _ := base.state()
	if baseDigest == "" {
		return nil, nil // never sent: the host cannot hold it
	}
	b.build <- struct{}{}
	defer func() { <-b.build }()
	p.envMu.Lock()
	defer p.envMu.Unlock()
	s := p.snap
	changes, ok := b.changesSince(baseGen, s.gen)
	if !ok {
		return nil, nil
	}
	digest, size, err := p.docDigest(host)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	hostJSON, _ := json.Marshal(host)
	issued, err := json.Marshal(p.issued)
	if err != nil {
		return nil, err
	}
	buf.WriteString(`{"format":"` + policydoc.DeltaFormat + `","host":`)
	buf.Write(hostJSON)
	fmt.Fprintf(&buf, `,"from_version":%d,"from_digest":"%s","version":%d,"issued_at":`, after, baseDigest, p.version)
	buf.Write(issued)
	fmt.Fprintf(&buf, `,"digest":"%s"`, digest)
	if !bytes.Equal(base.profile, p.profile) {
		buf.WriteString(`,"profile":`)
		buf.Write(p.profile)
	}
	// A delta is sent only when it is smaller than the document: stop early.
	limit := size
	var removed []string
	first := true
	numbers := make([]string, 0, len(changes))
	for n := range changes {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		c := changes[n]
		was, is := inDoc(c.old, host, base.level), inDoc(c.new, host, p.level)
		switch {
		case is && (!was || c.old.sum != c.new.sum):
			if first {
				buf.WriteString(`,"media":[`)
			} else {
				buf.WriteByte(',')
			}
			first = false
			buf.Write(c.new.json)
		case was && !is:
			removed = append(removed, n)
		}
		if buf.Len() > limit {
			return nil, nil
		}
	}
	if !first {
		buf.WriteByte(']')
	}
	writeList := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		buf.WriteString(`,"` + key + `":[`)
		for i, n := range items {
			if i > 0 {
				buf.WriteByte(',')
			}
			j, _ := json.Marshal(n)
			buf.Write(j)
		}
		buf.WriteByte(']')
	}
	writeList("removed", removed)
	// People: the handles of both documents are sorted.
	var gone []string
	firstP := true
	for _, h := range p.people {
		old, had := base.persons[h]
		if _, listed := slices.BinarySearch(base.people, h); !listed {
			had = false
		}
		if had && bytes.Equal(old, s.people[h]) {
			continue
		}
		if firstP {
			buf.WriteString(`,"people":[`)
		} else {
			buf.WriteByte(',')
		}
		firstP = false
		buf.Write(s.people[h])
	}
	if !firstP {
		buf.WriteByte(']')
	}
	for _, h := range base.people {
		if _, still := slices.BinarySearch(p.people, h); !still {
			gone = append(gone, h)
		}
	}
	writeList("people_removed", gone)
	buf.WriteByte('}')
	if buf.Len() > limit {
		return nil, nil
	}
	env, err := policydoc.SignDelta(buf.Bytes(), b.key)
	if err != nil {
		return nil, fmt.Errorf("delta for %s from version %s: %w", host, strconv.FormatUint(after, 10), err)
	}
	return env, nil
}
