package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

var usbBySerial = testbed.USBDeviceBySerial

// The year-end check-in at the vault station, with the daemon checking in the media
// plugged in. It runs last: closing the campaign flags every medium registered by the
// other scenarios that was not handed in as missing.

type reportLine struct {
	Number  string `json:"number"`
	Status  string `json:"status"`
	Outcome string `json:"outcome"`
	State   string `json:"state"`
	CheckIn *struct {
		Manual bool   `json:"manual"`
		Source string `json:"source"`
	} `json:"check_in"`
}

// TestVaultStationRefusesClone: a stick registered with its capacity bound, and a clone
// with the same VID, PID and serial but another size plugged into the vault station
// during a campaign: the station refuses it (checkin.refused, capacity) and the medium
// stays expected; the genuine stick is then checked in. It closes its own campaign
// before the year-end scenario opens one.
func TestVaultStationRefusesClone(t *testing.T) {
	v, g := needDaemon(t)
	t.Cleanup(func() {
		g.Exec(t, "mediagate checkin close --yes >/dev/null 2>&1; mediagate host init --yes --number VM-01 --level secret")
	})
	g.MustRun(t, "mediagate host init --number VAULT-02 --level top-secret --vault-station")
	const serial = "VLTCLONE1"
	num := register(t, g, serial, "secret", fmt.Sprintf("--capacity %d", 64<<20))
	g.MustRun(t, "mediagate checkin open --year 2091 --deadline 2091-12-31")

	img := filepath.Join(t.TempDir(), "clone.img")
	if err := testbed.MakeStickImage(img, 32, "MGCLONE", nil); err != nil {
		t.Fatal(err)
	}
	clone := v.PlugStickImage(t, serial, img)
	g.WaitFor(t, 60*time.Second, `mediagate log --kind checkin.refused --json | tr -d ' \n' | grep -q '`+num+`'`)
	refused := g.MustRun(t, "mediagate log --kind checkin.refused | grep "+num)
	if !strings.Contains(refused, "capacity") {
		t.Errorf("refusal of the clone does not name the capacity:\n%s", refused)
	}
	if out := g.MustRun(t, "mediagate log --kind checkin.in"); strings.Contains(out, num) {
		t.Errorf("the clone was checked in:\n%s", out)
	}
	if out := g.MustRun(t, "mediagate media show "+num); !strings.Contains(out, "active") || strings.Contains(out, "in-vault") {
		t.Errorf("after the clone %s is not still expected:\n%s", num, out)
	}
	// `checkin plug` with the clone attached does not check it in either.
	if res := g.Exec(t, "mediagate checkin plug "+num); res.ExitCode == 0 {
		t.Errorf("checkin plug accepted the clone:\n%s", res)
	}
	if out := g.MustRun(t, "mediagate media show "+num); strings.Contains(out, "in-vault") {
		t.Errorf("after checkin plug of the clone %s is in the vault:\n%s", num, out)
	}

	// The genuine stick is checked in.
	v.Unplug(t, clone.ID)
	g.WaitFor(t, 15*time.Second, "! ("+usbBySerial(serial)+")")
	v.PlugStick(t, serial, nil)
	g.WaitFor(t, 60*time.Second, "mediagate log --kind checkin.in | grep -q "+num)
	g.MustRun(t, "mediagate checkin close --yes")
}

func TestVaultStationYearEndCheckIn(t *testing.T) {
	v, g := needDaemon(t)
	t.Cleanup(func() { g.Exec(t, "mediagate host init --yes --number VM-01 --level secret") })
	g.MustRun(t, "mediagate host init --number VAULT-01 --level top-secret --vault-station")

	plugged := []string{"VLT0001", "VLT0002", "VLT0003"}
	var nums []string
	for _, s := range plugged {
		nums = append(nums, register(t, g, s, "secret"))
	}
	manual := register(t, g, "VLTMANUAL", "confidential")
	missing := register(t, g, "VLTMISSING", "secret")
	// A year of its own, so the other scenarios' campaign does not stand in the way.
	g.MustRun(t, "mediagate checkin open --year 2090 --deadline 2090-12-31")
	if st := g.MustRun(t, "mediagate status"); !strings.Contains(st, "2090 open until 2090-12-31") {
		t.Errorf("status does not show the open campaign:\n%s", st)
	}

	sticks := map[string]string{} // serial → QEMU device id
	for _, s := range append(plugged, "VLTSTRANGE") {
		sticks[s] = v.PlugStick(t, s, nil).ID
	}
	// The daemon checks the three in as they arrive and refuses the unregistered one.
	g.WaitFor(t, 60*time.Second, fmt.Sprintf(`l=$(mediagate log --kind checkin.in); for n in %s; do printf '%%s\n' "$l" | grep -q "$n" || exit 1; done`,
		strings.Join(nums, " ")))
	refused := `mediagate log --kind checkin.refused | grep -q 'usb:46f4:0001:VLTSTRANGE.*not registered'`
	if res := g.Exec(t, testbed.WaitScript(refused, 60*time.Second)); res.ExitCode != 0 {
		t.Fatalf("no checkin.refused row for the unregistered stick within 60 s\n--- checkin rows ---\n%s--- daemon ---\n%s",
			g.Exec(t, "mediagate log --kind checkin. 2>&1 | tail -8").Stdout,
			g.Exec(t, "journalctl -u mediagate --no-pager -o cat | grep -i -e VLTSTRANGE -e checkin | tail -15").Stdout)
	}

	g.MustRun(t, "mediagate checkin mark "+manual+" --reason 'cracked case, cannot be plugged' --by zhang --cabinet C1 --slot 7")
	g.MustRun(t, "mediagate checkin close --yes")

	var report struct {
		Groups []struct {
			Lines []reportLine `json:"lines"`
		} `json:"groups"`
	}
	out := g.MustRun(t, "mediagate checkin report --year 2090 --format json")
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	lines := map[string]reportLine{}
	for _, gr := range report.Groups {
		for _, l := range gr.Lines {
			lines[l.Number] = l
		}
	}
	for _, n := range nums {
		l := lines[n]
		if l.Status != "in-vault" || l.CheckIn == nil || l.CheckIn.Manual || l.CheckIn.Source != "plugged" {
			t.Errorf("%s: %+v (want in the vault, plugged)", n, l)
		}
	}
	if l := lines[manual]; l.Status != "in-vault" || l.CheckIn == nil || !l.CheckIn.Manual {
		t.Errorf("manual %s: %+v (want in the vault, flagged manual)", manual, l)
	}
	if l := lines[missing]; l.Outcome != "missing" || l.Status != "lost" {
		t.Errorf("missing %s: %+v (want flagged missing)", missing, l)
	}
	// The closing row carries the saved report's hash.
	var closes []struct {
		Details struct {
			Year   int    `json:"year"`
			SHA256 string `json:"report_sha256"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate log --kind checkin.close --json")), &closes); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range closes {
		if c.Details.Year == 2090 && len(c.Details.SHA256) == 64 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d checkin.close rows of 2090 with a report hash; want 1", n)
	}

	// Back on a classified host profile, a stick from the vault is blocked.
	g.MustRun(t, "mediagate host init --yes --number VM-01 --level secret")
	v.Unplug(t, sticks["VLT0001"])
	g.WaitFor(t, 15*time.Second, "! ("+usbBySerial("VLT0001")+")")
	v.PlugStick(t, "VLT0001", nil)
	g.WaitFor(t, 30*time.Second, `mediagate log --kind device.decision --json | tr -d ' \n' | grep -o '"serial":"VLT0001"[^}]*}[^}]*"reason":"[a-z-]*"' | tail -1 | grep -q '"reason":"status-in-vault"'`)
	if got := authorized(t, g, "VLT0001"); got != "0" {
		t.Errorf("in-vault stick authorized = %q, want 0", got)
	}
	if out := g.MustRun(t, "mediagate audit verify"); !strings.HasPrefix(out, "audit log intact") {
		t.Errorf("audit verify: %s", out)
	}
}
