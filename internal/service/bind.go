package service

import (
	"context"

	"mediagate/internal/media"
)

// BindRequest binds the identity read from a device to a medium registered with its
// identity pending (imported from a register that did not hold it).
type BindRequest struct {
	Number   string
	Identity media.Identity // read from the device
	// Model is the device's vendor and model, for a medium whose register gave none.
	Model string
	// Station: the vault station binds it while checking it in.
	Station bool
}

// Bind gives a pending medium its device's identity. The serial rules of registration
// apply (a serial the register stated for this very medium is no conflict), and a
// kind the register stated is only a guess: the device's kind wins.
func (s *Service) Bind(ctx context.Context, r BindRequest) (RegisterResult, error) {
	if err := need(map[string]string{"number": r.Number}); err != nil {
		return RegisterResult{}, err
	}
	id := r.Identity
	if !id.Kind.Valid() || id.Key == "" {
		return RegisterResult{}, badRequest("usage.identity-needed")
	}
	if id.DescriptorHash != "" && !sha256RE.MatchString(id.DescriptorHash) {
		return RegisterResult{}, badRequest("usage.descriptor-hash")
	}
	m, err := s.store.Medium(ctx, r.Number)
	if err != nil {
		return RegisterResult{}, err
	}
	if !m.IdentityPending {
		return RegisterResult{}, refused("err.not-pending", m.Number)
	}
	var res RegisterResult
	if res.Weak, err = s.serialRule(ctx, id, m.Number); err != nil {
		return res, err
	}
	res.WeakSerial = res.Weak.Reason
	res.Medium, err = s.store.BindIdentity(ctx, m.Number, id, r.Model, r.Station)
	if err != nil {
		return RegisterResult{}, err
	}
	s.changed(ctx)
	return res, nil
}
