package e2e

import (
	"encoding/json"
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
