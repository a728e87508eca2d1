package mountwatch

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// AttributionAudit: the kernel audit subsystem reported the mount, unmount or
// remount syscall (a rule the watcher added; records read from the audit netlink
// multicast group): pid, comm, exe, uid and the login uid (auid) of the caller.
const AttributionAudit = "audit"

// Audit record types (linux/audit.h) the mount log reads.
const (
	AuditSyscall = 1300 // AUDIT_SYSCALL: the syscall, its result and the process
	AuditPath    = 1302 // AUDIT_PATH: one path name the syscall looked up
	AuditCWD     = 1307 // AUDIT_CWD: the working directory, for relative names
	AuditEOE     = 1320 // AUDIT_EOE: end of a multi-record event
)

// AuditKey is the key of the audit rules mediagate adds; records of other rules are
// ignored.
const AuditKey = "mediagate-mount"

// MaxAuditRecord bounds a record's text (the kernel's MAX_AUDIT_MESSAGE_LENGTH is
// 8970); longer input is refused.
const MaxAuditRecord = 8970

// ErrAuditRecord is returned for text that is not an audit record.
var ErrAuditRecord = errors.New("not an audit record")

// AuditRecord is one record of the kernel audit subsystem: the header
// "audit(SECONDS.MILLIS:SERIAL): " and the fields after it.
type AuditRecord struct {
	Type   uint16
	Time   time.Time
	Serial uint64
	Fields map[string]string // values unquoted; hex-encoded values decoded where the kernel encodes them
}

// hexFields are the fields the kernel writes either quoted or, when they hold
// spaces, quotes or control characters, as hex without quotes (audit_log_untrustedstring).
var hexFields = map[string]bool{"comm": true, "exe": true, "name": true, "cwd": true, "key": true, "proctitle": true}

// ParseAuditRecord parses the text of one record as the kernel sends it over netlink
// (no "type=… msg=" prefix: the type is the netlink message type).
func ParseAuditRecord(typ uint16, b []byte) (AuditRecord, error) {
	if len(b) > MaxAuditRecord {
		return AuditRecord{}, fmt.Errorf("%w: %d bytes", ErrAuditRecord, len(b))
	}
	b = bytes.TrimRight(b, "\x00\n")
	rest, ok := bytes.CutPrefix(b, []byte("audit("))
	if !ok {
		return AuditRecord{}, fmt.Errorf("%w: no header", ErrAuditRecord)
	}
	hdr, rest, ok := bytes.Cut(rest, []byte("):"))
	if !ok {
		return AuditRecord{}, fmt.Errorf("%w: unterminated header", ErrAuditRecord)
	}
	stamp, serial, ok := bytes.Cut(hdr, []byte(":"))
	if !ok {
		return AuditRecord{}, fmt.Errorf("%w: header %q", ErrAuditRecord, hdr)
	}
	secs, millis, ok := bytes.Cut(stamp, []byte("."))
	if !ok || len(millis) != 3 {
		return AuditRecord{}, fmt.Errorf("%w: time %q", ErrAuditRecord, stamp)
	}
	s, err1 := strconv.ParseInt(string(secs), 10, 64)
	ms, err2 := strconv.ParseUint(string(millis), 10, 16)
	n, err3 := strconv.ParseUint(string(serial), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || s < 0 {
		return AuditRecord{}, fmt.Errorf("%w: header %q", ErrAuditRecord, hdr)
	}
	r := AuditRecord{Type: typ, Time: time.Unix(s, int64(ms)*int64(time.Millisecond)), Serial: n, Fields: map[string]string{}}
	if err := parseAuditFields(rest, r.Fields); err != nil {
		return AuditRecord{}, err
	}
	return r, nil
}

// parseAuditFields reads space-separated key=value pairs; a value is "quoted" (no
// escapes: the kernel hex-encodes anything a quote could not hold), 'single quoted'
// (msg='…' of user records, kept whole) or a bare token.
func parseAuditFields(b []byte, out map[string]string) error {
	for {
		b = bytes.TrimLeft(b, " ")
		if len(b) == 0 {
			return nil
		}
		eq := bytes.IndexByte(b, '=')
		sp := bytes.IndexByte(b, ' ')
		if eq <= 0 || (sp >= 0 && sp < eq) {
			// a word without a value: skip it
			if sp < 0 {
				return nil
			}
			b = b[sp:]
			continue
		}
		key := string(b[:eq])
		b = b[eq+1:]
		var val []byte
		quoted := false
		switch {
		case len(b) > 0 && (b[0] == '"' || b[0] == '\''):
			end := bytes.IndexByte(b[1:], b[0])
			if end < 0 {
				return fmt.Errorf("%w: unterminated value of %s", ErrAuditRecord, key)
			}
			val, b, quoted = b[1:1+end], b[2+end:], true
		default:
			end := bytes.IndexByte(b, ' ')
			if end < 0 {
				end = len(b)
			}
			val, b = b[:end], b[end:]
		}
		v := string(val)
		if !quoted && hexFields[key] && v != "(null)" && len(v)%2 == 0 {
			if d, err := hex.DecodeString(v); err == nil {
				v = string(d)
			}
		}
		if _, dup := out[key]; !dup {
			out[key] = v
		}
	}
}

// AuditMount is one mount-related syscall as the audit records of one event tell it.
type AuditMount struct {
	ID      string // "SECONDS.MILLIS:SERIAL", the event id auditd and ausearch use
	Time    time.Time
	Serial  uint64
	Syscall string // mount, umount2, umount, move_mount, fsmount, mount_setattr, …
	Flags   uint64 // mount(2)'s flags (a3), 0 for the others
	Success bool
	PID     int
	PPID    int
	UID     int // real uid, or UnknownID
	AUID    int // login uid, or UnknownID when unset
	Comm    string
	Exe     string
	Key     string
	CWD     string
	Paths   []string // PATH names in item order, made absolute with CWD
}

// mount(2) flags the log tells apart.
const (
	msRemount = 0x20
	msMove    = 0x2000
)

// Remount reports whether the syscall changed the options of an existing mount.
func (m AuditMount) Remount() bool {
	return (m.Syscall == "mount" && m.Flags&msRemount != 0) || m.Syscall == "mount_setattr"
}

// Unmount reports whether the syscall detaches a mount.
func (m AuditMount) Unmount() bool { return m.Syscall == "umount2" || m.Syscall == "umount" }

// Attach reports whether the syscall makes a new mount (or moves one).
func (m AuditMount) Attach() bool {
	return (m.Syscall == "mount" && m.Flags&msRemount == 0) || m.Syscall == "move_mount"
}

// Names reports whether p is one of the syscall's path names.
func (m AuditMount) Names(p string) bool {
	for _, q := range m.Paths {
		if q == p {
			return true
		}
	}
	return false
}

// Audit architectures (AUDIT_ARCH_*) as the SYSCALL record writes them, and their
// mount-related syscall numbers. Numbers from 424 up are the same on every
// architecture.
var auditSyscalls = map[string]map[int]string{
	"c000003e": {165: "mount", 166: "umount2", 428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount", 442: "mount_setattr"},             // x86_64
	"40000003": {21: "mount", 22: "umount", 52: "umount2", 428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount", 442: "mount_setattr"}, // i386
	"c00000b7": {40: "mount", 39: "umount2", 428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount", 442: "mount_setattr"},               // aarch64
}

// AuditSyscallNumbers returns the numbers of the syscalls the mount log audits on an
// architecture (the AUDIT_ARCH value, e.g. 0xc000003e), for the rule.
func AuditSyscallNumbers(arch uint32) []int {
	var out []int
	for n, name := range auditSyscalls[fmt.Sprintf("%08x", arch)] {
		switch name {
		case "mount", "umount", "umount2", "move_mount", "fsmount", "mount_setattr":
			out = append(out, n)
		}
	}
	return out
}

// AuditAssembler groups the records of one audit event (same serial) into an
// AuditMount. It keeps at most maxPending unfinished events.
type AuditAssembler struct {
	pending map[uint64]*AuditMount
	order   []uint64
}

const maxPending = 64

// Add takes one record. It returns the finished event when the record ends it (EOE)
// and the event is a mediagate-keyed mount syscall; records of other events and
// unparsable records are dropped.
func (a *AuditAssembler) Add(typ uint16, b []byte) (AuditMount, bool) {
	switch typ {
	case AuditSyscall, AuditPath, AuditCWD, AuditEOE:
	default:
		return AuditMount{}, false
	}
	r, err := ParseAuditRecord(typ, b)
	if err != nil {
		return AuditMount{}, false
	}
	if a.pending == nil {
		a.pending = map[uint64]*AuditMount{}
	}
	m := a.pending[r.Serial]
	if typ == AuditSyscall {
		sc, ok := syscallOf(r)
		if !ok {
			return AuditMount{}, false
		}
		if m == nil {
			m = &AuditMount{}
			a.keep(r.Serial, m)
		}
		m.ID = fmt.Sprintf("%d.%03d:%d", r.Time.Unix(), r.Time.Nanosecond()/int(time.Millisecond), r.Serial)
		m.Time, m.Serial, m.Syscall = r.Time, r.Serial, sc
		m.Success = r.Fields["success"] == "yes"
		m.PID, m.PPID = atoiOr(r.Fields["pid"], 0), atoiOr(r.Fields["ppid"], 0)
		m.UID, m.AUID = auditID(r.Fields["uid"]), auditID(r.Fields["auid"])
		m.Comm, m.Exe, m.Key = r.Fields["comm"], r.Fields["exe"], r.Fields["key"]
		if sc == "mount" {
			m.Flags, _ = strconv.ParseUint(r.Fields["a3"], 16, 64)
		}
		return AuditMount{}, false
	}
	if m == nil {
		// CWD and PATH come after SYSCALL; a record of an event whose SYSCALL we
		// dropped (another syscall) lands here and is ignored. EOE of such events too.
		if typ == AuditEOE {
			return AuditMount{}, false
		}
		m = &AuditMount{}
		a.keep(r.Serial, m) // the SYSCALL record may yet come: keep the parts
	}
	switch typ {
	case AuditCWD:
		m.CWD = r.Fields["cwd"]
	case AuditPath:
		if name, ok := r.Fields["name"]; ok && name != "(null)" {
			m.Paths = append(m.Paths, name)
		}
	case AuditEOE:
		a.forget(r.Serial)
		if m.Syscall == "" || m.Key != AuditKey {
			return AuditMount{}, false
		}
		for i, p := range m.Paths {
			if !path.IsAbs(p) && path.IsAbs(m.CWD) {
				p = path.Join(m.CWD, p)
			}
			m.Paths[i] = path.Clean(p)
		}
		return *m, true
	}
	return AuditMount{}, false
}

func (a *AuditAssembler) keep(serial uint64, m *AuditMount) {
	if len(a.order) >= maxPending {
		delete(a.pending, a.order[0])
		a.order = a.order[1:]
	}
	a.pending[serial] = m
	a.order = append(a.order, serial)
}

func (a *AuditAssembler) forget(serial uint64) {
	delete(a.pending, serial)
	for i, s := range a.order {
		if s == serial {
			a.order = append(a.order[:i], a.order[i+1:]...)
			break
		}
	}
}

func syscallOf(r AuditRecord) (string, bool) {
	table := auditSyscalls[strings.ToLower(r.Fields["arch"])]
	n, err := strconv.Atoi(r.Fields["syscall"])
	if table == nil || err != nil {
		return "", false
	}
	name, ok := table[n]
	return name, ok
}

// auditID parses a uid or auid field; unset (4294967295, or -1) is UnknownID.
func auditID(s string) int {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n >= 0xffffffff {
		return UnknownID
	}
	return int(n)
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// Matches reports whether the syscall m made the change ev: an attach (mount, bind,
// move_mount) for a mount, an unmount (or the old place of a move) for an unmount, a
// remount for an option change — and, for all of them, the event's mount point is one
// of the syscall's path names. Failed syscalls match nothing.
func (m AuditMount) Matches(ev Event) bool {
	if !m.Success {
		return false
	}
	switch ev.Kind {
	case KindMount:
		if !m.Attach() {
			return false
		}
	case KindUnmount:
		if !m.Unmount() && !(m.Syscall == "mount" && m.Flags&msMove != 0) && m.Syscall != "move_mount" {
			return false
		}
	case KindRemountRO, KindRemountRW, KindRemount:
		if !m.Remount() {
			return false
		}
	default:
		return false
	}
	return m.Names(path.Clean(ev.MountPoint))
}

// Apply fills the who-fields of ev from m, with user names from lookup.
func (m AuditMount) Apply(ev *Event, lookup func(uid int) string) {
	ev.PID, ev.Comm, ev.Exe = m.PID, m.Comm, m.Exe
	ev.UID, ev.LoginUID = m.UID, m.AUID
	ev.User, ev.LoginUser = "", ""
	if lookup != nil && m.UID != UnknownID {
		ev.User = lookup(m.UID)
	}
	if lookup != nil && m.AUID != UnknownID {
		ev.LoginUser = lookup(m.AUID)
	}
	ev.Attribution, ev.AuditID, ev.Syscall = AttributionAudit, m.ID, m.Syscall
}

// AuditBuffer keeps recent mount syscalls until an event of the mount table claims
// them. It is bounded in count and age; it is not safe for concurrent use.
type AuditBuffer struct {
	// Max is the number of syscalls kept (default 256); MaxAge how long one is kept
	// unclaimed (default 30 s).
	Max    int
	MaxAge time.Duration
	recs   []bufferedMount
}

type bufferedMount struct {
	m  AuditMount
	at time.Time // when it was added
}

// Add keeps m, received at now.
func (b *AuditBuffer) Add(m AuditMount, now time.Time) {
	b.prune(now)
	max := b.Max
	if max <= 0 {
		max = 256
	}
	if len(b.recs) >= max {
		b.recs = b.recs[1:]
	}
	b.recs = append(b.recs, bufferedMount{m, now})
}

// Take returns the oldest kept syscall that made ev (Matches) and forgets it, so that
// one syscall attributes one event.
func (b *AuditBuffer) Take(ev Event, now time.Time) (AuditMount, bool) {
	b.prune(now)
	for i, r := range b.recs {
		if r.m.Matches(ev) {
			b.recs = append(b.recs[:i], b.recs[i+1:]...)
			return r.m, true
		}
	}
	return AuditMount{}, false
}

// Len is the number of syscalls kept.
func (b *AuditBuffer) Len() int { return len(b.recs) }

func (b *AuditBuffer) prune(now time.Time) {
	age := b.MaxAge
	if age <= 0 {
		age = 30 * time.Second
	}
	i := 0
	for i < len(b.recs) && now.Sub(b.recs[i].at) > age {
		i++
	}
	b.recs = b.recs[i:]
}
