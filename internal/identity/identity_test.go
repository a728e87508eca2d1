package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mediagate/internal/media"
	"mediagate/internal/policy"
	"mediagate/internal/sysfs"
)

var update = flag.Bool("update", false, "rewrite the golden.json files in testdata/devices")

// fixtureRoots points the reader at a recorded tree; optical fixtures get a generated
// ISO 9660 image as dev/sr0.
func fixtureRoots(t *testing.T, name string) Roots {
	t.Helper()
	dir := filepath.Join(fixtureDir, name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	dev := t.TempDir()
	label := map[string]string{"usb-dvd-iso": "REPORTS_2026", "qemu-usb-cd": "QEMU_CD"}[name]
	if label != "" {
		if err := os.WriteFile(filepath.Join(dev, "sr0"), buildISO(label, isoTestSectors), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Roots{Paths: sysfs.Paths{Sys: filepath.Join(dir, "sys"), UdevData: filepath.Join(dir, "run", "udev", "data"), Dev: dev},
		DiscKey: func() ([]byte, error) { return testDiscKey, nil }}
}

type fixtureCase struct {
	name     string
	ref      string // what a person would type; "" to use the only scanned device
	scanned  int    // devices Scan lists
	kind     media.Kind
	key      string
	good     bool
	funcs    []Function
	internal bool
}

var fixtureCases = []fixtureCase{
	{name: "usb2-stick", ref: "/dev/sdb1", scanned: 1, kind: media.KindUSBDisk, key: "usb:0781:5567:4C530001231219117142", good: true, funcs: []Function{FuncStorage}},
	{name: "usb3-stick", ref: "sdc", scanned: 1, kind: media.KindUSBDisk, key: "usb:0951:1666:60A44C4138B7F2B0A9D2013F", good: true, funcs: []Function{FuncStorage}},
	{name: "stick-with-hid", ref: "usb:2-1", scanned: 1, kind: media.KindUSBDisk, key: "usb:0951:1666:60A44C4138B7F2B0A9D2013F", good: true, funcs: []Function{FuncKeyboard, FuncStorage}},
	{name: "card-reader-sd", ref: "/dev/sdd", scanned: 1, kind: media.KindSD, key: "usb:05e3:0749:000000001532", good: false, funcs: []Function{FuncStorage}},
	{name: "usb-hdd-sata-bridge", ref: "/dev/sde", scanned: 1, kind: media.KindUSBDisk, key: "usb:152d:0578:0123456789ABCDEF", good: false, funcs: []Function{FuncStorage}},
	{name: "usb-dvd-iso", ref: "/dev/sr0", scanned: 1, kind: media.KindOpticalDisc, key: "disc:v2-iso9660:", good: true, funcs: []Function{FuncStorage}},
	{name: "usb-dvd-blank", ref: "/dev/sr0", scanned: 1, kind: media.KindOpticalDisc, key: "", good: false, funcs: []Function{FuncStorage}},
	{name: "internal-sata", ref: "/dev/sda", scanned: 0, kind: media.KindDisk, key: "wwn:0x5002538e40a1b2c3", good: true, internal: true},
	{name: "nvme", ref: "/dev/nvme0n1", scanned: 0, kind: media.KindDisk, key: "nvme:eui.0025385b91b2c3d4", good: true, internal: true},
	{name: "internal-sd", ref: "mmcblk0", scanned: 1, kind: media.KindSD, key: "mmc:000003:5344:SC32G:1234abcd", good: true},
	{name: "usb-keyboard", ref: "usb:1-3", scanned: 1, kind: media.KindOther, key: "usb:413c:2113:", good: false, funcs: []Function{FuncHID, FuncKeyboard}},
	{name: "usb-ethernet", ref: "2-4", scanned: 1, kind: media.KindOther, key: "usb:0bda:8153:000001000000", good: false, funcs: []Function{FuncNetwork, FuncVendorSpecific}},
	{name: "phone-mtp", ref: "usb:1-5", scanned: 1, kind: media.KindOther, key: "usb:18d1:4ee2:29031FDH2006LZ", good: true, funcs: []Function{FuncMTP, FuncVendorSpecific}},
	{name: "qemu-usb-storage", ref: "/dev/sda", scanned: 1, kind: media.KindUSBDisk, key: "usb:46f4:0001:MEDIA0001", good: true, funcs: []Function{FuncStorage}},
	{name: "qemu-usb-cd", ref: "/dev/sr0", scanned: 1, kind: media.KindOpticalDisc, key: "disc:v2-iso9660:", good: true, funcs: []Function{FuncStorage}},
}

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRoots(t, tc.name)
			scanned, err := Scan(r)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if len(scanned) != tc.scanned {
				t.Errorf("Scan listed %d devices; want %d: %v", len(scanned), tc.scanned, names(scanned))
			}
			d, err := Resolve(r, tc.ref)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.ref, err)
			}
			id := d.Identity
			if id.Kind != tc.kind {
				t.Errorf("kind = %s; want %s", id.Kind, tc.kind)
			}
			if strings.HasSuffix(tc.key, ":") && tc.key != "usb:413c:2113:" {
				if !strings.HasPrefix(id.Key, tc.key) || len(id.Key) != len(tc.key)+64 {
					t.Errorf("key = %q; want %s<sha256>", id.Key, tc.key)
				}
			} else if id.Key != tc.key {
				t.Errorf("key = %q; want %q", id.Key, tc.key)
			}
			if d.Quality.Good != tc.good {
				t.Errorf("serial quality = %v; want good=%v", d.Quality, tc.good)
			}
			var funcs []Function
			if d.USB != nil {
				funcs = d.USB.Functions
			}
			if !slices.Equal(funcs, tc.funcs) {
				t.Errorf("functions = %v; want %v", funcs, tc.funcs)
			}
			if d.Internal != tc.internal {
				t.Errorf("internal = %v; want %v", d.Internal, tc.internal)
			}
			if d.Problem != "" {
				t.Errorf("problem: %s", d.Problem)
			}
			if _, _, err := SplitKey(id.Key); id.Key != "" && err != nil {
				t.Error(err)
			}
			checkGolden(t, tc.name, r, map[string]any{"scan": scanned, "resolve": map[string]Device{tc.ref: d}})
		})
	}
}

func names(ds []Device) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Subsystem+":"+d.Name)
	}
	return out
}

func checkGolden(t *testing.T, name string, r Roots, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(r.Dev), []byte("$DEV"))
	got = append(got, '\n')
	path := filepath.Join(fixtureDir, name, "golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}

func TestScanEmptyAndMissingRoots(t *testing.T) {
	empty := t.TempDir()
	for _, r := range []Roots{
		{Paths: sysfs.Paths{Sys: filepath.Join(empty, "nope"), UdevData: empty, Dev: empty}},
		{Paths: sysfs.Paths{Sys: empty, UdevData: empty, Dev: empty}},
	} {
		ds, err := Scan(r)
		if err != nil || ds == nil || len(ds) != 0 {
			t.Errorf("Scan(%v) = %v, %v; want an empty list", r, ds, err)
		}
	}
	if _, err := Resolve(Roots{Paths: sysfs.Paths{Sys: empty, Dev: empty}}, "/dev/sdz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve of a missing device: %v", err)
	}
	if _, err := Resolve(fixtureRoots(t, "usb2-stick"), "../../etc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve of a path escape: %v", err)
	}
}

// A BadUSB device that copies a registered stick's VID, PID and serial but adds a
// keyboard interface matches the key and fails the one comparator (policy) on the
// bound descriptor hash, or on its interface classes when only the key is bound.
func TestConfirmIdentityOnFixtures(t *testing.T) {
	stick, err := Resolve(fixtureRoots(t, "usb3-stick"), "sdc")
	if err != nil {
		t.Fatal(err)
	}
	fake, err := Resolve(fixtureRoots(t, "stick-with-hid"), "sdc")
	if err != nil {
		t.Fatal(err)
	}
	registered := stick.Identity
	if f, pending := policy.ConfirmIdentity(registered, stick.Identity); f != "" || pending {
		t.Fatalf("stick does not confirm itself: %q, pending %v", f, pending)
	}
	keyOnly := media.Identity{Kind: registered.Kind, Key: registered.Key}
	if f, _ := policy.ConfirmIdentity(keyOnly, fake.Identity); f != policy.FieldInterfaceClasses {
		t.Errorf("key-only registration vs the copy with a keyboard: %q; want %q", f, policy.FieldInterfaceClasses)
	}
	if f, _ := policy.ConfirmIdentity(registered, fake.Identity); f != policy.FieldDescriptorHash {
		t.Errorf("ConfirmIdentity(stick, fake) = %q; want a descriptor mismatch", f)
	}
	// Before the block device exists the capacity is unknown: not a mismatch, but pending.
	usbOnly, err := Resolve(fixtureRoots(t, "usb3-stick"), "usb:2-1")
	if err != nil {
		t.Fatal(err)
	}
	if f, pending := policy.ConfirmIdentity(registered, usbOnly.Identity); f != "" || !pending {
		t.Errorf("usb_device stage: %q, pending %v; want pending", f, pending)
	}
	other := stick.Identity
	other.Capacity += 512
	if f, _ := policy.ConfirmIdentity(registered, other); f != policy.FieldCapacity {
		t.Errorf("capacity mismatch not found: %q", f)
	}
	for _, tc := range []struct{ reg, seen media.Identity }{
		{registered, media.Identity{}},
		{registered, media.Identity{Key: "usb:0951:1666:OTHER"}},
	} {
		if f, _ := policy.ConfirmIdentity(tc.reg, tc.seen); f == "" {
			t.Errorf("ConfirmIdentity(%q, %q) confirmed", tc.reg.Key, tc.seen.Key)
		}
	}
}

func TestCanonicalHashIgnoresPortSpeed(t *testing.T) {
	body := func(mps uint16, burst int, power byte, bcd uint16, mps0 byte) []byte {
		return cat(devDesc(bcd, 0, 0, 0, mps0, 0x0951, 0x1666, 0x0110, 1, 2, 3, 1),
			cfgDesc(1, 0, 0x80, power, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(mps, burst)))
	}
	ss, err := ParseDescriptors(body(1024, 3, 36, 0x0300, 9))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ParseDescriptors(body(512, -1, 150, 0x0210, 64))
	if err != nil {
		t.Fatal(err)
	}
	if ss.RawHash == hs.RawHash {
		t.Fatal("raw hashes equal; test is not testing anything")
	}
	if ss.CanonicalHash != hs.CanonicalHash {
		t.Error("canonical hash differs between a SuperSpeed and a high-speed port")
	}
	hid, _ := ParseDescriptors(cat(devDesc(0x0300, 0, 0, 0, 9, 0x0951, 0x1666, 0x0110, 1, 2, 3, 1),
		cfgDesc(1, 0, 0x80, 36, 2, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(1024, 3), ifDesc(1, 0, 1, 3, 1, 1, 0), hidDesc(63), epDesc(0x83, 3, 8, 10))))
	if hid.CanonicalHash == ss.CanonicalHash {
		t.Error("an added HID interface did not change the canonical hash")
	}
}

func TestParseDescriptorsRejects(t *testing.T) {
	good := cat(devDesc(0x0200, 0, 0, 0, 64, 1, 2, 3, 1, 2, 3, 1),
		cfgDesc(1, 0, 0x80, 50, 1, ifDesc(0, 0, 2, 8, 6, 0x50, 0), bulkPair(512, -1)))
	d, err := ParseDescriptors(good)
	if err != nil {
		t.Fatal(err)
	}
	if d.VendorID != 1 || d.ProductID != 2 || len(d.Configurations) != 1 || len(d.Configurations[0].Interfaces[0].Endpoints) != 2 {
		t.Errorf("parsed %+v", d)
	}
	bad := map[string][]byte{
		"empty":            nil,
		"short device":     good[:17],
		"wrong type":       append([]byte{18, 2}, good[2:]...),
		"truncated config": good[:len(good)-1],
		"trailing garbage": append(slices.Clone(good), 1),
		"zero length desc": cat(good[:18], []byte{9, 2, 11, 0, 1, 1, 0, 0x80, 50, 0, 4}),
		"endpoint first":   cat(good[:18], cfgDesc(1, 0, 0x80, 50, 0, epDesc(0x81, 2, 512, 0))),
		"total below 9":    cat(good[:18], []byte{9, 2, 5, 0, 1, 1, 0, 0x80, 50}),
		"desc past config": cat(good[:18], []byte{9, 2, 12, 0, 1, 1, 0, 0x80, 50, 9, 4, 0}),
		"short interface":  cat(good[:18], cfgDesc(1, 0, 0x80, 50, 1, []byte{5, 4, 0, 0, 0})),
		"oversized":        make([]byte, maxDescriptors+1),
	}
	for name, b := range bad {
		if _, err := ParseDescriptors(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseUdevDB(t *testing.T) {
	in := "S:disk/by-id/usb-SanDisk\nL:0\nI:123456\nE:ID_SERIAL_SHORT=ABC=DEF\nE:BAD KEY=x\nE:CTRL=a\x01b\nE:ID_BUS=usb\nE:ID_BUS=ata\nG:systemd\nQ:systemd\nV:1\ngarbage\n"
	rec, err := ParseUdevDB([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ID_SERIAL_SHORT": "ABC=DEF", "ID_BUS": "ata"}
	if len(rec.Properties) != len(want) || rec.Properties["ID_SERIAL_SHORT"] != "ABC=DEF" || rec.Properties["ID_BUS"] != "ata" {
		t.Errorf("properties = %v; want %v", rec.Properties, want)
	}
	if rec.Initialized != 123456 || !slices.Equal(rec.Symlinks, []string{"disk/by-id/usb-SanDisk"}) || !slices.Equal(rec.Tags, []string{"systemd"}) {
		t.Errorf("record = %+v", rec)
	}
	if _, err := ParseUdevDB([]byte("E:A=b\x00")); err == nil {
		t.Error("NUL accepted")
	}
	props, err := ParseProperties([]byte("P: /devices/x\nE: DEVNAME=/dev/sdb\nID_MODEL='Cruzer Blade'\nMAJOR=8\n"))
	if err != nil || props["DEVNAME"] != "/dev/sdb" || props["ID_MODEL"] != "Cruzer Blade" || props["MAJOR"] != "8" || len(props) != 3 {
		t.Errorf("ParseProperties = %v, %v", props, err)
	}
}

func TestCheckSerial(t *testing.T) {
	tests := []struct {
		in   string
		good bool
	}{
		{"4C530001231219117142", true}, {"MEDIA0001", true}, {"S3Z1NB0K812345A", true}, {"29031FDH2006LZ", true},
		{"", false}, {"   ", false}, {"\x00\x00", false}, {"ABC\x07DEF", false}, {"1", false},
		{"0123456789ABCDEF", false}, {"0123456789abcdef", false}, {"000000000000", false}, {"0000000000000001", false},
		{"123456789ABC", false}, {"AAAAAAAAAAAA", false}, {"1234567890", false}, {"9876543210", false},
		{"000001000000", false}, {strings.Repeat("7A", 64), false}, {"\xff\xfe", false}, {" ABCD1234 ", true},
	}
	for _, tt := range tests {
		if q := CheckSerial(tt.in); q.Good != tt.good || (!q.Good && q.Reason == "") {
			t.Errorf("CheckSerial(%q) = %v; want good=%v", tt.in, q, tt.good)
		}
	}
}

func TestEscapeComponent(t *testing.T) {
	tests := map[string]string{
		"ABC123":       "ABC123",
		" ABC123\n":    "ABC123",
		"a:b":          "a%3Ab",
		"a%3Ab":        "a%253Ab",
		"x\x00y\x1b":   "x%00y%1B",
		"Cruzer Blade": "Cruzer%20Blade",
	}
	for in, want := range tests {
		if got := EscapeComponent(in); got != want {
			t.Errorf("EscapeComponent(%q) = %q; want %q", in, got, want)
		}
	}
	long := EscapeComponent(strings.Repeat(":", 500))
	if !strings.HasPrefix(long, "sha256~") || len(long) != 7+64 {
		t.Errorf("long component = %q", long)
	}
	if k := USBKey("0781", "5567", "a:b:c"); strings.Count(k, ":") != 3 {
		t.Errorf("USBKey with colons in serial = %q", k)
	}
}

func TestDiscSignature(t *testing.T) {
	iso := buildISO("REPORTS_2026", isoTestSectors)
	d, err := DiscSignature(bytes.NewReader(iso), int64(len(iso)), testDiscKey)
	if err != nil || d.Format != DiscISO9660 || d.Label != "REPORTS_2026" || d.Blocks != isoTestSectors || len(d.Signature) != 64 ||
		!strings.HasPrefix(d.Key(), "disc:v2-iso9660:") || !strings.HasPrefix(d.LegacyKey(), "disc:iso9660:") {
		t.Fatalf("iso: %+v, %v", d, err)
	}
	other := buildISO("REPORTS_2027", isoTestSectors)
	d2, _ := DiscSignature(bytes.NewReader(other), int64(len(other)), testDiscKey)
	if d2.Signature == d.Signature {
		t.Error("different volumes share a signature")
	}
	udf := buildUDF("DVDVIDEO")
	u, err := DiscSignature(bytes.NewReader(udf), int64(len(udf)), testDiscKey)
	if err != nil || u.Format != DiscUDF || u.Label != "DVDVIDEO" || !strings.HasPrefix(u.Key(), "disc:v2-udf:") ||
		!strings.HasPrefix(u.LegacyKey(), "disc:udf:") || u.Sampled != 260 {
		t.Fatalf("udf: %+v, %v", u, err)
	}
	if b, err := DiscSignature(bytes.NewReader(nil), 0, testDiscKey); err != nil || b.Format != DiscBlank {
		t.Errorf("empty: %+v, %v", b, err)
	}
	if b, err := DiscSignature(bytes.NewReader(make([]byte, 20*sectorSize)), -1, testDiscKey); err != nil || b.Format != DiscBlank || b.Key() != "" {
		t.Errorf("zeros: %+v, %v", b, err)
	}
	junk := bytes.Repeat([]byte("junk"), 10*sectorSize)
	if _, err := DiscSignature(bytes.NewReader(junk), int64(len(junk)), testDiscKey); !errors.Is(err, ErrNoVolume) {
		t.Errorf("junk: %v", err)
	}
	if d, ok := DiscFromProperties(map[string]string{"ID_CDROM_MEDIA_TRACK_COUNT_AUDIO": "12"}); !ok || d.Format != DiscAudio {
		t.Errorf("audio: %+v %v", d, ok)
	}
	if _, ok := DiscFromProperties(map[string]string{"ID_CDROM_MEDIA_TRACK_COUNT_AUDIO": "12", "ID_CDROM_MEDIA_TRACK_COUNT_DATA": "1"}); ok {
		t.Error("mixed-mode disc treated as audio only")
	}
}

// TestDiscSignatureXorriso checks the signature reader against a real ISO 9660 image
// when xorriso is installed.
func TestDiscSignatureXorriso(t *testing.T) {
	xorriso, err := execLookPath("xorriso")
	if err != nil {
		t.Skip("xorriso not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for name, data := range map[string]string{"a.txt": "hello", "sub/b.txt": "bee", "sub/deeper/c.txt": "sea"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(dir, "x.iso")
	if out, err := runCmd(xorriso, "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "XORRISO_TEST", "-o", img, src); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	d, err := DiscSignature(f, st.Size(), testDiscKey)
	if err != nil || d.Format != DiscISO9660 || d.Label != "XORRISO_TEST" || d.Blocks*sectorSize != st.Size() {
		t.Fatalf("%+v, %v (size %d)", d, err, st.Size())
	}
	// Both the primary (Rock Ridge) and the Joliet tree are walked: 3 directories and
	// 5 records (a.txt, sub, b.txt, deeper, c.txt) each.
	if d.Directories != 6 || d.Records != 10 {
		t.Errorf("walked %d directories, %d records; want 6 and 10", d.Directories, d.Records)
	}
}

// ReadDeviceHeld keeps the USB device's directory open with the stamp of what was read;
// ReadDevice keeps nothing open.
func TestReadDeviceHeld(t *testing.T) {
	r := fixtureRoots(t, "qemu-usb-storage")
	const p = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	plain, err := ReadDevice(r, p)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Held != nil || plain.USB.Stamp.IsZero() || plain.USB.Busnum != "2" || plain.USB.Devnum != "2" {
		t.Errorf("ReadDevice: held %v, stamp %+v, bus %q dev %q", plain.Held, plain.USB.Stamp, plain.USB.Busnum, plain.USB.Devnum)
	}
	held, err := ReadDeviceHeld(r, p)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if held.Held == nil {
		t.Fatal("no held directory")
	}
	if now, err := held.Held.USBStamp(); err != nil || now != held.USB.Stamp || now != plain.USB.Stamp {
		t.Errorf("stamp through the held directory %+v (%v), read %+v", now, err, held.USB.Stamp)
	}
	if held.Identity.Key != plain.Identity.Key {
		t.Errorf("keys %q and %q", held.Identity.Key, plain.Identity.Key)
	}
	// A disk behind the USB device holds nothing.
	disk, err := ReadDeviceHeld(r, r.Sys+"/class/block/sda")
	if err != nil || disk.Held != nil {
		t.Errorf("disk: held %v, %v", disk.Held, err)
	}
	if _, err := ReadDeviceHeld(r, "/devices/pci0000:00/0000:00:14.0/usb2/2-9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing device: %v", err)
	}
}

// ReadUSBEventHeld takes a usb_device's uevent properties from the event instead of
// its uevent file, and reads everything else as ReadDeviceHeld does; without
// DEVTYPE=usb_device in the properties it reads the file.
func TestReadUSBEventHeld(t *testing.T) {
	r := fixtureRoots(t, "qemu-usb-storage")
	const p = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	want, err := ReadDeviceHeld(r, p)
	if err != nil {
		t.Fatal(err)
	}
	want.Close()
	file, err := os.ReadFile(filepath.Join(r.Sys, p, "uevent"))
	if err != nil {
		t.Fatal(err)
	}
	props, err := ParseProperties(file)
	if err != nil || props["DEVTYPE"] != "usb_device" {
		t.Fatalf("fixture uevent: %v %v", props, err)
	}
	got, err := ReadUSBEventHeld(r, p, props)
	if err != nil {
		t.Fatal(err)
	}
	got.Close()
	got.Held, want.Held = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the event's properties\n%+v\nfrom the uevent file\n%+v", got, want)
	}

	// The event's properties are what is used: its device node name shows.
	props["DEVNAME"] = "bus/usb/002/099"
	got, err = ReadUSBEventHeld(r, p, props)
	if err != nil {
		t.Fatal(err)
	}
	got.Close()
	if got.DevNode != filepath.Join(r.Dev, "bus/usb/002/099") || got.USB.Stamp != want.USB.Stamp {
		t.Errorf("device node %q (want the event's), stamp %+v", got.DevNode, got.USB.Stamp)
	}
	// Another device type's properties (or none) are not used.
	for _, other := range []map[string]string{nil, {"DEVTYPE": "usb_interface", "DEVNAME": "x"}} {
		got, err = ReadUSBEventHeld(r, p, other)
		if err != nil {
			t.Fatal(err)
		}
		got.Close()
		got.Held = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("properties %v: read\n%+v\nwant\n%+v", other, got, want)
		}
	}
	if _, err := ReadUSBEventHeld(r, "/devices/pci0000:00/0000:00:14.0/usb2/2-9", props); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing device: %v", err)
	}
}
