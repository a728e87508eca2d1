package e2e

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/identity"
	"mediagate/internal/testbed"
)

// Optical drives under the daemon: the drive's nodes are root's until a permitted disc
// is in (rules/71-mediagate.rules), a permitted disc is readable by group cdrom and
// never writable, and a blocked disc is ejected even while a user holds the drive open
// with its door locked. The QEMU drive is a USB CD (usb-bot + scsi-cd), allowed by the
// host profile as a container, so every disc in it is decided by its content.

const discUser = "mgcduser" // a non-root user in group cdrom, as a desktop user is on Debian

// discDecision is the latest decision row about the disc in drive name (srN).
func discDecision(t *testing.T, g *testbed.Guest, name string) (reason string, actions []string, errText string) {
	t.Helper()
	var rows []struct {
		Details struct {
			Stage  string `json:"stage"`
			Reason string `json:"reason"`
			Device struct {
				Name string `json:"name"`
			} `json:"device"`
			Actions  []string `json:"actions"`
			Error    string   `json:"error"`
			Identity struct {
				Key string `json:"key"`
			} `json:"identity"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate log --kind device.decision --json")), &rows); err != nil {
		t.Fatal(err)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if d := rows[i].Details; d.Stage == "disc" && d.Device.Name == name {
			if d.Identity.Key == "" {
				// An empty drive is no disc: a row about it would claim an eject that
				// never happened.
				t.Errorf("decision row about the empty drive %s: %+v", name, d)
				t.Log(g.Exec(t, "journalctl -u mediagate --no-pager -o short-monotonic | grep -E 'stage=disc|name=sr' | tail -20").Stdout)
			}
			return d.Reason, d.Actions, d.Error
		}
	}
	return "", nil, ""
}

// waitDisc waits up to a minute for a decision row about the disc in drive name with
// the given reason and returns it.
func waitDisc(t *testing.T, g *testbed.Guest, name, want string) (reason string, actions []string, errText string) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); ; {
		reason, actions, errText = discDecision(t, g, name)
		if reason == want || time.Now().After(end) {
			return reason, actions, errText
		}
		time.Sleep(time.Second)
	}
}

// cdNode waits for the sr node of the USB CD drive with the given serial.
func cdNode(t *testing.T, g *testbed.Guest, serial string) string {
	t.Helper()
	return g.WaitFor(t, 30*time.Second, `for d in /sys/class/block/sr*; do
	[ -e "$d" ] || continue
	udevadm info --query=property --path="$d" | grep -qx ID_SERIAL_SHORT=`+serial+` || continue
	echo "/dev/${d##*/}"; exit 0
done; exit 1`)
}

// asUser runs a shell command as the unprivileged user.
func asUser(cmd string) string {
	return "runuser -u " + discUser + " -- sh -c " + shellQuote(cmd)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestDaemonOpticalDriveHeldAndDiscEjected(t *testing.T) {
	v, g := needDaemon(t)
	g.MustRun(t, "id "+discUser+" >/dev/null 2>&1 || useradd -M -G cdrom "+discUser)
	g.MustRun(t, "mediagate host init --yes --number VM-01 --level secret --allow-device 46f4:0001=08/06/50")
	t.Cleanup(func() { g.Exec(t, "mediagate host init --yes --number VM-01 --level secret") })

	// 1. An unregistered disc: ejected; the drive's nodes stay root's.
	unreg := v.PlugCD(t, "MGCDUNRG2", testbed.Files{"OTHER.TXT": []byte("not registered\n")})
	sr := cdNode(t, g, "MGCDUNRG2")
	name := filepath.Base(sr)
	reason, actions, errText := waitDisc(t, g, name, "unregistered")
	if reason != "unregistered" || !slices.Contains(actions, "ejected") || errText != "" {
		t.Errorf("unregistered disc: reason %q, actions %q, error %q", reason, actions, errText)
	}
	discOut(t, g, sr)
	time.Sleep(2 * time.Second) // the drive's change events after the eject
	if reason, _, _ := discDecision(t, g, name); reason != "unregistered" {
		t.Errorf("after the eject the last row says %q", reason)
	}
	checkRootOnly(t, g, sr)
	v.Unplug(t, unreg.ID)

	// A registered disc: its whole-disc key under the register's sample key (the daemon
	// created the key when it read the first disc).
	sampleKey, err := hex.DecodeString(g.MustRun(t, "cat "+identity.DiscKeyPath("/var/lib/mediagate/mediagate.db")))
	if err != nil {
		t.Fatalf("disc sample key: %v", err)
	}
	regISO := filepath.Join(t.TempDir(), "registered.iso")
	if err := testbed.MakeISO(regISO, "MGREGDISC", testbed.Files{"PLAN.TXT": []byte("registered disc\n")}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(regISO)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	disc, err := identity.DiscSignature(f, st.Size(), sampleKey)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	num := "T-DISCREG1"
	g.MustRun(t, "mediagate media register --kind optical-disc --key "+disc.Key()+" --level secret --custodian zhang --number "+num)

	// 2. The registered disc: readable by group cdrom, never writable.
	reg, err := v.AddCD(t.Context(), testbed.CDSpec{Serial: "MGCDREG02", ISO: regISO})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if slices.Contains(v.Plugged(), reg) {
			v.Unplug(t, reg)
		}
	})
	sr = cdNode(t, g, "MGCDREG02")
	name = filepath.Base(sr)
	g.WaitFor(t, 60*time.Second, "udevadm info --query=property --name="+sr+" | grep -qx MEDIAGATE=allowed")
	if got := g.MustRun(t, "stat -c %a:%U:%G "+sr); got != "640:root:cdrom" {
		t.Errorf("registered disc: %s is %s, want 640:root:cdrom", sr, got)
	}
	if got := g.MustRun(t, asUser("dd if="+sr+" bs=2048 skip=16 count=1 2>/dev/null | head -c 6 | tail -c 5")); got != "CD001" {
		t.Errorf("the user cannot read the registered disc: %q", got)
	}
	if res := g.Exec(t, asUser(": 1<>"+sr)); res.ExitCode == 0 {
		t.Errorf("the user opened the registered disc %s for writing", sr)
	}
	checkNoSG(t, g, name)

	// 3. The user holds the drive open (the kernel locks the door for every opener) and
	// locks the door as `eject -i on` does; then the disc is reported lost. A single
	// CDROMEJECT would be refused now; the daemon must still get it out.
	g.MustRun(t, "systemd-run --unit=mg-cdhold --collect --uid="+discUser+" sh -c "+shellQuote("exec 3<"+sr+"; sleep 600")+" >/dev/null 2>&1")
	t.Cleanup(func() { g.Exec(t, "systemctl stop mg-cdhold 2>/dev/null") })
	g.WaitFor(t, 15*time.Second, "pid=$(systemctl show -p MainPID --value mg-cdhold); [ \"$pid\" != 0 ] && ls -l /proc/$pid/fd 2>/dev/null | grep -q "+sr)
	if res := g.Exec(t, "command -v eject"); res.ExitCode == 0 {
		g.MustRun(t, asUser("eject -i on "+sr))
		if res := g.Exec(t, "eject "+sr); res.ExitCode == 0 {
			t.Fatalf("a plain eject worked although the drive is held and locked:\n%s", res)
		}
	}
	g.MustRun(t, "mediagate media lost "+num)
	reason, actions, errText = waitDisc(t, g, name, "status-lost")
	discOut(t, g, sr)
	time.Sleep(2 * time.Second)
	reason, actions, errText = discDecision(t, g, name)
	if reason != "status-lost" || !slices.Contains(actions, "ejected") || errText != "" {
		t.Errorf("lost disc held open by a user: reason %q, actions %q, error %q", reason, actions, errText)
	}
	if got := g.MustRun(t, "systemctl is-active mg-cdhold || true"); got != "active" {
		t.Errorf("the holder is %s: the disc must come out while it still holds the drive", got)
	}
	checkRootOnly(t, g, sr)
	if st := g.MustRun(t, "mediagate status"); strings.Contains(st, "still in the drive") {
		t.Errorf("status reports a disc still in:\n%s", st)
	}
}

// discOut waits until udev sees no disc in the drive.
func discOut(t *testing.T, g *testbed.Guest, sr string) {
	t.Helper()
	g.WaitFor(t, 30*time.Second, "! udevadm info --query=property --name="+sr+" | grep -qx ID_CDROM_MEDIA=1")
	t.Logf("%s after the eject: size %s, %s", sr, g.MustRun(t, "cat /sys/class/block/"+filepath.Base(sr)+"/size"),
		g.MustRun(t, "udevadm info --query=property --name="+sr+" | grep -E '^(DISK_MEDIA_CHANGE|ID_CDROM_MEDIA|MEDIAGATE)' | tr '\\n' ' '"))
}

// checkRootOnly checks that only root may open the drive's block and SCSI generic nodes.
func checkRootOnly(t *testing.T, g *testbed.Guest, sr string) {
	t.Helper()
	g.WaitFor(t, 15*time.Second, "test \"$(stat -c %a:%U:%G "+sr+")\" = 600:root:root")
	if res := g.Exec(t, asUser(": <"+sr)); res.ExitCode == 0 {
		t.Errorf("the user opened %s", sr)
	}
	if got := g.MustRun(t, "getfacl -p "+sr+" 2>/dev/null | grep '^user:"+discUser+"' || true"); got != "" {
		t.Errorf("ACL on %s: %s", sr, got)
	}
	checkNoSG(t, g, filepath.Base(sr))
}

// checkNoSG checks that the user cannot open the drive's SCSI generic node, if the
// guest has one.
func checkNoSG(t *testing.T, g *testbed.Guest, name string) {
	t.Helper()
	sg := g.MustRun(t, "ls /sys/class/block/"+name+"/device/scsi_generic/ 2>/dev/null | head -1")
	if sg == "" {
		t.Logf("no SCSI generic node for %s in the guest (sg not loaded)", name)
		return
	}
	if got := g.MustRun(t, "stat -c %a:%U:%G /dev/"+sg); got != "600:root:root" {
		t.Errorf("/dev/%s is %s, want 600:root:root", sg, got)
	}
	if res := g.Exec(t, asUser(": </dev/"+sg)); res.ExitCode == 0 {
		t.Errorf("the user opened /dev/%s", sg)
	}
}
