package e2e

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"mediagate/internal/identity"
	"mediagate/internal/testbed"
)

// Scenarios of identity: `mediagate devices` and `media register --from-device` on a
// hot-plugged QEMU stick and a USB CD drive with an ISO 9660 disc, in a real kernel.

// attached is what `mediagate devices --json` prints per device (the fields used here).
type attached struct {
	Ref      string `json:"ref"`
	Identity struct {
		Kind           string `json:"kind"`
		Key            string `json:"key"`
		Capacity       int64  `json:"capacity"`
		DescriptorHash string `json:"descriptor_hash"`
	} `json:"identity"`
	Registered *struct {
		Number string `json:"number"`
		Access string `json:"access"`
	} `json:"registered"`
}

// mg runs mediagate in the guest against this test's own registry.
func mg(t *testing.T, g *testbed.Guest, db, args string) string {
	t.Helper()
	return g.MustRun(t, "MEDIAGATE_DB="+db+" mediagate "+args)
}

func devicesIn(t *testing.T, g *testbed.Guest, db string) map[string]attached {
	t.Helper()
	var list []attached
	out := mg(t, g, db, "devices --json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, out)
	}
	byKey := map[string]attached{}
	for _, d := range list {
		byKey[d.Identity.Key] = d
	}
	return byKey
}

func freshRegistry(t *testing.T, g *testbed.Guest, name string) string {
	t.Helper()
	db := "/var/tmp/" + name + ".db"
	g.MustRun(t, "rm -f "+db+"*")
	mg(t, g, db, "host init --number E2E-HOST --level secret")
	mg(t, g, db, "person add officer --name Officer")
	return db
}

func TestDevicesRegisterStickFromDevice(t *testing.T) {
	vm := needMediagate(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	db := freshRegistry(t, g, "devices-stick")
	const serial = "IDSTICK01"
	vm.PlugStick(t, serial, testbed.Files{"a.txt": []byte("a\n")})
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(serial, "vfat"))

	key := "usb:46f4:0001:" + serial
	d, ok := devicesIn(t, g, db)[key]
	if !ok {
		t.Fatalf("devices does not list %s:\n%s", key, mg(t, g, db, "devices"))
	}
	if !strings.HasPrefix(d.Ref, "/dev/sd") || d.Identity.Kind != "usb-disk" || d.Identity.Capacity != 64<<20 ||
		len(d.Identity.DescriptorHash) != 64 || d.Registered != nil {
		t.Fatalf("device before registration: %+v", d)
	}
	// The recorded fixture of QEMU's stick (testdata/devices/qemu-usb-storage) must
	// describe the real one: same descriptor hash and interface classes.
	var golden struct {
		Scan []struct {
			Identity struct {
				DescriptorHash   string `json:"descriptor_hash"`
				InterfaceClasses []int  `json:"interface_classes"`
			} `json:"identity"`
		} `json:"scan"`
	}
	if b, err := os.ReadFile("../../testdata/devices/qemu-usb-storage/golden.json"); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &golden); err != nil || len(golden.Scan) != 1 {
		t.Fatalf("fixture golden: %v", err)
	}
	if want := golden.Scan[0].Identity.DescriptorHash; d.Identity.DescriptorHash != want {
		t.Errorf("descriptor hash in the guest %s; the fixture says %s", d.Identity.DescriptorHash, want)
	}
	num := mg(t, g, db, "media register --from-device "+d.Ref+" --level secret --custodian officer")
	if !strings.HasPrefix(num, "S-") {
		t.Fatalf("register --from-device printed %q", num)
	}
	d = devicesIn(t, g, db)[key]
	if d.Registered == nil || d.Registered.Number != num {
		t.Fatalf("after registration devices shows %+v", d.Registered)
	}
	// The USB port works as a reference as well, and the same stick cannot be registered twice.
	port := g.MustRun(t, "basename $("+testbed.USBDeviceBySerial(serial)+")")
	res := g.Exec(t, "MEDIAGATE_DB="+db+" mediagate media register --from-device usb:"+port+" --level secret --custodian officer")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "already registered") {
		t.Errorf("second registration by port: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if out := mg(t, g, db, "audit verify"); !strings.HasPrefix(out, "audit log intact") {
		t.Errorf("audit verify: %s", out)
	}
}

func TestDevicesRegisterDiscFromDevice(t *testing.T) {
	vm := needMediagate(t)
	g := vm.Guest()
	withoutDaemon(t, g)
	db := freshRegistry(t, g, "devices-disc")
	cd := vm.PlugCD(t, "IDCD0001", testbed.Files{"REPORT.TXT": []byte("quarterly report\n")})
	sr := g.WaitFor(t, 30*time.Second, `for d in /sys/class/block/sr*; do
	[ -e "$d" ] || continue
	udevadm info --query=property --path="$d" | grep -qx ID_FS_TYPE=iso9660 || continue
	echo "/dev/${d##*/}"; exit 0
done; exit 1`)

	// Listing the devices creates the register's disc sample key (root only); with it,
	// the guest must compute the same whole-disc identity as the host does from the
	// ISO file.
	listed := devicesIn(t, g, db)
	if mode := g.MustRun(t, "stat -c %a "+identity.DiscKeyPath(db)); mode != "600" {
		t.Errorf("disc sample key mode %s, want 600", mode)
	}
	sampleKey, err := hex.DecodeString(g.MustRun(t, "cat "+identity.DiscKeyPath(db)))
	if err != nil || len(sampleKey) != identity.DiscKeySize {
		t.Fatalf("disc sample key in the guest: %x, %v", sampleKey, err)
	}
	f, err := os.Open(cd.Image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	disc, err := identity.DiscSignature(f, st.Size(), sampleKey)
	if err != nil {
		t.Fatal(err)
	}
	key := disc.Key()
	d, ok := listed[key]
	if !ok || d.Ref != sr || d.Identity.Kind != "optical-disc" {
		t.Fatalf("devices does not list the disc as %s at %s:\n%s", key, sr, mg(t, g, db, "devices --json"))
	}
	num := mg(t, g, db, "media register --from-device "+sr+" --level confidential --custodian officer")
	if !strings.HasPrefix(num, "C-") {
		t.Fatalf("register --from-device printed %q", num)
	}
	d = devicesIn(t, g, db)[key]
	if d.Registered == nil || d.Registered.Number != num || d.Registered.Access != "ro" {
		t.Errorf("registered disc: %+v (a disc is always read-only)", d.Registered)
	}
}
