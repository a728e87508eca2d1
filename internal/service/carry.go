package service

import (
	"context"
	"fmt"

	"mediagate/internal/event"
)

// RecordCarry writes the audit row of a file carried to or from a standalone host:
// d is an event.CarryLogImport, CarryAck or CarryRefused, or the PolicyApplied or
// PolicyRefused of a policy carried in.
func (s *Service) RecordCarry(ctx context.Context, d any) error {
	var kind event.Kind
	switch d.(type) {
	case event.CarryLogImport:
		kind = event.KindCarryLogImport
	case event.CarryAck:
		kind = event.KindCarryAck
	case event.CarryRefused:
		kind = event.KindCarryRefused
	case event.PolicyApplied:
		kind = event.KindPolicyApplied
	case event.PolicyRefused:
		kind = event.KindPolicyRefused
	default:
		return fmt.Errorf("record carried file: details %T", d)
	}
	_, err := s.store.RecordEvent(ctx, kind, "", d)
	return err
}
