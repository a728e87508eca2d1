package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/catalog"
	"mediagate/internal/control"
	"mediagate/internal/daemon"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/service"
)

func newDevicesCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "devices",
		Example: "  mediagate devices\n  mediagate devices --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDevices(cmd.Context(), app)
		},
	}
	return cmd
}

// liveDecisions asks the daemon, if it runs, for the decision standing for each device,
// by kernel name. No daemon is no error: the column stays empty.
func liveDecisions(ctx context.Context, app *App) map[string]*daemon.Record {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := app.callDaemon(ctx, control.Request{Op: control.OpStatus})
	if err != nil {
		return nil
	}
	var st daemon.Status
	if resp.DecodeStatus(&st) != nil {
		return nil
	}
	out := map[string]*daemon.Record{}
	for i := range st.Present {
		r := &st.Present[i]
		out[r.Name] = r
	}
	return out
}

// AttachedDevice is one line of `mediagate devices`.
type AttachedDevice struct {
	identity.Device
	Ref        string        `json:"ref"` // what to pass to --from-device
	Registered *media.Medium `json:"registered"`
	// Mismatch says how the device differs from its registration, when it does.
	Mismatch string `json:"mismatch,omitempty"`
	// Decision is the running daemon's decision standing for the device, if any.
	Decision *daemon.Record `json:"decision,omitempty"`
}

func deviceRef(d identity.Device) string {
	if d.Subsystem == "usb" {
		return "usb:" + d.Name
	}
	return "/dev/" + d.Name
}

func runDevices(ctx context.Context, app *App) error {
	devs, scanErr := identity.Scan(app.roots())
	if scanErr != nil && len(devs) == 0 {
		return fmt.Errorf("list devices: %w", scanErr)
	}
	s, err := app.Service(ctx)
	if err != nil {
		return err
	}
	live := liveDecisions(ctx, app)
	out := make([]AttachedDevice, 0, len(devs))
	for _, d := range devs {
		a := AttachedDevice{Device: d, Ref: deviceRef(d), Decision: live[d.Name]}
		if a.Decision == nil && d.USB != nil {
			a.Decision = live[d.USB.Port]
		}
		if d.Identity.Key != "" {
			m, err := s.MediumByIdentity(ctx, d.Identity.Key)
			switch {
			case err == nil:
				a.Registered = &m
				if f := policy.IdentityMismatch(m.Identity, d.Identity); f != "" {
					a.Mismatch = "identity differs: " + f
				}
			case !errors.Is(err, service.ErrNotFound):
				return err
			case d.Disc != nil && d.Disc.LegacyKey() != "":
				// Registered before the whole-disc identity: the daemon moves the
				// registration to the new key when it next sees the disc.
				if m, err := s.MediumByIdentity(ctx, d.Disc.LegacyKey()); err == nil {
					a.Registered = &m
					a.Mismatch = "registered under the version 1 disc key " + m.Identity.Key + "; the daemon upgrades it when the disc is next inserted"
				}
			}
		}
		out = append(out, a)
	}
	if scanErr != nil {
		fmt.Fprintln(app.Err, "mediagate: "+scanErr.Error())
	}
	if app.JSON {
		return printJSON(app.Out, out)
	}
	l := app.Lang
	t := newTable(app.Out, T(l, "hdr.devices"))
	for _, a := range out {
		reg := T(l, "no")
		if m := a.Registered; m != nil {
			reg = fmt.Sprintf("%s %s %s %s", m.Number, catalog.Level(l, m.Level), m.Custodian, catalog.Status(l, m.Status))
			if a.Mismatch != "" {
				reg += " " + T(l, "out.mismatch")
			}
		}
		key := a.Identity.Key
		if key == "" {
			key = "-"
		}
		quality := T(l, "out.serial-good")
		switch {
		case a.Identity.Kind == media.KindOpticalDisc:
			quality = T(l, "out.content-signed")
		case !a.Quality.Good:
			quality = T(l, "out.serial-weak", a.Quality)
		}
		if a.Disc != nil && a.Identity.Key == "" {
			key = string(a.Disc.Format)
		}
		size := humanSize(a.Size)
		if a.NoMedium {
			size = T(l, "out.no-medium")
		}
		decision := "-"
		if r := a.Decision; r != nil {
			decision = string(r.Effective) + " (" + string(r.Decision.Reason) + ")"
		}
		t.row(a.Ref, catalog.Kind(l, a.Identity.Kind), key, quality, size, a.Label, reg, decision)
	}
	return t.flush()
}

// humanSize is a short size for tables.
func humanSize(n int64) string {
	if n <= 0 {
		return "-"
	}
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// identityFromDevice reads the identity of an attached device for registration, and the
// key an earlier release identified it by (a disc's version 1 key), if any.
func identityFromDevice(app *App, ref string, kindFlag string) (id media.Identity, former string, err error) {
	id, former, _, err = readDevice(app, ref, kindFlag)
	return id, former, err
}

// readDevice reads a medium's identity from the attached device, with the device's
// vendor and model as it names them (its label), for the register's brand/model.
func readDevice(app *App, ref string, kindFlag string) (id media.Identity, former, label string, err error) {
	d, err := identity.Resolve(app.roots(), ref)
	if err != nil {
		return media.Identity{}, "", "", lerr("err.no-device", ref, err.Error())
	}
	id = d.Identity
	switch {
	case d.NoMedium:
		return id, "", "", lerr("err.no-medium", ref)
	case d.Disc != nil && (d.Disc.Format == identity.DiscBlank || d.Disc.Format == identity.DiscAudio):
		return id, "", "", lerr("err.disc-no-data", ref, string(d.Disc.Format))
	case id.Key == "" || d.Problem != "":
		problem := d.Problem
		if problem == "" {
			problem = "no identity key"
		}
		return id, "", "", lerr("err.device-unreadable", ref, problem)
	case d.Subsystem == "usb" && !d.HasFunction(identity.FuncStorage):
		return id, "", "", lerr("err.not-storage", ref, d.Label)
	}
	if kindFlag != "" {
		k, err := media.ParseKind(kindFlag)
		if err != nil {
			return id, "", "", usageError{lerr("err.unknown-kind", kindFlag)}
		}
		if k != id.Kind {
			return id, "", "", lerr("err.kind-differs", ref, id.Kind, k)
		}
	}
	if d.Disc != nil {
		former = d.Disc.LegacyKey()
	}
	return id, former, strings.TrimSpace(d.Label), nil
}
