package service

import (
	"context"

	"mediagate/internal/media"
)

// AddPerson adds a person who can be custodian, holder, witness or approver.
func (s *Service) AddPerson(ctx context.Context, p media.Person) (media.Person, error) {
	return s.store.AddPerson(ctx, p)
}

// Person returns a person.
func (s *Service) Person(ctx context.Context, handle string) (media.Person, error) {
	return s.store.Person(ctx, handle)
}

// ListPeople lists people, the deactivated too when all.
func (s *Service) ListPeople(ctx context.Context, all bool) ([]media.Person, error) {
	return s.store.ListPeople(ctx, all)
}

// PersonMedia is a person with the media they are custodian of.
type PersonMedia struct {
	Person media.Person
	Media  []media.Medium
}

// ShowPerson returns a person and the media they are responsible for.
func (s *Service) ShowPerson(ctx context.Context, handle string) (PersonMedia, error) {
	p, err := s.store.Person(ctx, handle)
	if err != nil {
		return PersonMedia{}, err
	}
	held, err := s.store.ListMedia(ctx, MediaFilter{Custodian: p.Handle})
	if err != nil {
		return PersonMedia{}, err
	}
	return PersonMedia{Person: p, Media: held}, nil
}

// UpdatePerson changes a person's details.
func (s *Service) UpdatePerson(ctx context.Context, handle string, u PersonUpdate) (media.Person, error) {
	return s.store.UpdatePerson(ctx, handle, u)
}

// DeactivatePerson deactivates a person who holds no media.
func (s *Service) DeactivatePerson(ctx context.Context, handle string) error {
	return s.store.DeactivatePerson(ctx, handle)
}
