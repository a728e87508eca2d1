package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

func newHostCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use: "host",
	}
	cmd.AddCommand(newHostInitCommand(app), newHostShowCommand(app), newHostEnrollCommand(app))
	return cmd
}

type hostInitOptions struct {
	Number, Level, Department, Mode string
	LowerMedia                      string
	VaultStation, Yes               bool
	AllowClasses, AllowDevices      []string
}

func newHostInitCommand(app *App) *cobra.Command {
	var o hostInitOptions
	cmd := &cobra.Command{
		Use: "init --number N --level L",
		Example: `  mediagate host init --number HOST-01 --level secret --department 办公室
  mediagate host init --number HOST-03 --level top-secret --lower-media refuse
  mediagate host init --number VAULT-01 --level top-secret --vault-station
  mediagate host init --number HOST-02 --level 机密 --mode audit --allow-class audio --allow-device 046d:0825`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runHostInit(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Number, "number", "", "the host's registered number (required)")
	f.StringVar(&o.Level, "level", "", "the host's classification level (required)")
	f.StringVar(&o.Department, "department", "", "department the host belongs to (default: as recorded)")
	f.BoolVar(&o.Yes, "yes", false, "lower the host's level without asking")
	f.StringVar(&o.Mode, "mode", "enforce", "enforce or audit")
	f.StringVar(&o.LowerMedia, "lower-media", "read-only", "registered media below this host's level: read-only or refuse")
	f.BoolVar(&o.VaultStation, "vault-station", false, "this host is the office's vault check-in station")
	f.StringSliceVar(&o.AllowClasses, "allow-class", nil, "extra USB peripheral class to allow (e.g. audio, video, printer); repeatable")
	f.StringSliceVar(&o.AllowDevices, "allow-device", nil, "extra USB peripheral to allow as VID:PID (hex); repeatable")
	cmd.MarkFlagRequired("number")
	cmd.MarkFlagRequired("level")
	return cmd
}

func runHostInit(ctx context.Context, app *App, o hostInitOptions) error {
	level, err := parseLevel(o.Level)
	if err != nil {
		return err
	}
	app.createRegister = true // the one command that may create the register
	svc, err := app.Service(ctx)
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	r := service.HostRequest{Number: o.Number, Level: level, Department: o.Department, Mode: o.Mode, Hostname: hostname,
		VaultStation: o.VaultStation, AllowClasses: o.AllowClasses, AllowDevices: o.AllowDevices, LowerMedia: o.LowerMedia}
	// Allowed devices are pinned to the interfaces and descriptors of the USB devices
	// with their VID:PID plugged in now.
	if len(o.AllowDevices) > 0 {
		present, err := identity.Scan(app.roots())
		if err != nil && len(present) == 0 {
			return fmt.Errorf("list USB devices: %w", err)
		}
		for _, d := range present {
			if d.USB != nil {
				r.PresentUSB = append(r.PresentUSB, media.DevicePin{Device: d.USB.VendorID + ":" + d.USB.ProductID,
					Interfaces: d.USB.Interfaces, Hash: d.USB.DescriptorHash})
			}
		}
	}
	// The internal disks present now are the host's baseline: every other non-USB disk
	// that appears later is treated as removable media.
	disks, err := identity.InternalDisks(app.roots())
	if err != nil && len(disks) == 0 {
		return fmt.Errorf("list internal disks: %w", err)
	}
	for _, d := range disks {
		r.Baseline = append(r.Baseline, identity.BaselineKey(d))
	}
	// Lowering a host's level stops media of the old level working on it: ask.
	if old, err := svc.Host(ctx); err == nil && level < old.Level {
		if !o.Yes {
			if err := confirm(ctx, app, "out.host-lower-confirm", old.Number, old.Level, level); err != nil {
				return err
			}
		}
		r.LowerLevel = true
	}
	h, err := svc.InitHost(ctx, r)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, h)
	}
	fmt.Fprintln(app.Out, T(app.Lang, "out.host-saved", h.Number, catalog.Level(app.Lang, h.Level), h.Mode))
	for _, p := range h.DevicePins {
		fmt.Fprintln(app.Out, T(app.Lang, "out.device-pinned", p.Device, pinText(app.Lang, p)))
	}
	for _, d := range disks {
		name := "/dev/" + d.Name
		if d.Label != "" {
			name += " (" + d.Label + ")"
		}
		if key := identity.BaselineKey(d); identity.SlotOnly(key) {
			model := d.Label
			if model == "" {
				model = "-"
			}
			fmt.Fprintln(app.Out, T(app.Lang, "out.baseline-weak", name, d.SysPath, d.Size, model))
		} else {
			fmt.Fprintln(app.Out, T(app.Lang, "out.baseline-disk", name, key))
		}
	}
	return nil
}

func newHostShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show",
		Example: "  mediagate host show\n  mediagate host show --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHostShow(cmd.Context(), app)
		},
	}
}

func runHostShow(ctx context.Context, app *App) error {
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	h, err := s.Host(ctx)
	if err != nil {
		return err
	}
	if app.JSON {
		return printJSON(app.Out, h)
	}
	l := app.Lang
	field(app.Out, l, "field.number", h.Number)
	field(app.Out, l, "field.level", catalog.Level(l, h.Level))
	field(app.Out, l, "field.department", h.Department)
	field(app.Out, l, "field.mode", T(l, "mode."+string(h.Mode)))
	field(app.Out, l, "field.vault", yesNo(l, h.VaultStation))
	lower := h.LowerMedia
	if lower == "" {
		lower = media.LowerReadOnly
	}
	field(app.Out, l, "field.lower-media", T(l, "lower-media."+string(lower)))
	field(app.Out, l, "field.allow-classes", strings.Join(h.AllowClasses, ", "))
	var devices []string
	for _, d := range h.AllowDevices {
		if id, err := media.ParseUSBID(d); err == nil {
			if p, ok := h.PinFor(id.Vendor, id.Product); ok {
				d += " (" + pinText(l, p) + ")"
			} else {
				d += " (" + T(l, "out.not-pinned") + ")"
			}
		}
		devices = append(devices, d)
	}
	field(app.Out, l, "field.allow-devices", strings.Join(devices, ", "))
	field(app.Out, l, "field.baseline", strings.Join(h.Baseline, ", "))
	field(app.Out, l, "field.host-id", h.ID)
	return nil
}

// pinText describes what an allowed device is pinned to: "03/01/01 03/01/02, descriptors 1a2b3c4d5e6f".
func pinText(lang string, p media.DevicePin) string {
	t := strings.Join(p.Interfaces, " ")
	if p.Hash != "" {
		h := p.Hash
		if len(h) > 12 {
			h = h[:12]
		}
		t += ", " + T(lang, "out.pin-descriptors", h)
	}
	return t
}
