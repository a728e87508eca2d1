package service

import (
	"context"
	"regexp"
	"strings"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/policy"
)

var vidpidRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{4}$`)

// HostRequest records (or changes) this host's profile.
type HostRequest struct {
	Number       string
	Level        media.Level
	Department   string
	Mode         string // "enforce" or "audit"; "" is enforce
	Hostname     string
	VaultStation bool
	AllowClasses []string // extra USB peripheral classes (policy names)
	AllowDevices []string // extra USB peripherals as VID:PID (hex)
	Baseline     []string // baseline keys of the internal disks present now
	// LowerMedia is what the host does with registered media below its level:
	// "read-only" (also "") or "refuse".
	LowerMedia string
}

// InitHost validates and saves the host profile. Allow-list entries policy would not
// understand are refused here, not silently ignored by the daemon.
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
	var devices, classes []string
	if len(r.AllowDevices) > 0 {
		devices = make([]string, len(r.AllowDevices))
	}
	for i, d := range r.AllowDevices {
		devices[i] = strings.ToLower(strings.TrimSpace(d))
		if !vidpidRE.MatchString(devices[i]) {
			return media.Host{}, badRequest("usage.allow-device", d)
		}
	}
	if len(r.AllowClasses) > 0 {
		classes = make([]string, len(r.AllowClasses))
	}
	for i, c := range r.AllowClasses {
		classes[i] = strings.ToLower(strings.TrimSpace(c))
	}
	h := media.Host{Number: r.Number, Level: r.Level, Department: r.Department, Mode: mode, Hostname: r.Hostname,
		VaultStation: r.VaultStation, AllowClasses: classes, AllowDevices: devices, Baseline: r.Baseline, LowerMedia: lower}
	if err := policy.CheckAllowLists(&h); err != nil {
		return media.Host{}, badRequest("err.allow-list", err.Error())
	}
	h, err = s.store.InitHost(ctx, h)
	if err != nil {
		return media.Host{}, err
	}
	s.changed(ctx)
	return h, nil
}

// Host returns this host's profile.
func (s *Service) Host(ctx context.Context) (media.Host, error) { return s.store.Host(ctx) }

// Numbering returns the numbering pattern and level codes.
func (s *Service) Numbering(ctx context.Context) (Numbering, error) { return s.store.Numbering(ctx) }

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

// SearchEvents returns the audit rows a query selects.
func (s *Service) SearchEvents(ctx context.Context, q EventQuery) ([]*audit.Event, error) {
	return s.store.SearchEvents(ctx, q)
}

// VerifyLog walks the audit chain; it returns the rows checked, or an
// *audit.BrokenError naming the first bad row.
func (s *Service) VerifyLog(ctx context.Context) (int64, error) { return s.store.VerifyLog(ctx) }
