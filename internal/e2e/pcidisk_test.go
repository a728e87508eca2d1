package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// decisionRow is the part of a device.decision audit row these scenarios read.
type decisionRow struct {
	Seq     int64 `json:"seq"`
	Details struct {
		Stage  string `json:"stage"`
		Device struct {
			Name    string `json:"name"`
			DevPath string `json:"devpath"`
		} `json:"device"`
		Identity struct {
			Key    string `json:"key"`
			Serial string `json:"serial"`
		} `json:"identity"`
		Effective string   `json:"effective"`
		Reason    string   `json:"reason"`
		Detail    string   `json:"detail"`
		Actions   []string `json:"actions"`
		Error     string   `json:"error"`
	} `json:"details"`
}

// decisionRows returns the daemon's decision rows after seq (0: all).
func decisionRows(t *testing.T, g *testbed.Guest, after int64) []decisionRow {
	t.Helper()
	var rows []decisionRow
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate log --kind device.decision --json")), &rows); err != nil {
		t.Fatalf("decision rows: %v", err)
	}
	var out []decisionRow
	for _, r := range rows {
		if r.Seq > after {
			out = append(out, r)
		}
	}
	return out
}

// newVirtioDiskRow waits for the first decision row after seq about a virtio disk
// other than the system disk vda.
func newVirtioDiskRow(t *testing.T, g *testbed.Guest, after int64) decisionRow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range decisionRows(t, g, after) {
			if n := r.Details.Device.Name; strings.HasPrefix(n, "vd") && n != "vda" && r.Details.Stage == "block-device" {
				return r
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("no decision row about a new virtio disk after seq %d:\n%s", after, g.MustRun(t, "mediagate log --kind device.decision | tail -5"))
	return decisionRow{}
}

func lastSeq(t *testing.T, g *testbed.Guest) int64 {
	t.Helper()
	var last int64
	for _, r := range decisionRows(t, g, 0) {
		last = max(last, r.Seq)
	}
	return last
}

// A PCI disk outside the baseline (virtio-blk here; NVMe and Thunderbolt NVMe take the
// same path: no SCSI device/delete) is removed from the system: no block device stays
// to be mounted, and the audit row says it was detached, without an error. The guest's
// own disk, on another PCI function, stays.
func TestDaemonPCIDiskOutsideBaselineRemoved(t *testing.T) {
	v, g := needDaemon(t)
	const serial = "MGPCIDISK1"
	after := lastSeq(t, g)
	v.PlugPCIDisk(t, serial, testbed.Files{"secret.txt": []byte("must not be read\n")})

	first := newVirtioDiskRow(t, g, after).Details
	name := first.Device.Name
	if first.Effective != "block" || first.Reason != "unregistered" {
		t.Errorf("decision for %s: effective %q reason %q, want block, unregistered", name, first.Effective, first.Reason)
	}
	if !strings.HasPrefix(name, "vd") || name == "vda" {
		t.Fatalf("the PCI disk is %q, want a vdX other than the system disk", name)
	}

	// No block device is left: not the disk, not its partition.
	g.WaitFor(t, 15*time.Second, testbed.Not(testbed.DiskBySerial(serial))+" && ! test -e /sys/class/block/"+name+" && ! test -b /dev/"+name+"1")
	res := g.Exec(t, "mkdir -p /mnt/pcidisk && mount -o ro /dev/"+name+"1 /mnt/pcidisk && cat /mnt/pcidisk/secret.txt")
	t.Cleanup(func() { g.Exec(t, "umount -l /mnt/pcidisk 2>/dev/null") })
	if res.ExitCode == 0 || strings.Contains(res.Stdout, "must not be read") {
		t.Errorf("the blocked PCI disk could be mounted and read:\n%s", res)
	}

	// The row records what was done, and that it worked.
	if !slices.Contains(first.Actions, "detached") || first.Error != "" {
		t.Errorf("audit row for %s: actions %q, error %q; want detached and no error", name, first.Actions, first.Error)
	}
	t.Logf("decision row for %s: actions %q; daemon: %s", name, first.Actions,
		g.Exec(t, "journalctl -u mediagate --no-pager -o cat | grep 'removed a blocked disk' | tail -1").Stdout)
	// The system disk and the root file system are untouched.
	if got := g.MustRun(t, "test -b /dev/vda && findmnt -n -o SOURCE /"); got != "/dev/vda" {
		t.Errorf("root file system on %q", got)
	}
}

// TestDaemonBaselineSlotOtherDisk: an internal disk without a serial is recorded at host
// init by its slot, with its capacity and model. Another disk put into that slot — the
// same PCI root port, so the same device path — is not taken for the baseline disk: it
// is blocked as an identity mismatch and removed from the system.
func TestDaemonBaselineSlotOtherDisk(t *testing.T) {
	v, g := needDaemon(t)
	ctx := t.Context()
	plug := func(sizeMiB int) string {
		t.Helper()
		img := filepath.Join(t.TempDir(), "bay.img")
		if err := testbed.MakeStickImage(img, sizeMiB, "MGBAY", testbed.Files{"bay.txt": []byte("bay\n")}); err != nil {
			t.Fatal(err)
		}
		id, err := v.AddPCIDisk(ctx, testbed.PCIDiskSpec{Image: img}) // no serial: a slot baseline
		if err != nil {
			t.Fatalf("plug PCI disk: %v", err)
		}
		t.Cleanup(func() { v.Remove(context.Background(), id) })
		return id
	}

	// The disk in the bay is there at host init, while the daemon is stopped.
	g.MustRun(t, "systemctl stop mediagate.service")
	t.Cleanup(func() {
		g.Exec(t, "mediagate host init --yes --number VM-01 --level secret >/dev/null; systemctl start mediagate.service")
	})
	first := plug(64)
	g.WaitFor(t, 30*time.Second, "test -b /dev/vdb")
	out := g.MustRun(t, "mediagate host init --yes --number VM-01 --level secret")
	if !strings.Contains(out, "internal disk /dev/vdb: WEAKLY IDENTIFIED") {
		t.Errorf("host init does not name the slot-recorded disk as weakly identified:\n%s", out)
	}
	g.MustRun(t, "systemctl start mediagate.service")
	time.Sleep(3 * time.Second)
	if res := g.Exec(t, "test -b /dev/vdb"); res.ExitCode != 0 {
		t.Fatalf("the baseline disk in the bay was removed:\n%s", g.MustRun(t, "mediagate log --kind device.decision | tail -3"))
	}

	// Another disk in the same bay: a different capacity.
	if err := v.Remove(ctx, first); err != nil {
		t.Fatal(err)
	}
	g.WaitFor(t, 30*time.Second, "! test -e /sys/class/block/vdb")
	after := lastSeq(t, g)
	plug(128)
	row := newVirtioDiskRow(t, g, after).Details
	if row.Effective != "block" || row.Reason != "identity-mismatch" || row.Detail != "baseline-capacity" {
		t.Errorf("decision for the other disk in the bay: %s %s (%s), want block identity-mismatch (baseline-capacity)",
			row.Effective, row.Reason, row.Detail)
	}
	g.WaitFor(t, 15*time.Second, "! test -e /sys/class/block/"+row.Device.Name)
}
