package mountwatch

import (
	"fmt"
	"time"
)

// Kind says what happened to a mount.
type Kind int

const (
	KindMount       Kind = iota + 1 // a new mount appeared (including bind mounts and moves)
	KindUnmount                     // a mount disappeared
	KindRemountRO                   // a mount went from read-write to read-only
	KindRemountRW                   // a mount went from read-only to read-write
	KindRemount                     // options changed, read-only state did not
	KindSeenAtStart                 // a mount present when watching began
)

var kindNames = map[Kind]string{
	KindMount:       "mount",
	KindUnmount:     "unmount",
	KindRemountRO:   "remount-ro",
	KindRemountRW:   "remount-rw",
	KindRemount:     "remount",
	KindSeenAtStart: "seen-at-start",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Attribution names the source of an Event's "who" fields.
const (
	// AttributionNone: nothing tells who did it (the mountinfo poll watcher,
	// remounts, and mounts present at start).
	AttributionNone = "none"
	// AttributionFanotify: the pid came with a fanotify FAN_MNT_ATTACH or
	// FAN_MNT_DETACH event; comm, uid and loginuid were read from /proc/<pid>.
	AttributionFanotify = "fanotify"
	// AttributionFanotifyExited: fanotify gave the pid but the process was
	// gone before /proc/<pid> could be read.
	AttributionFanotifyExited = "fanotify-exited"
)

// UnknownID marks a uid or loginuid that is not known.
const UnknownID = -1

// Event is one change in the mount table.
type Event struct {
	Kind         Kind
	MountID      int    // mountinfo mount id; reused by the kernel
	ParentID     int    // parent mount id
	Major, Minor uint32 // device number of the filesystem
	Source       string // e.g. "/dev/sdb1"
	FSType       string
	Root         string // root within the filesystem; not "/" for a bind of a subtree
	MountPoint   string
	ReadOnly     bool   // effective read-only state after the event (before it, for unmounts)
	Options      string // per-mount options
	SuperOptions string // per-superblock options
	// PrevOptions and PrevSuperOptions hold the options before a remount.
	PrevOptions, PrevSuperOptions string
	Time                          time.Time // when the watcher noticed, from the injected clock

	// Who did it, as far as Attribution tells. PID 0 means unknown.
	PID         int
	Comm        string // /proc/<pid>/comm
	UID         int    // real uid from /proc/<pid>/status, or UnknownID
	User        string // user name of UID, "" if unknown
	LoginUID    int    // /proc/<pid>/loginuid (audit auid), or UnknownID when unset
	LoginUser   string // user name of LoginUID
	Attribution string // AttributionNone, AttributionFanotify, AttributionAudit, …
	// Set by the kernel audit attribution only: the executable, the syscall and the
	// audit event id ("SECONDS.MILLIS:SERIAL", as ausearch names it).
	Exe, Syscall, AuditID string
}

// Device returns "major:minor".
func (e Event) Device() string { return fmt.Sprintf("%d:%d", e.Major, e.Minor) }

// BlockDevice reports whether the event concerns a block-device mount.
func (e Event) BlockDevice() bool { return e.mount().BlockDevice() }

func (e Event) mount() Mount {
	return Mount{ID: e.MountID, ParentID: e.ParentID, Major: e.Major, Minor: e.Minor,
		Root: e.Root, MountPoint: e.MountPoint, Options: e.Options, FSType: e.FSType,
		Source: e.Source, SuperOptions: e.SuperOptions}
}

// eventFor builds an Event of kind k for m with no attribution.
func eventFor(k Kind, m Mount, now time.Time) Event {
	return Event{
		Kind: k, MountID: m.ID, ParentID: m.ParentID, Major: m.Major, Minor: m.Minor,
		Source: m.Source, FSType: m.FSType, Root: m.Root, MountPoint: m.MountPoint,
		ReadOnly: m.ReadOnly(), Options: m.Options, SuperOptions: m.SuperOptions,
		Time: now, UID: UnknownID, LoginUID: UnknownID, Attribution: AttributionNone,
	}
}
