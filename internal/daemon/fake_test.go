package daemon

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// memStore is an in-memory Store.
type memStore struct {
	mu      sync.Mutex
	host    *media.Host
	media   map[string]media.Medium
	people  map[string]media.Person
	events  []memEvent
	hostErr error
	// failures makes the next n writes of a kind fail (a busy or full database).
	failures map[event.Kind]int
	attempts map[event.Kind]int
}

type memEvent struct {
	kind    event.Kind
	medium  string
	details any // the kind's type in package event, as the registry requires
}

func newMemStore(h *media.Host) *memStore {
	return &memStore{host: h, media: map[string]media.Medium{}, people: map[string]media.Person{
		"zhang": {Handle: "zhang", Name: "张三", Active: true},
	}}
}

func (s *memStore) Host(context.Context) (media.Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostErr != nil {
		return media.Host{}, s.hostErr
	}
	if s.host == nil {
		return media.Host{}, registry.ErrNoHost
	}
	return *s.host, nil
}

func (s *memStore) MediumByIdentity(_ context.Context, key string) (media.Medium, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[key]
	if !ok {
		return m, registry.ErrNotFound
	}
	return m, nil
}

func (s *memStore) UpgradeIdentityKey(_ context.Context, oldKey, newKey string) (media.Medium, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if newKey == "" || len(newKey) > 512 || newKey == oldKey {
		return media.Medium{}, registry.ErrInvalid // as the registry checks before it looks
	}
	m, ok := s.media[oldKey]
	if !ok {
		return m, registry.ErrNotFound
	}
	if _, taken := s.media[newKey]; taken {
		return m, registry.ErrDuplicateIdentity
	}
	delete(s.media, oldKey)
	m.Identity.Key = newKey
	s.media[newKey] = m
	s.events = append(s.events, memEvent{event.KindMediumIdentityUpgrade, m.Number, event.MediumIdentityUpgrade{
		Custodian: m.Custodian, FromIdentity: oldKey, Identity: newKey, MediumID: m.ID}})
	return m, nil
}

func (s *memStore) Person(_ context.Context, h string) (media.Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[h]
	if !ok {
		return p, registry.ErrNotFound
	}
	return p, nil
}

func (s *memStore) RecordEvent(_ context.Context, kind event.Kind, medium string, details any) (*audit.Event, error) {
	if err := event.Check(kind, details); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == nil {
		s.attempts = map[event.Kind]int{}
	}
	s.attempts[kind]++
	if s.failures[kind] > 0 {
		s.failures[kind]--
		return nil, errors.New("database is locked")
	}
	s.events = append(s.events, memEvent{kind, medium, details})
	return &audit.Event{Seq: int64(len(s.events)), Kind: kind, Medium: medium}, nil
}

func (s *memStore) OpenMounts(context.Context) ([]registry.OpenMount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := map[[2]string]registry.OpenMount{}
	for i, e := range s.events {
		d, ok := e.details.(event.Mount)
		if !ok {
			continue
		}
		k := [2]string{d.Device.Source, d.MountPoint}
		switch {
		case event.OpensMount(e.kind):
			open[k] = registry.OpenMount{Seq: int64(i + 1), Medium: e.medium, Source: d.Device.Source, MountPoint: d.MountPoint}
		case event.ClosesMount(e.kind):
			delete(open, k)
		}
	}
	out := []registry.OpenMount{}
	for _, m := range open {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b registry.OpenMount) int { return cmp.Compare(a.Seq, b.Seq) }) // oldest first
	return out, nil
}

func (s *memStore) decisions() []event.DeviceDecision {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.DeviceDecision
	for _, e := range s.events {
		if e.kind == event.KindDeviceDecision {
			out = append(out, e.details.(event.DeviceDecision))
		}
	}
	return out
}

// devices is a fake identity reader.
type devices struct {
	mu   sync.Mutex
	m    map[string]identity.Device
	fail map[string]error // read errors by devpath
	// authorized, when set, gives a USB device's authorized attribute as read (the
	// enforcement recorder's state), unless the test set it on the device.
	authorized func(devpath string) bool
}

func (d *devices) set(dev identity.Device) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]identity.Device{}
	}
	d.m[dev.SysPath] = dev
}

func (d *devices) del(p string) {
	d.mu.Lock()
	delete(d.m, p)
	d.mu.Unlock()
}

func (d *devices) read(p string) (identity.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fail[p]; err != nil {
		return identity.Device{}, err
	}
	dev, ok := d.m[p]
	if !ok {
		// partitions resolve to their disk
		for sp, dd := range d.m {
			if dd.Subsystem == "block" && len(p) > len(sp) && p[:len(sp)+1] == sp+"/" {
				return dd, nil
			}
		}
		return identity.Device{}, identity.ErrNotFound
	}
	if dev.Subsystem == "usb" && dev.USB != nil && !dev.USB.Authorized && d.authorized != nil {
		u := *dev.USB
		u.Authorized = d.authorized(p)
		dev.USB = &u
	}
	return dev, nil
}
