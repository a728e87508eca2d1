package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/policy"
)

// HostRequest records (or changes) this host's profile.
type HostRequest struct {
	Number       string
	Level        media.Level
	Department   string
	Mode         string // "enforce" or "audit"; "" is enforce
	Hostname     string
	VaultStation bool
	AllowClasses []string // extra USB peripheral classes (policy names)
	// AllowDevices are extra USB peripherals as VID:PID (hex), each pinned to the
	// interfaces and descriptors of the device with that VID:PID in PresentUSB; or
	// "VID:PID=cc/ss/pp+cc/ss/pp…" pinned to the interfaces given (no hash). An entry
	// whose device is absent keeps the pin it had in the saved profile.
	AllowDevices []string
	// PresentUSB is what the USB devices present now show: VID:PID, interface
	// triples and descriptor hash of each.
	PresentUSB []media.DevicePin
	Baseline   []string // baseline keys of the internal disks present now
	// LowerMedia is what the host does with registered media below its level:
	// "read-only" (also "") or "refuse".
	LowerMedia string
	// LowerLevel confirms lowering the level of a host already initialised: media of
	// the old level stop working on it. Without it a lower level is refused
	// (err.host-level-down).
	LowerLevel bool
}

// InitHost validates and saves the host profile. Allow-list entries policy would not
// understand are refused here, not silently ignored by the daemon. On a host already
// initialised an empty Department keeps the one recorded, and a lower level needs
// LowerLevel. A profile that changes nothing writes no audit row.
func (s *Service) InitHost(ctx context.Context, r HostRequest) (media.Host, error) {
	if strings.TrimSpace(r.Number) == "" {
		return media.Host{}, badRequest("usage.required", "number")
	}
	if !r.Level.Valid() {
		return media.Host{}, badRequest("err.unknown-level", r.Level.String())
	}
	if r.Mode == "" {
		r.Mode = string(media.ModeEnforce)
	}
	mode, err := media.ParseMode(r.Mode)
	if err != nil {
		return media.Host{}, badRequest("usage.mode", r.Mode)
	}
	lower, err := media.ParseLowerMedia(r.LowerMedia)
	if err != nil {
		return media.Host{}, badRequest("usage.lower-media", r.LowerMedia)
	}
	switch old, err := s.store.Host(ctx); {
	case err == nil:
		if strings.TrimSpace(r.Department) == "" {
			r.Department = old.Department
		}
		if r.Level < old.Level && !r.LowerLevel {
			return media.Host{}, refused("err.host-level-down", old.Number, old.Level, r.Level)
		}
	case !errors.Is(err, ErrNoHost):
		return media.Host{}, err
	}
	var classes []string
	devices, pins, err := s.pinDevices(ctx, r.AllowDevices, r.PresentUSB)
	if err != nil {
		return media.Host{}, err
	}
	if len(r.AllowClasses) > 0 {
		classes = make([]string, len(r.AllowClasses))
	}
	for i, c := range r.AllowClasses {
		classes[i] = strings.ToLower(strings.TrimSpace(c))
	}
	h := media.Host{Number: r.Number, Level: r.Level, Department: r.Department, Mode: mode, Hostname: r.Hostname,
		VaultStation: r.VaultStation, AllowClasses: classes, AllowDevices: devices, DevicePins: pins, Baseline: r.Baseline, LowerMedia: lower}
	if err := policy.CheckAllowLists(&h); err != nil {
		return media.Host{}, badRequest("err.allow-list", err)
	}
	h, err = s.store.InitHost(ctx, h)
	if err != nil {
		return media.Host{}, err
	}
	s.changed(ctx)
	return h, nil
}

// pinDevices turns allow-device entries into the VID:PID list and its pins: each
// device is pinned to what it presents now (PresentUSB), to the interfaces given by
// hand, or to its earlier pin; an entry that can be pinned to none of these is
// refused, as is a VID:PID present as two devices that differ.
func (s *Service) pinDevices(ctx context.Context, entries []string, present []media.DevicePin) ([]string, []media.DevicePin, error) {
	var old media.Host
	if len(entries) > 0 {
		old, _ = s.store.Host(ctx) // no profile yet: no earlier pins
	}
	var devices []string
	var pins []media.DevicePin
	for _, e := range entries {
		idText, ifText, byHand := strings.Cut(strings.TrimSpace(e), "=")
		id, err := media.ParseUSBID(strings.TrimSpace(idText))
		if err != nil {
			return nil, nil, badRequest("usage.allow-device", e)
		}
		if slices.Contains(devices, id.String()) {
			return nil, nil, badRequest("usage.allow-device", e)
		}
		devices = append(devices, id.String())
		if byHand {
			ifs, err := media.NormInterfaces(strings.Split(ifText, "+"))
			if err != nil || len(ifs) == 0 {
				return nil, nil, badRequest("usage.allow-interfaces", e)
			}
			pins = append(pins, media.DevicePin{Device: id.String(), Interfaces: ifs})
			continue
		}
		var seen []media.DevicePin
		for _, p := range present {
			pid, err := media.ParseUSBID(p.Device)
			if err != nil || pid != id {
				continue
			}
			ifs, err := media.NormInterfaces(p.Interfaces)
			if err != nil || len(ifs) == 0 {
				continue // nothing readable to pin it to
			}
			pin := media.DevicePin{Device: id.String(), Interfaces: ifs, Hash: strings.ToLower(p.Hash)}
			if !slices.ContainsFunc(seen, func(q media.DevicePin) bool { return samePin(q, pin) }) {
				seen = append(seen, pin)
			}
		}
		switch len(seen) {
		case 1:
			pins = append(pins, seen[0])
		case 0:
			p, ok := old.PinFor(id.Vendor, id.Product)
			if !ok {
				return nil, nil, refused("err.allow-device-absent", id.String())
			}
			pins = append(pins, p)
		default:
			return nil, nil, refused("err.allow-device-ambiguous", id.String())
		}
	}
	return devices, pins, nil
}

func samePin(a, b media.DevicePin) bool {
	return a.Device == b.Device && a.Hash == b.Hash && slices.Equal(a.Interfaces, b.Interfaces)
}

// Host returns this host's profile.
func (s *Service) Host(ctx context.Context) (media.Host, error) { return s.store.Host(ctx) }

// Numbering returns the numbering pattern and level codes.
func (s *Service) Numbering(ctx context.Context) (Numbering, error) { return s.store.Numbering(ctx) }

// NextNumbers returns the number the next registration of each level gets now.
func (s *Service) NextNumbers(ctx context.Context) (map[media.Level]string, error) {
	return s.store.NextNumbers(ctx)
}

// SetNumbering changes the pattern ("" keeps it) and the given level codes.
func (s *Service) SetNumbering(ctx context.Context, pattern string, codes map[media.Level]string) (Numbering, error) {
	if pattern == "" && len(codes) == 0 {
		return Numbering{}, badRequest("usage.numbering")
	}
	for l := range codes {
		if !l.Valid() {
			return Numbering{}, badRequest("err.unknown-level", l.String())
		}
	}
	return s.store.SetNumbering(ctx, pattern, codes)
}

// Events returns audit rows.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]*audit.Event, error) {
	return s.store.Events(ctx, f)
}

// SearchEvents returns the audit rows a query selects. A query naming something the
// register does not know is refused (err.filter-unknown) rather than answered with no
// rows, which would read as "nothing happened": an unknown audit kind (or a prefix no
// kind has), a medium number never registered, a custodian who is not registered, and
// a person or host that no row names and that is neither a registered person nor this
// host (a person may be a login name; rows of other hosts may be merged in).
func (s *Service) SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error) {
	if q.Kind != "" && !knownKind(q.Kind) {
		return nil, badRequest("err.filter-unknown", "kind", q.Kind)
	}
	if q.Medium != "" {
		if _, err := s.store.Medium(ctx, q.Medium); errors.Is(err, ErrNotFound) {
			return nil, badRequest("err.filter-unknown", "medium", q.Medium)
		} else if err != nil {
			return nil, err
		}
	}
	if q.Custodian != "" {
		if err := s.knownPerson(ctx, "custodian", q.Custodian); err != nil {
			return nil, err
		}
	}
	// On the office's register a host of the office is searched in its collected log
	// too: `log --host HOST-07` is what HOST-07 recorded, and what the office did
	// about it.
	officeHost := false
	if o, ok := s.store.(OfficeStore); ok && q.Host != "" {
		switch _, err := o.OfficeHost(ctx, q.Host); {
		case err == nil:
			officeHost = true
			if q.AfterSeq == 0 {
				q.AllHosts = true
			}
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	events, err := s.store.SearchEvents(ctx, q)
	if err != nil || len(events) > 0 || q.AfterSeq > 0 || officeHost {
		return events, err // no new rows after AfterSeq is no news, not an unknown name
	}
	if q.Person != "" {
		if err := s.knownPerson(ctx, "person", q.Person); err != nil {
			return nil, err
		}
	}
	if q.Host != "" {
		h, err := s.store.Host(ctx)
		if err != nil && !errors.Is(err, ErrNoHost) {
			return nil, err
		}
		if err != nil || (q.Host != h.Number && q.Host != h.ID && q.Host != h.Hostname) {
			return nil, badRequest("err.filter-unknown", "host", q.Host)
		}
	}
	return events, nil
}

// knownKind reports whether k is an audit kind or a prefix ending in "." of one.
func knownKind(k string) bool {
	for _, known := range event.Kinds() {
		if string(known) == k || strings.HasSuffix(k, ".") && strings.HasPrefix(string(known), k) {
			return true
		}
	}
	return false
}

// VerifyLog walks the audit chain; it returns the rows checked, or an
// *audit.BrokenError naming the first bad row.
func (s *Service) VerifyLog(ctx context.Context) (int64, error) { return s.store.VerifyLog(ctx) }
