package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// recorder counts the service's Changed calls; tests never reach a control socket.
type recorder struct {
	mu sync.Mutex
	n  int
}

func (r *recorder) changed(context.Context) { r.mu.Lock(); r.n++; r.mu.Unlock() }

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

type bed struct {
	t   testing.TB
	svc *service.Local
	rec *recorder
	now time.Time
	ctx context.Context
}

func newBed(t testing.TB) *bed {
	t.Helper()
	b := &bed{t: t, rec: &recorder{}, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), ctx: context.Background()}
	svc, err := service.OpenLocal(b.ctx, filepath.Join(t.TempDir(), "reg.db"), service.LocalOptions{Create: true,
		Now:     func() time.Time { return b.now },
		Actor:   audit.Actor{UID: 0, User: "root", Login: "officer"},
		Service: service.Config{Changed: b.rec.changed, Location: time.UTC},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	b.svc = svc
	for _, h := range []string{"zhang", "li", "wang", "zhao"} {
		if _, err := svc.AddPerson(b.ctx, media.Person{Handle: h, Name: h}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func stick(serial string, capacity int64) media.Identity {
	return media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("0781", "5567", serial), Serial: serial,
		VendorID: "0781", ProductID: "5567", Capacity: capacity}
}

// register registers a stick and fails the test on error.
func (b *bed) register(serial string, capacity int64) media.Medium {
	b.t.Helper()
	res, err := b.svc.Register(b.ctx, service.RegisterRequest{Identity: stick(serial, capacity), Level: media.Secret, Custodian: "zhang"})
	if err != nil {
		b.t.Fatalf("register %s: %v", serial, err)
	}
	return res.Medium
}

func code(err error) string {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func TestRegisterSerialRules(t *testing.T) {
	const weak = "0123456789ABCDEF"
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		before  []media.Identity // registered first
		id      media.Identity
		hosts   []string
		code    string // "" when accepted
		weakLog bool   // accepted with a weak-serial note
	}{
		{name: "good serial", id: stick("4C530001231120109142", 0)},
		{name: "weak serial refused", id: stick(weak, 0), code: "err.weak-serial"},
		{name: "empty serial refused", id: stick("", 0), code: "err.weak-serial"},
		{name: "weak serial with capacity only refused (USB needs descriptors too)", id: stick(weak, 16<<30), code: "err.weak-serial"},
		{name: "weak serial with extra identity accepted", id: func() media.Identity {
			id := stick(weak, 16<<30)
			id.DescriptorHash = hash
			return id
		}(), weakLog: true},
		{name: "duplicate serial refused", before: []media.Identity{stick("4C530001231120109142", 0)},
			id: func() media.Identity {
				id := stick("4C530001231120109142", 0)
				id.Key = identity.USBKey("0951", "1666", id.Serial)
				id.VendorID = "0951"
				return id
			}(), code: "err.serial-known"},
		{name: "duplicate serial with extra identity accepted", before: []media.Identity{stick("4C530001231120109142", 0)},
			id: func() media.Identity {
				id := stick("4C530001231120109142", 8<<30)
				id.Key = identity.USBKey("0951", "1666", id.Serial)
				id.DescriptorHash = hash
				return id
			}()},
		{name: "disc has no serial rule", id: media.Identity{Kind: media.KindOpticalDisc, Key: "disc:v2-iso9660:" + hash}},
		{name: "malformed descriptor hash", id: func() media.Identity { id := stick("4C530001231120109142", 1); id.DescriptorHash = "xyz"; return id }(),
			code: "usage.descriptor-hash"},
		{name: "negative capacity", id: stick("4C530001231120109142", -1), code: "usage.capacity"},
		{name: "unknown kind", id: media.Identity{Kind: "floppy", Key: "usb:0781:5567:X"}, code: "err.unknown-kind"},
		{name: "allowed host with an escape sequence", id: stick("4C530001231120109142", 0), hosts: []string{"HOST-01", "\x1b[2J"}, code: "usage.allowed-host"},
		{name: "allowed host with a right-to-left override", id: stick("4C530001231120109142", 0), hosts: []string{"HOST\u202e-01"}, code: "usage.allowed-host"},
		{name: "empty allowed host", id: stick("4C530001231120109142", 0), hosts: []string{" "}, code: "usage.allowed-host"},
		{name: "allowed hosts trimmed", id: stick("4C530001231120109142", 0), hosts: []string{" HOST-01 "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			for _, id := range tc.before {
				if _, err := b.svc.Register(b.ctx, service.RegisterRequest{Identity: id, Level: media.Secret, Custodian: "zhang"}); err != nil {
					t.Fatal(err)
				}
			}
			n0 := b.rec.count()
			res, err := b.svc.Register(b.ctx, service.RegisterRequest{Identity: tc.id, Level: media.Secret, Custodian: "zhang", AllowedHosts: tc.hosts})
			if tc.code != "" {
				if code(err) != tc.code {
					t.Fatalf("Register = %v; want %s", err, tc.code)
				}
				if b.rec.count() != n0 {
					t.Error("a refused registration told the daemon to decide again")
				}
				if list, _ := b.svc.ListMedia(b.ctx, service.MediaFilter{}); len(list) != len(tc.before) {
					t.Errorf("refused, yet %d media registered", len(list))
				}
				return
			}
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			for _, h := range res.Medium.AllowedHosts {
				if h != strings.TrimSpace(h) {
					t.Errorf("allowed host %q saved untrimmed", h)
				}
			}
			if res.Medium.Number == "" || (res.WeakSerial != "") != tc.weakLog {
				t.Errorf("result %+v; weak note wanted %v", res, tc.weakLog)
			}
			if b.rec.count() != n0+1 {
				t.Errorf("Changed called %d times; want once", b.rec.count()-n0)
			}
		})
	}
}

func TestIdentityFromFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    service.IdentityFields
		key  string
		code string
	}{
		{"usb", service.IdentityFields{Kind: "usb-disk", Vendor: "0781", Product: "5567", Serial: " 4C53 "}, "usb:0781:5567:4C53", ""},
		{"usb upper-case ids", service.IdentityFields{Kind: "usb-disk", Vendor: "0A5C", Product: "5567", Serial: "X1"}, "usb:0a5c:5567:X1", ""},
		{"usb without product", service.IdentityFields{Kind: "usb-disk", Vendor: "0781", Serial: "X"}, "", "usage.usb-needs"},
		{"usb bad vid", service.IdentityFields{Kind: "usb-disk", Vendor: "07g1", Product: "5567", Serial: "X"}, "", "usage.vidpid"},
		{"disk by wwn", service.IdentityFields{Kind: "disk", WWN: "0x5000c500a1b2c3d4"}, "wwn:0x5000c500a1b2c3d4", ""},
		{"disk bad wwn", service.IdentityFields{Kind: "disk", WWN: "nope"}, "", "usage.wwn"},
		{"disk without model", service.IdentityFields{Kind: "disk", Serial: "S"}, "", "usage.disk-needs"},
		{"sd needs key", service.IdentityFields{Kind: "sd", Serial: "S"}, "", "usage.key-needed"},
		{"key of another kind", service.IdentityFields{Kind: "sd", Key: "usb:0781:5567:X"}, "", "usage.key"},
		{"malformed key", service.IdentityFields{Kind: "other", Key: "usb:0781"}, "", "usage.key"},
		{"sd key", service.IdentityFields{Kind: "sd", Key: "mmc:000003:5344:SC32G:1234abcd"}, "mmc:000003:5344:SC32G:1234abcd", ""},
		{"sd key with its serial", service.IdentityFields{Kind: "sd", Key: "mmc:000003:5344:SC32G:1234abcd", Serial: "0x1234ABCD"}, "mmc:000003:5344:SC32G:1234abcd", ""},
		{"sd key with another serial", service.IdentityFields{Kind: "sd", Key: "mmc:000003:5344:SC32G:1234abcd", Serial: "0x1234abce"}, "", "usage.key-serial"},
		{"sd key short serial", service.IdentityFields{Kind: "sd", Key: "mmc:000003:5344:SC32G:1234"}, "", "usage.key-form"},
		{"sd key bad manfid", service.IdentityFields{Kind: "sd", Key: "mmc:3:5344:SC32G:1234abcd"}, "", "usage.key-form"},
		{"disc key", service.IdentityFields{Kind: "optical-disc", Key: "disc:v2-iso9660:" + strings.Repeat("ab", 32)}, "disc:v2-iso9660:" + strings.Repeat("ab", 32), ""},
		{"disc key short", service.IdentityFields{Kind: "optical-disc", Key: "disc:v2-iso9660:" + strings.Repeat("ab", 31)}, "", "usage.key-form"},
		{"disc key not hex", service.IdentityFields{Kind: "optical-disc", Key: "disc:v2-udf:" + strings.Repeat("zz", 32)}, "", "usage.key-form"},
		{"disc key unknown format", service.IdentityFields{Kind: "optical-disc", Key: "disc:v2-hfs:" + strings.Repeat("ab", 32)}, "", "usage.key-form"},
		{"usb key bad vid", service.IdentityFields{Kind: "usb-disk", Key: "usb:781:5567:X"}, "", "usage.key-form"},
		{"other takes any key", service.IdentityFields{Kind: "other", Key: "mmc:1:2:3:4"}, "mmc:1:2:3:4", ""},
		{"bad descriptor hash", service.IdentityFields{Kind: "usb-disk", Vendor: "0781", Product: "5567", DescriptorHash: "abc"}, "", "usage.descriptor-hash"},
		{"unknown kind", service.IdentityFields{Kind: "floppy"}, "", "err.unknown-kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := service.IdentityFromFields(tc.f)
			if code(err) != tc.code || (tc.code == "" && id.Key != tc.key) {
				t.Errorf("IdentityFromFields = %q, %v; want %q, %q", id.Key, err, tc.key, tc.code)
			}
			if tc.code != "" && !errors.Is(err, service.ErrBadRequest) {
				t.Errorf("error %v is not a bad request", err)
			}
		})
	}
}

func TestLevelNeverLowered(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0)
	for _, l := range []media.Level{media.Confidential, media.Secret} {
		if _, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: m.Number, Level: l}); !errors.Is(err, service.ErrRelevelDown) {
			t.Errorf("relevel %s → %s: %v; want ErrRelevelDown", m.Level, l, err)
		}
	}
	got, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: m.Number, Level: media.TopSecret})
	if err != nil || got.Level != media.TopSecret {
		t.Fatalf("relevel up: %v %v", got.Level, err)
	}
	if _, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: m.Number, Level: media.Level(9)}); !errors.Is(err, service.ErrBadRequest) {
		t.Errorf("relevel to an unknown level: %v", err)
	}
}

// changeTarget is the status each change of the matrix leads to, and its action in
// the status table.
var changeTarget = map[string]struct {
	to  media.Status
	act media.Action
}{
	"lend": {media.StatusLent, media.ActLend}, "return": {media.StatusActive, media.ActReturn},
	"lost": {media.StatusLost, media.ActLose}, "found": {media.StatusActive, media.ActFound},
	"repair": {media.StatusRepair, media.ActRepair}, "repaired": {media.StatusActive, media.ActRepaired},
	"destroy": {media.StatusDestroyed, media.ActDestroy}, "retire": {media.StatusRetired, media.ActRetire},
}

func (b *bed) apply(number, change string) (media.Medium, error) {
	ctx := b.ctx
	switch change {
	case "lend":
		return b.svc.Lend(ctx, service.LendRequest{Number: number, To: "li", Due: b.now.Add(72 * time.Hour), ApprovedBy: "wang"})
	case "return":
		return b.svc.Return(ctx, service.ReturnRequest{Number: number})
	}
	return b.svc.SetStatus(ctx, service.StatusRequest{Number: number, Change: service.StatusChange(change), ApprovedBy: "wang",
		Witness: "zhao", Method: "shredded", Repairer: "某维修中心", Place: "本单位"})
}

// TestTransitionsFollowTheStatusTable brings a medium into every status reachable by
// the lifecycle (and in-vault through a check-in campaign) and tries every change: the
// service allows exactly the changes the status table lists with that action.
func TestTransitionsFollowTheStatusTable(t *testing.T) {
	b := newBed(t)
	paths := map[media.Status][]string{
		media.StatusActive: nil, media.StatusLent: {"lend"}, media.StatusLost: {"lost"}, media.StatusRepair: {"repair"},
		media.StatusDestroyed: {"destroy"}, media.StatusRetired: {"retire"},
	}
	serial := 0
	fresh := func(t *testing.T, st media.Status) string {
		serial++
		m := b.register("4C53000123112010"+string(rune('A'+serial/26))+string(rune('A'+serial%26)), 0)
		for _, c := range paths[st] {
			if _, err := b.apply(m.Number, c); err != nil {
				t.Fatalf("bring %s to %s: %v", m.Number, st, err)
			}
		}
		return m.Number
	}
	for from := range paths {
		for change, ct := range changeTarget {
			to := ct.to
			t.Run(string(from)+"/"+change, func(t *testing.T) {
				number := fresh(t, from)
				act, ok := media.ActionOf(from, to)
				want := ok && act == ct.act
				n0 := b.rec.count()
				m, err := b.apply(number, change)
				switch {
				case want && err != nil:
					t.Errorf("%s of a medium %s refused: %v", change, from, err)
				case want && m.Status != to:
					t.Errorf("%s of a medium %s gave %s; want %s", change, from, m.Status, to)
				case !want && !errors.Is(err, service.ErrTransition):
					t.Errorf("%s of a medium %s: %v; want ErrTransition", change, from, err)
				case !want && b.rec.count() != n0:
					t.Errorf("refused %s told the daemon to decide again", change)
				case want && b.rec.count() != n0+1:
					t.Errorf("%s: Changed called %d times; want once", change, b.rec.count()-n0)
				}
			})
		}
	}
	// in-vault: issue is the only way out to active; lend and return are refused.
	number := fresh(t, media.StatusActive)
	if _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CheckInManual(b.ctx, service.ManualCheckIn{Number: number, Reason: "no reader", By: "zhang"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{Early: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"lend", "return", "found", "repaired"} {
		if _, err := b.apply(number, c); !errors.Is(err, service.ErrTransition) {
			t.Errorf("%s of a medium in the vault: %v; want ErrTransition", c, err)
		}
	}
	if m, err := b.svc.Issue(b.ctx, service.IssueRequest{Number: number, To: "li"}); err != nil || m.Status != media.StatusActive || m.Custodian != "li" {
		t.Errorf("issue from the vault: %+v, %v", m, err)
	}
}

func TestRequiredFieldsOfChanges(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0)
	for name, f := range map[string]func() error{
		"repair without approver": func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeRepair})
			return err
		},
		"destroy without method": func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeDestroy, ApprovedBy: "wang", Witness: "zhao"})
			return err
		},
		"unknown change": func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: "melt"})
			return err
		},
		"handover without witness": func() error {
			_, err := b.svc.Handover(b.ctx, service.HandoverRequest{Number: m.Number, To: "li"})
			return err
		},
		"lend without due date": func() error {
			_, err := b.svc.Lend(b.ctx, service.LendRequest{Number: m.Number, To: "li"})
			return err
		},
	} {
		if err := f(); !errors.Is(err, service.ErrBadRequest) {
			t.Errorf("%s: %v; want a bad request", name, err)
		}
	}
	if got, _ := b.svc.Medium(b.ctx, m.Number); got.Status != media.StatusActive {
		t.Errorf("status %s after refused changes", got.Status)
	}
}

func TestHostAllowLists(t *testing.T) {
	for _, tc := range []struct {
		name             string
		classes, devices []string
		code             string
		wantDevices      []string
	}{
		{name: "none"},
		{name: "audio and a webcam", classes: []string{" Audio "}, devices: []string{"046D:0825=0e/01/00+0e/02/00"}, wantDevices: []string{"046d:0825"}},
		{name: "mass storage may not be allowed by class", classes: []string{"mass-storage"}, code: "err.allow-list"},
		{name: "unknown class", classes: []string{"teleporter"}, code: "err.allow-list"},
		{name: "device not VID:PID", devices: []string{"046d"}, code: "usage.allow-device"},
		{name: "device with junk", devices: []string{"046d:0825;rm"}, code: "usage.allow-device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			h, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "HOST-01", Level: media.Secret, AllowClasses: tc.classes, AllowDevices: tc.devices})
			if code(err) != tc.code {
				t.Fatalf("InitHost = %v; want %q", err, tc.code)
			}
			if tc.code != "" {
				if _, err := b.svc.Host(b.ctx); !errors.Is(err, service.ErrNoHost) {
					t.Errorf("refused profile was saved: %v", err)
				}
				if b.rec.count() != 0 {
					t.Error("refused profile told the daemon to decide again")
				}
				return
			}
			if strings.Join(h.AllowDevices, ",") != strings.Join(tc.wantDevices, ",") || h.Mode != media.ModeEnforce {
				t.Errorf("saved %+v", h)
			}
			if b.rec.count() != 1 {
				t.Errorf("Changed called %d times; want once", b.rec.count())
			}
		})
	}
	b := newBed(t)
	if _, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "H", Level: media.Secret, Mode: "permissive"}); code(err) != "usage.mode" {
		t.Errorf("unknown mode: %v", err)
	}
}

// TestChangedOnlyForDecidingChanges runs every kind of operation once and checks which
// told the daemon to decide again.
func TestChangedOnlyForDecidingChanges(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0)
	other := b.register("4C530001231120109143", 0)
	steps := []struct {
		name    string
		changes bool
		run     func() error
	}{
		{"list media", false, func() error { _, err := b.svc.ListMedia(b.ctx, service.MediaFilter{}); return err }},
		{"show medium", false, func() error { _, err := b.svc.ShowMedium(b.ctx, m.Number); return err }},
		{"show person", false, func() error { _, err := b.svc.ShowPerson(b.ctx, "zhang"); return err }},
		{"add person", false, func() error { _, err := b.svc.AddPerson(b.ctx, media.Person{Handle: "sun", Name: "孙"}); return err }},
		{"numbering", false, func() error {
			_, err := b.svc.SetNumbering(b.ctx, "", map[media.Level]string{media.Secret: "JM"})
			return err
		}},
		{"log", false, func() error { _, err := b.svc.SearchEvents(b.ctx, service.EventQuery{}); return err }},
		{"verify", false, func() error { _, err := b.svc.VerifyLog(b.ctx); return err }},
		{"host init", true, func() error {
			_, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "VAULT-01", Level: media.TopSecret, VaultStation: true})
			return err
		}},
		{"handover", true, func() error {
			_, err := b.svc.Handover(b.ctx, service.HandoverRequest{Number: m.Number, To: "li", Witness: "wang"})
			return err
		}},
		{"relevel", true, func() error {
			_, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: m.Number, Level: media.TopSecret})
			return err
		}},
		{"open campaign", false, func() error { _, err := b.svc.OpenCampaign(b.ctx, service.OpenCampaignRequest{}); return err }},
		{"report", false, func() error { _, err := b.svc.CampaignReport(b.ctx, 0, "custodian"); return err }},
		{"plug", true, func() error {
			_, err := b.svc.CheckInPlug(b.ctx, service.PlugRequest{Seen: stick("4C530001231120109142", 0), Device: "/dev/sdb"})
			return err
		}},
		{"mark", false, func() error {
			_, err := b.svc.CheckInManual(b.ctx, service.ManualCheckIn{Number: other.Number, Reason: "cracked", By: "zhang"})
			return err
		}},
		{"close", true, func() error { _, err := b.svc.CloseCampaign(b.ctx, service.CloseRequest{Early: true}); return err }},
		{"issue", true, func() error {
			_, err := b.svc.Issue(b.ctx, service.IssueRequest{Number: m.Number, To: "li"})
			return err
		}},
	}
	for _, st := range steps {
		n0 := b.rec.count()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want := 0
		if st.changes {
			want = 1
		}
		if got := b.rec.count() - n0; got != want {
			t.Errorf("%s: Changed called %d times; want %d", st.name, got, want)
		}
	}
}

func TestActorFromContext(t *testing.T) {
	b := newBed(t)
	ctx := audit.WithActor(b.ctx, audit.Actor{UID: 1000, User: "api:li"})
	res, err := b.svc.Register(ctx, service.RegisterRequest{Identity: stick("4C530001231120109142", 0), Level: media.Secret, Custodian: "zhang"})
	if err != nil {
		t.Fatal(err)
	}
	b.register("4C530001231120109143", 0)
	ev, err := b.svc.Events(b.ctx, service.EventFilter{Kind: "medium.register"})
	if err != nil || len(ev) != 2 {
		t.Fatalf("events %d, %v", len(ev), err)
	}
	if ev[0].Medium != res.Medium.Number || ev[0].Actor.User != "api:li" || ev[1].Actor.User != "root" {
		t.Errorf("actors %v, %v; want the context's, then the store's", ev[0].Actor, ev[1].Actor)
	}
}

func TestHostLowerMedia(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want media.LowerMedia
		code string
	}{
		{in: "", want: media.LowerReadOnly},
		{in: "read-only", want: media.LowerReadOnly},
		{in: " Refuse ", want: media.LowerRefuse},
		{in: "write", code: "usage.lower-media"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			b := newBed(t)
			h, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "HOST-01", Level: media.Secret, LowerMedia: tc.in})
			if code(err) != tc.code {
				t.Fatalf("InitHost = %v; want %q", err, tc.code)
			}
			if tc.code == "" && h.LowerMedia != tc.want {
				t.Errorf("lower media %q; want %q", h.LowerMedia, tc.want)
			}
		})
	}
}

func TestHostDevicePins(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tablet := media.DevicePin{Device: "0627:0001", Interfaces: []string{"03/00/00"}, Hash: hash}
	kbd := media.DevicePin{Device: "0627:0001", Interfaces: []string{"03/01/01"}, Hash: strings.Repeat("cd", 32)}
	for _, tc := range []struct {
		name    string
		entries []string
		present []media.DevicePin
		old     []media.DevicePin // pins of the profile saved before
		code    string
		want    []media.DevicePin
	}{
		{name: "pinned to the device present", entries: []string{"0627:0001"}, present: []media.DevicePin{tablet},
			want: []media.DevicePin{tablet}},
		{name: "present twice with the same descriptors", entries: []string{"627:1"}, present: []media.DevicePin{tablet, tablet},
			want: []media.DevicePin{tablet}},
		{name: "two different devices with one VID:PID", entries: []string{"0627:0001"}, present: []media.DevicePin{tablet, kbd},
			code: "err.allow-device-ambiguous"},
		{name: "absent and never pinned", entries: []string{"0627:0001"}, code: "err.allow-device-absent"},
		{name: "absent, earlier pin kept", entries: []string{"0627:0001"}, old: []media.DevicePin{tablet},
			want: []media.DevicePin{tablet}},
		{name: "interfaces given by hand", entries: []string{"0627:0001=3/1/1+03/01/02"}, present: []media.DevicePin{tablet},
			want: []media.DevicePin{{Device: "0627:0001", Interfaces: []string{"03/01/01", "03/01/02"}}}},
		{name: "bad interface by hand", entries: []string{"0627:0001=03/01"}, code: "usage.allow-interfaces"},
		{name: "no interface by hand", entries: []string{"0627:0001="}, code: "usage.allow-interfaces"},
		{name: "same device twice", entries: []string{"0627:0001=03/00/00", "0627:0001=03/01/01"}, code: "usage.allow-device"},
		{name: "device present without readable interfaces", entries: []string{"0627:0001"},
			present: []media.DevicePin{{Device: "0627:0001"}}, code: "err.allow-device-absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			if tc.old != nil {
				if _, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "HOST-01", Level: media.Secret,
					AllowDevices: []string{"0627:0001"}, PresentUSB: tc.old}); err != nil {
					t.Fatal(err)
				}
			}
			h, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "HOST-01", Level: media.Secret, AllowDevices: tc.entries, PresentUSB: tc.present})
			if code(err) != tc.code {
				t.Fatalf("InitHost = %v; want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if len(h.DevicePins) != len(tc.want) {
				t.Fatalf("pins %+v; want %+v", h.DevicePins, tc.want)
			}
			for i, p := range h.DevicePins {
				w := tc.want[i]
				if p.Device != w.Device || p.Hash != w.Hash || strings.Join(p.Interfaces, " ") != strings.Join(w.Interfaces, " ") {
					t.Errorf("pin %+v; want %+v", p, w)
				}
			}
			if len(h.AllowDevices) != 1 || h.AllowDevices[0] != "0627:0001" {
				t.Errorf("allow devices %v", h.AllowDevices)
			}
		})
	}
}

// A mistyped register path is an error, not a new empty register: only Create makes
// one.
func TestOpenLocalMissingRegister(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	_, err := service.OpenLocal(context.Background(), path, service.LocalOptions{})
	var se *service.Error
	if !errors.As(err, &se) || se.Code != "err.no-register" || !errors.Is(err, service.ErrBadRequest) || !errors.Is(err, service.ErrNoRegister) {
		t.Fatalf("open missing register: %v, want err.no-register (a bad request)", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatalf("opening a missing register created %s (%v)", path, statErr)
	}
	l, err := service.OpenLocal(context.Background(), path, service.LocalOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = service.OpenLocal(context.Background(), path, service.LocalOptions{})
	if err != nil {
		t.Fatalf("open existing register: %v", err)
	}
	l.Close()
}

// TestRegisterGuards: the host's own disks are not media, and a serial that differs
// from a registered one only in case is the same serial.
func TestRegisterGuards(t *testing.T) {
	b := newBed(t)
	const wwn = "wwn:0x5000c500a1b2c3d4"
	if _, err := b.svc.InitHost(b.ctx, service.HostRequest{Number: "HOST-01", Level: media.Secret, Baseline: []string{wwn}}); err != nil {
		t.Fatal(err)
	}
	own, err := service.IdentityFromFields(service.IdentityFields{Kind: "disk", WWN: "0x5000C500A1B2C3D4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Register(b.ctx, service.RegisterRequest{Identity: own, Level: media.Secret, Custodian: "zhang"}); code(err) != "err.baseline-disk" || !errors.Is(err, service.ErrRefused) {
		t.Errorf("register a baseline disk: %v; want err.baseline-disk", err)
	}

	first := b.register("4C530001231120109142", 0)
	other := stick("4c530001231120109142", 0)
	other.ProductID, other.Key = "5568", identity.USBKey("0781", "5568", "4c530001231120109142")
	_, err = b.svc.Register(b.ctx, service.RegisterRequest{Identity: other, Level: media.Secret, Custodian: "zhang"})
	if code(err) != "err.serial-known" {
		t.Errorf("register serial %q after %q (%s): %v; want err.serial-known", other.Serial, first.Identity.Serial, first.Number, err)
	}
}

// TestNoOpChangesWriteNothing: a change that changes nothing writes no audit row; host
// init without a department keeps it; lowering the host's level needs confirmation.
func TestNoOpChangesWriteNothing(t *testing.T) {
	b := newBed(t)
	rows := func() int {
		ev, err := b.svc.Events(b.ctx, service.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(ev)
	}
	h := service.HostRequest{Number: "HOST-01", Level: media.Secret, Department: "办公室", Baseline: []string{"wwn:0x5000c500a1b2c3d4"}}
	if _, err := b.svc.InitHost(b.ctx, h); err != nil {
		t.Fatal(err)
	}
	n := rows()
	h.Department = ""
	got, err := b.svc.InitHost(b.ctx, h)
	if err != nil || got.Department != "办公室" {
		t.Errorf("host init without a department: %+v, %v; want 办公室 kept", got, err)
	}
	if rows() != n {
		t.Errorf("host init with the same profile wrote %d rows", rows()-n)
	}
	h.Level = media.Confidential
	if _, err := b.svc.InitHost(b.ctx, h); code(err) != "err.host-level-down" {
		t.Errorf("lower the host's level: %v; want err.host-level-down", err)
	}
	if rows() != n {
		t.Errorf("a refused host init wrote rows")
	}
	h.LowerLevel = true
	if got, err := b.svc.InitHost(b.ctx, h); err != nil || got.Level != media.Confidential {
		t.Errorf("confirmed lower: %+v, %v", got, err)
	}
	if rows() != n+1 {
		t.Errorf("a real host change wrote %d rows; want 1", rows()-n)
	}

	n = rows()
	if _, err := b.svc.UpdatePerson(b.ctx, "zhang", service.PersonUpdate{Name: ptr("zhang")}); err != nil {
		t.Fatal(err)
	}
	nb, err := b.svc.Numbering(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SetNumbering(b.ctx, nb.Pattern, map[media.Level]string{media.Secret: nb.Codes[media.Secret]}); err != nil {
		t.Fatal(err)
	}
	if rows() != n {
		t.Errorf("person update and numbering set that change nothing wrote %d rows", rows()-n)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSeparationOfDuties: the signatures of the paper forms are different people — a
// destruction's approver is not the custodian and its witness neither; a repair's
// approver is not the custodian; a loan's approver is neither custodian nor borrower.
// Refusals change nothing; a repair records the repairer and place.
func TestSeparationOfDuties(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0) // custodian zhang
	due := b.now.Add(72 * time.Hour)
	for _, tc := range []struct {
		name string
		do   func() error
		code string
	}{
		{"destroy approved by the custodian", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeDestroy, ApprovedBy: "zhang", Witness: "zhao", Method: "shredded"})
			return err
		}, "err.duty-same"},
		{"destroy witnessed by the custodian", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeDestroy, ApprovedBy: "wang", Witness: "zhang", Method: "shredded"})
			return err
		}, "err.duty-same"},
		{"destroy witnessed by the approver", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeDestroy, ApprovedBy: "wang", Witness: "wang", Method: "shredded"})
			return err
		}, "err.duty-same"},
		{"destroy with a blank method", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeDestroy, ApprovedBy: "wang", Witness: "zhao", Method: "  "})
			return err
		}, "usage.required"},
		{"repair approved by the custodian", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeRepair, ApprovedBy: "zhang", Repairer: "R", Place: "P"})
			return err
		}, "err.duty-same"},
		{"repair without repairer", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeRepair, ApprovedBy: "wang", Place: "P"})
			return err
		}, "usage.required"},
		{"repair without place", func() error {
			_, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeRepair, ApprovedBy: "wang", Repairer: "R"})
			return err
		}, "usage.required"},
		{"loan without approver", func() error {
			_, err := b.svc.Lend(b.ctx, service.LendRequest{Number: m.Number, To: "li", Due: due})
			return err
		}, "usage.required"},
		{"loan approved by the custodian", func() error {
			_, err := b.svc.Lend(b.ctx, service.LendRequest{Number: m.Number, To: "li", Due: due, ApprovedBy: "zhang"})
			return err
		}, "err.duty-same"},
		{"loan approved by the borrower", func() error {
			_, err := b.svc.Lend(b.ctx, service.LendRequest{Number: m.Number, To: "li", Due: due, ApprovedBy: "li"})
			return err
		}, "err.duty-same"},
	} {
		if err := tc.do(); code(err) != tc.code {
			t.Errorf("%s: %v; want %s", tc.name, err, tc.code)
		}
	}
	ev, _ := b.svc.Events(b.ctx, service.EventFilter{Medium: m.Number})
	if got, _ := b.svc.Medium(b.ctx, m.Number); got.Status != media.StatusActive || len(ev) != 1 {
		t.Fatalf("refused changes left status %s and %d rows", got.Status, len(ev))
	}
	if _, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: m.Number, Change: service.ChangeRepair, ApprovedBy: "wang",
		Repairer: "某数据恢复中心", Place: "本单位保密室"}); err != nil {
		t.Fatal(err)
	}
	ev, _ = b.svc.Events(b.ctx, service.EventFilter{Medium: m.Number, Kind: "medium.repair"})
	if len(ev) != 1 {
		t.Fatalf("%d repair rows", len(ev))
	}
	d, err := event.As[event.MediumStatus](ev[0].Kind, ev[0].Details)
	if err != nil || d.Repairer != "某数据恢复中心" || d.Place != "本单位保密室" || d.ApprovedBy != "wang" {
		t.Errorf("repair row %+v, %v", d, err)
	}
}

// TestRelevelRenumbers: a number made by the pattern says the level, so raising the
// level gives the medium the next number of the new level; the old number stays its
// alias (found, history whole, never given out again). A number given by hand in
// another form stays.
func TestRelevelRenumbers(t *testing.T) {
	b := newBed(t)
	m := b.register("4C530001231120109142", 0)
	if m.Number != "S-2026-0001" {
		t.Fatalf("registered as %s", m.Number)
	}
	got, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: m.Number, Level: media.TopSecret, Note: "内容升级"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != "TS-2026-0001" || got.Level != media.TopSecret {
		t.Fatalf("after relevel: %s %s; want TS-2026-0001 top-secret", got.Number, got.Level)
	}
	for _, n := range []string{"S-2026-0001", "TS-2026-0001"} {
		mh, err := b.svc.ShowMedium(b.ctx, n)
		if err != nil || mh.Medium.ID != m.ID {
			t.Fatalf("show %s: %+v, %v", n, mh.Medium, err)
		}
		var kinds []string
		for _, e := range mh.History {
			kinds = append(kinds, string(e.Kind)+"@"+e.Medium)
		}
		if strings.Join(kinds, " ") != "medium.register@S-2026-0001 medium.relevel@TS-2026-0001" {
			t.Errorf("history by %s: %v", n, kinds)
		}
	}
	ev, _ := b.svc.Events(b.ctx, service.EventFilter{Kind: "medium.relevel"})
	d, _ := event.As[event.MediumRelevel](ev[0].Kind, ev[0].Details)
	if d.FromNumber != "S-2026-0001" || d.ToNumber != "TS-2026-0001" || d.NumberSeq != 1 || d.NumberYear != 2026 {
		t.Errorf("relevel row %+v", d)
	}
	// Every command finds it by the old number.
	if _, err := b.svc.SetStatus(b.ctx, service.StatusRequest{Number: "S-2026-0001", Change: service.ChangeLost}); err != nil {
		t.Errorf("lost by the old number: %v", err)
	}
	// The old number is never given out again.
	if next := b.register("4C530001231120109143", 0); next.Number != "S-2026-0002" {
		t.Errorf("next secret medium got %s", next.Number)
	}
	// A number given by hand in another form says nothing of the level and stays.
	res, err := b.svc.Register(b.ctx, service.RegisterRequest{Identity: stick("4C530001231120109144", 0), Level: media.Secret, Custodian: "zhang", Number: "OLD-7"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.svc.Relevel(b.ctx, service.RelevelRequest{Number: res.Medium.Number, Level: media.TopSecret}); err != nil || got.Number != "OLD-7" {
		t.Errorf("relevel of OLD-7: %s, %v", got.Number, err)
	}
}
