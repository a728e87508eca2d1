package mountwatch

import "time"

// Key identifies one mount across two tables. Mount ids alone are not
// enough: the kernel hands a freed id to the next mount.
type Key struct {
	ID         int
	Source     string
	MountPoint string
}

// KeyOf returns the diff key of m.
func KeyOf(m Mount) Key { return Key{ID: m.ID, Source: m.Source, MountPoint: m.MountPoint} }

// Diff compares two mount tables and returns what changed, stamped with now.
// Order: unmounts (last-mounted first, so children before parents), then
// remounts, then mounts in table order (parents before children). A mount
// id reused for a different source or mount point yields an Unmount of the
// old mount and a Mount of the new one. A mount moved with mount --move
// shows as Unmount + Mount with the same id.
func Diff(prev, next []Mount, now time.Time) []Event {
	old := make(map[Key]int, len(prev))
	for i, m := range prev {
		old[KeyOf(m)] = i
	}
	seen := make([]bool, len(prev))
	var mounts, remounts []Event
	for _, m := range next {
		i, ok := old[KeyOf(m)]
		if !ok || seen[i] {
			mounts = append(mounts, eventFor(KindMount, m, now))
			continue
		}
		seen[i] = true
		p := prev[i]
		if p.Options == m.Options && p.SuperOptions == m.SuperOptions {
			continue
		}
		k := KindRemount
		switch wasRO, isRO := p.ReadOnly(), m.ReadOnly(); {
		case !wasRO && isRO:
			k = KindRemountRO
		case wasRO && !isRO:
			k = KindRemountRW
		}
		e := eventFor(k, m, now)
		e.PrevOptions, e.PrevSuperOptions = p.Options, p.SuperOptions
		remounts = append(remounts, e)
	}
	var events []Event
	for i := len(prev) - 1; i >= 0; i-- {
		if !seen[i] {
			events = append(events, eventFor(KindUnmount, prev[i], now))
		}
	}
	events = append(events, remounts...)
	return append(events, mounts...)
}

// SeenAtStart returns a KindSeenAtStart event for every mount in table that
// keep accepts (all of them when keep is nil), for logging mounts that
// happened while nobody watched.
func SeenAtStart(table []Mount, keep func(Mount) bool, now time.Time) []Event {
	var events []Event
	for _, m := range table {
		if keep == nil || keep(m) {
			events = append(events, eventFor(KindSeenAtStart, m, now))
		}
	}
	return events
}
