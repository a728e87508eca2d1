package service

import (
	"context"
	"errors"

	"mediagate/internal/audit"
	"mediagate/internal/registry"
)

// The rows of the register's tables as stored, for checking the register against
// its audit log (package replay).
type (
	Tables            = registry.Tables
	PersonRow         = registry.PersonRow
	HostRow           = registry.HostRow
	MediumRow         = registry.MediumRow
	NumberSeqRow      = registry.NumberSeqRow
	HandoverRow       = registry.HandoverRow
	CampaignRow       = registry.CampaignRow
	CampaignMediumRow = registry.CampaignMediumRow
	CheckInRow        = registry.CheckInRow
)

// RegisterReader is a store that can hand over its whole register: the audit log
// row by row and every table, in one consistent snapshot. *registry.Store implements
// it; a store that does not cannot be checked against its log.
type RegisterReader interface {
	ReadRegister(ctx context.Context, each func(*audit.Event) error) (Tables, audit.Head, error)
}

// ErrCannotReadRegister is returned by ReadRegister when the store cannot hand over
// its register.
var ErrCannotReadRegister = errors.New("this register cannot be read whole for verification")

// ReadRegister reads the audit log (each row to each, in sequence order) and every
// table of the register in one consistent snapshot, for `audit verify`.
func (s *Service) ReadRegister(ctx context.Context, each func(*audit.Event) error) (Tables, audit.Head, error) {
	r, ok := s.store.(RegisterReader)
	if !ok {
		return Tables{}, audit.Head{}, ErrCannotReadRegister
	}
	return r.ReadRegister(ctx, each)
}
