package event

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"mediagate/internal/media"
)

// structOrdered are the details types that release 1 encoded as Go structs, in
// their declaration order; every other type was a map with sorted keys.
var structOrdered = map[reflect.Type]bool{
	reflect.TypeFor[Host]():      true,
	reflect.TypeFor[Numbering](): true,
}

// TestFieldsInJSONOrder keeps every details struct encoding its keys sorted, as the
// maps of release 1 did, so that a row written by a struct has the bytes the map
// wrote and the log's details stay canonical.
func TestFieldsInJSONOrder(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(tt reflect.Type) {
		for tt.Kind() == reflect.Pointer || tt.Kind() == reflect.Slice || tt.Kind() == reflect.Map {
			tt = tt.Elem()
		}
		if tt.Kind() != reflect.Struct || tt.PkgPath() != reflect.TypeFor[Mount]().PkgPath() || seen[tt] {
			return
		}
		seen[tt] = true
		var names []string
		for i := range tt.NumField() {
			f := tt.Field(i)
			if n := jsonName(f); n != "" {
				names = append(names, n)
			}
			walk(f.Type)
		}
		if !structOrdered[tt] && !slices.IsSorted(names) {
			t.Errorf("event.%s: fields not in the order of their JSON names: %q", tt.Name(), names)
		}
	}
	for _, k := range Kinds() {
		walk(kinds[k])
	}
	walk(reflect.TypeFor[mountGone]())
	if len(seen) < 25 {
		t.Errorf("only %d types checked", len(seen))
	}
}

// TestStructsEncodeAsTheMapsDid writes the same details once as release 1's map and
// once as the struct: the bytes must be equal.
func TestStructsEncodeAsTheMapsDid(t *testing.T) {
	uid, zero := 1000, 0
	id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:46f4:0001:X", Serial: "X"}
	for _, c := range []struct {
		name    string
		structV any
		mapV    map[string]any
	}{
		{"status change", MediumStatus{Custodian: "li", From: media.StatusActive, MediumID: "m1", Note: "", To: media.StatusLost},
			map[string]any{"note": "", "medium_id": "m1", "custodian": "li", "from": media.StatusActive, "to": media.StatusLost}},
		{"destroy", MediumStatus{ApprovedBy: "wang", Custodian: "li", From: media.StatusActive, MediumID: "m1", Method: "shred", Note: "n",
			To: media.StatusDestroyed, Witness: "zhao"},
			map[string]any{"note": "n", "approved_by": "wang", "witness": "zhao", "method": "shred", "medium_id": "m1", "custodian": "li",
				"from": media.StatusActive, "to": media.StatusDestroyed}},
		{"vault, not checked in", CheckinVault{CampaignID: "c", Custodian: "li", From: media.StatusActive, MediumID: "m", To: media.StatusInVault, Year: 2026},
			map[string]any{"campaign_id": "c", "year": 2026, "medium_id": "m", "custodian": "li", "from": media.StatusActive, "to": media.StatusInVault}},
		{"mount with root's uid and an unknown login", Mount{Attribution: "fanotify", Device: MountDevice{DevNum: "8:1", Source: "/dev/sda1"},
			Event: "mount", FSType: "vfat", Host: "H", Medium: "unregistered", MountPoint: "/m", Options: "rw", Time: "t", UID: &zero, User: "root", Watcher: "fanotify",
			Decision: &MountDecision{Effective: "block", Reason: "unregistered"}, Identity: &id, PID: 7, Command: "mount"},
			map[string]any{"event": "mount", "device": map[string]any{"name": "", "source": "/dev/sda1", "devnum": "8:1", "devpath": "", "disk": "", "partition": ""},
				"fs_type": "vfat", "mount_point": "/m", "ro": false, "options": "rw", "host": "H", "hostname": "", "time": "t", "attribution": "fanotify",
				"watcher": "fanotify", "medium": "unregistered", "identity": id, "decision": map[string]any{"reason": "unregistered", "effective": "block"},
				"pid": 7, "command": "mount", "uid": 0, "user": "root"}},
		{"mount with a login", Mount{Device: MountDevice{Source: "/dev/sda1"}, LoginUID: &uid, LoginUser: "alice"},
			map[string]any{"event": "", "device": map[string]any{"name": "", "source": "/dev/sda1", "devnum": "", "devpath": "", "disk": "", "partition": ""},
				"fs_type": "", "mount_point": "", "ro": false, "options": "", "host": "", "hostname": "", "time": "", "attribution": "", "watcher": "",
				"medium": "", "login_uid": 1000, "login_user": "alice"}},
		{"mount gone while down", Mount{AttachSeq: 44, Attribution: "none", Device: MountDevice{Source: "/dev/sda1"}, Event: "unmount", Host: "H",
			Hostname: "pc", MountPoint: "/m", SeenAtStart: "unmounted while the daemon was not running", Time: "t"},
			map[string]any{"event": "unmount", "device": map[string]any{"source": "/dev/sda1"}, "mount_point": "/m", "host": "H", "hostname": "pc",
				"time": "t", "attribution": "none", "seen_at_start": "unmounted while the daemon was not running", "attach_seq": int64(44)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.structV)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(c.mapV)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("struct %s\n   map %s", got, want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if err := Check(KindMountAttach, Mount{}); err != nil {
		t.Errorf("a mount row: %v", err)
	}
	if err := Check(KindMediumLost, MediumStatus{}); err != nil {
		t.Errorf("a status row: %v", err)
	}
	for _, c := range []struct {
		kind Kind
		d    any
		want error
	}{
		{KindMountAttach, map[string]any{"mount_point": "/m"}, ErrWrongDetails},
		{KindMountAttach, &Mount{}, ErrWrongDetails},
		{KindMountAttach, DeviceDecision{}, ErrWrongDetails},
		{KindMountAttach, nil, ErrWrongDetails},
		{"medium.teleport", MediumStatus{}, ErrUnknownKind},
		{"", nil, ErrUnknownKind},
	} {
		if err := Check(c.kind, c.d); !errors.Is(err, c.want) {
			t.Errorf("Check(%s, %T) = %v, want %v", c.kind, c.d, err, c.want)
		}
	}
}

func TestDecodeAndAs(t *testing.T) {
	raw := []byte(`{"device":{"source":"/dev/sdb1"},"mount_point":"/media/x","uid":0,"extra":"from a later release"}`)
	v, err := Decode(KindMountAttach, raw)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(Mount)
	if !ok || m.Device.Source != "/dev/sdb1" || m.MountPoint != "/media/x" || m.UID == nil || *m.UID != 0 {
		t.Errorf("Decode = %#v", v)
	}
	if m2, err := As[Mount](KindMountDetach, raw); err != nil || !reflect.DeepEqual(m, m2) {
		t.Errorf("As = %#v, %v", m2, err)
	}
	if _, err := As[DeviceDecision](KindMountDetach, raw); !errors.Is(err, ErrWrongDetails) {
		t.Errorf("As of the wrong type: %v", err)
	}
	if _, err := Decode("nope.nope", raw); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := Decode(KindMountAttach, []byte(`{"uid":"root"}`)); err == nil {
		t.Error("a uid that is not a number decoded")
	}
	if v, err := Decode(KindDaemonStop, nil); err != nil || v != (DaemonStop{}) {
		t.Errorf("no details: %#v, %v", v, err)
	}
	if _, err := Decode(KindHostInit, []byte(`{"level":"cosmic"}`)); err == nil {
		t.Error("an unknown level decoded")
	}
}

func TestPaths(t *testing.T) {
	for _, c := range []struct {
		role string
		want []string
	}{
		{RoleCustodian, []string{"$.custodian", "$.from_custodian", "$.to_custodian"}},
		{RolePerson, []string{"$.handle", "$.holder", "$.login_user", "$.requester", "$.subject", "$.user", "$.witness"}},
		{RoleHost, []string{"$.host", "$.hostname"}},
	} {
		if got := Paths(c.role); !slices.Equal(got, c.want) {
			t.Errorf("Paths(%s) = %q, want %q", c.role, got, c.want)
		}
	}
	if got := Path[Mount]("Device", "Source"); got != "$.device.source" {
		t.Errorf("Path = %s", got)
	}
	if got := Path[Mount]("Decision", "Reason"); got != "$.decision.reason" {
		t.Errorf("Path through a pointer = %s", got)
	}
	for _, fields := range [][]string{{"Device", "Nope"}, {"MountPoint", "Source"}, {"attachSeq"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Path(%q) did not panic", fields)
				}
			}()
			Path[Mount](fields...)
		}()
	}
}

func TestTexts(t *testing.T) {
	got := Texts(MediumLend{ApprovedBy: "wang", Custodian: "li", Due: "d", From: media.StatusActive, Holder: "zhang", Note: "n\x00"})
	want := []Text{{"approved_by", "wang"}, {"custodian", "li"}, {"due", "d"}, {"holder", "zhang"}, {"medium_id", ""}, {"note", "n\x00"}}
	if !slices.Equal(got, want) {
		t.Errorf("Texts = %q, want %q", got, want)
	}
	if Texts(42) != nil {
		t.Error("Texts of a number")
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != len(kinds) || !slices.IsSorted(ks) {
		t.Fatalf("Kinds = %q", ks)
	}
	for _, k := range ks {
		if !k.Known() || k.Area() == string(k) || k.Area() == "" {
			t.Errorf("kind %q", k)
		}
	}
	if Kind("medium.teleport").Known() {
		t.Error("an unknown kind is known")
	}
	var opens, closes []Kind
	for _, k := range ks {
		if OpensMount(k) {
			opens = append(opens, k)
		}
		if ClosesMount(k) {
			closes = append(closes, k)
		}
	}
	if !slices.Equal(opens, []Kind{KindMountAttach, KindMountSeenAtStart}) || !slices.Equal(closes, []Kind{KindMountDetach, KindMountViolation}) {
		t.Errorf("opens %q, closes %q", opens, closes)
	}
}

// FuzzDecode feeds arbitrary bytes as the details of every kind: Decode never
// panics, and what it decodes encodes to bytes that decode and encode to themselves.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), []byte(`{"device":{"source":"/dev/sda1"},"attach_seq":3,"mount_point":"/m"}`))
	f.Add(uint8(5), []byte(`{"level":"secret","mode":"enforce","created":"2026-12-01T09:00:00Z"}`))
	f.Add(uint8(9), []byte(`{"after":{"pattern":"{seq}","level_codes":{"secret":"S"}},"before":""}`))
	f.Add(uint8(20), []byte(`{"manual":false,"source":"plugged"}`))
	f.Add(uint8(30), []byte(`null`))
	ks := Kinds()
	f.Fuzz(func(t *testing.T, i uint8, raw []byte) {
		k := ks[int(i)%len(ks)]
		v, err := Decode(k, raw)
		if err != nil {
			return
		}
		b1, err := json.Marshal(v)
		if err != nil {
			return // e.g. a time outside what RFC 3339 can write
		}
		v2, err := Decode(k, b1)
		if err != nil {
			t.Fatalf("%s: re-decoding %s: %v", k, b1, err)
		}
		b2, err := json.Marshal(v2)
		if err != nil || string(b1) != string(b2) {
			t.Fatalf("%s: not stable:\n%s\n%s (%v)", k, b1, b2, err)
		}
	})
}
