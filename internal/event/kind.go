package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Kind names what an audit row records: "<area>.<what>".
type Kind string

// The kinds of audit rows, by the area of the code that writes them.
const (
	// The register of people (registry).
	KindPersonAdd        Kind = "person.add"
	KindPersonUpdate     Kind = "person.update"
	KindPersonDeactivate Kind = "person.deactivate"

	// The host profile and the numbering (registry).
	KindHostInit     Kind = "host.init"
	KindHostUpdate   Kind = "host.update"
	KindNumberingSet Kind = "numbering.set"

	// The register of media (registry; the simple status changes through the service).
	KindMediumRegister Kind = "medium.register"
	KindMediumHandover Kind = "medium.handover"
	KindMediumLend     Kind = "medium.lend"
	KindMediumReturn   Kind = "medium.return"
	KindMediumRelevel  Kind = "medium.relevel"
	KindMediumIssue    Kind = "medium.issue"
	// A registration moved to a newer identity key (an optical disc's whole-disc key).
	KindMediumIdentityUpgrade Kind = "medium.identity-upgrade"
	KindMediumLost            Kind = "medium.lost"
	KindMediumFound           Kind = "medium.found"
	KindMediumRepair          Kind = "medium.repair"
	KindMediumRepaired        Kind = "medium.repaired"
	KindMediumDestroy         Kind = "medium.destroy"
	KindMediumRetire          Kind = "medium.retire"
	// the office's register imported; identity bound later
	KindMediumImport Kind = "medium.import"
	KindMediumBind   Kind = "medium.bind"

	// The year-end check-in (registry).
	KindCheckinOpen    Kind = "checkin.open"
	KindCheckinIn      Kind = "checkin.in"
	KindCheckinRefused Kind = "checkin.refused"
	KindCheckinVault   Kind = "checkin.vault"
	KindCheckinMissing Kind = "checkin.missing"
	KindCheckinClose   Kind = "checkin.close"

	// The daemon.
	KindDaemonStart    Kind = "daemon.start"
	KindDaemonStop     Kind = "daemon.stop"
	KindDaemonLock     Kind = "daemon.lock"
	KindDaemonRescan   Kind = "daemon.rescan"
	KindDaemonControl  Kind = "daemon.control"
	KindDeviceDecision Kind = "device.decision"
	KindDeviceTamper   Kind = "device.tamper"

	// The mount log (mountlog).
	KindMountAttach      Kind = "mount.attach"
	KindMountDetach      Kind = "mount.detach"
	KindMountRemount     Kind = "mount.remount"
	KindMountSeenAtStart Kind = "mount.seen-at-start"
	KindMountViolation   Kind = "mount.violation"
)

// kinds gives the details type of every kind. Several kinds share one type when
// their rows say the same things.
var kinds = map[Kind]reflect.Type{
	KindPersonAdd:        typeOf[Person](),
	KindPersonUpdate:     typeOf[PersonUpdate](),
	KindPersonDeactivate: typeOf[PersonDeactivate](),

	KindHostInit:     typeOf[Host](),
	KindHostUpdate:   typeOf[Host](),
	KindNumberingSet: typeOf[NumberingSet](),

	KindMediumRegister:        typeOf[MediumRegister](),
	KindMediumHandover:        typeOf[MediumHandover](),
	KindMediumLend:            typeOf[MediumLend](),
	KindMediumReturn:          typeOf[MediumReturn](),
	KindMediumRelevel:         typeOf[MediumRelevel](),
	KindMediumIssue:           typeOf[MediumIssue](),
	KindMediumIdentityUpgrade: typeOf[MediumIdentityUpgrade](),
	KindMediumLost:            typeOf[MediumStatus](),
	KindMediumFound:           typeOf[MediumStatus](),
	KindMediumRepair:          typeOf[MediumStatus](),
	KindMediumRepaired:        typeOf[MediumStatus](),
	KindMediumDestroy:         typeOf[MediumStatus](),
	KindMediumRetire:          typeOf[MediumStatus](),
	KindMediumImport:          typeOf[MediumImport](),
	KindMediumBind:            typeOf[MediumBind](),

	KindCheckinOpen:    typeOf[CheckinOpen](),
	KindCheckinIn:      typeOf[CheckinIn](),
	KindCheckinRefused: typeOf[CheckinRefused](),
	KindCheckinVault:   typeOf[CheckinVault](),
	KindCheckinMissing: typeOf[CheckinMissing](),
	KindCheckinClose:   typeOf[CheckinClose](),

	KindDaemonStart:    typeOf[DaemonStart](),
	KindDaemonStop:     typeOf[DaemonStop](),
	KindDaemonLock:     typeOf[DaemonLock](),
	KindDaemonRescan:   typeOf[DaemonRescan](),
	KindDaemonControl:  typeOf[DaemonControl](),
	KindDeviceDecision: typeOf[DeviceDecision](),
	KindDeviceTamper:   typeOf[DeviceDecision](),

	KindMountAttach:      typeOf[Mount](),
	KindMountDetach:      typeOf[Mount](),
	KindMountRemount:     typeOf[Mount](),
	KindMountSeenAtStart: typeOf[Mount](),
	KindMountViolation:   typeOf[Mount](),
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Kinds lists every kind, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Known reports whether k is a kind of this release.
func (k Kind) Known() bool { _, ok := kinds[k]; return ok }

// Area is the part before the dot: "medium" for medium.register.
func (k Kind) Area() string { a, _, _ := strings.Cut(string(k), "."); return a }

// OpensMount reports whether a row of kind k says its mount is mounted (attach, or
// found mounted at start); ClosesMount whether it says it is not (detach, or a
// violation, which is unmounted at once). Remounts do neither.
func OpensMount(k Kind) bool { return k == KindMountAttach || k == KindMountSeenAtStart }

// ClosesMount: see OpensMount.
func ClosesMount(k Kind) bool { return k == KindMountDetach || k == KindMountViolation }

// ErrUnknownKind is wrapped by Decode and Check for a kind of no release.
var ErrUnknownKind = errors.New("unknown audit kind")

// ErrWrongDetails is wrapped by Check and As when details do not belong to the kind.
var ErrWrongDetails = errors.New("audit details of the wrong type")

// Check reports whether d is the details type of kind k (a value, not a pointer).
// The registry refuses to write a row that fails it.
func Check(k Kind, d any) error {
	t, ok := kinds[k]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownKind, k)
	}
	if reflect.TypeOf(d) != t {
		return fmt.Errorf("%w: %s rows carry event.%s, not %T", ErrWrongDetails, k, t.Name(), d)
	}
	return nil
}

// Decode reads the details of a row of kind k, written by any release so far, into
// the kind's details type (a value, e.g. event.Mount). Rows without details decode
// to the zero value; fields a later release added are zero in older rows.
func Decode(k Kind, raw []byte) (any, error) {
	t, ok := kinds[k]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, k)
	}
	p := reflect.New(t)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			return nil, fmt.Errorf("decode %s details: %w", k, err)
		}
	}
	return p.Elem().Interface(), nil
}

// As decodes the details of a row of kind k as T, which must be the kind's details
// type.
func As[T any](k Kind, raw []byte) (T, error) {
	var zero T
	t, ok := kinds[k]
	if !ok {
		return zero, fmt.Errorf("%w %q", ErrUnknownKind, k)
	}
	if t != reflect.TypeFor[T]() {
		return zero, fmt.Errorf("%w: %s rows carry event.%s, not %s", ErrWrongDetails, k, t.Name(), reflect.TypeFor[T]())
	}
	v, err := Decode(k, raw)
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}
