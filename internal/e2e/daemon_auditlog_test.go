package e2e

import (
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// TestDaemonAuditLogDownBlocksMedia: while the daemon cannot write its audit log, no
// medium is used. The register's WAL is made immutable (chattr +i: ext4 then refuses
// every write to it, also through the file the daemon holds open), so the daemon's
// commits fail as on a full disk. The registered stick plugged before is taken away at
// the first failed commit, another registered stick plugged meanwhile is never
// authorized; once the file is writable again, the next row (a control call's) commits
// and both are let in without being plugged again.
func TestDaemonAuditLogDownBlocksMedia(t *testing.T) {
	v, g := needDaemon(t)
	const db = "/var/lib/mediagate/mediagate.db"
	if fs := g.MustRun(t, "stat -f -c %T "+db); fs != "ext2/ext3" {
		t.Skipf("the register is on %s; the scenario needs ext4's immutable files", fs)
	}
	register(t, g, "MGAUDIT01", "secret")
	register(t, g, "MGAUDIT02", "secret")
	v.PlugStick(t, "MGAUDIT01", nil)
	if got := decided(t, g, "MGAUDIT01"); got != "allowed" {
		t.Fatalf("reason = %q before the log fails", got)
	}
	dev1 := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial("MGAUDIT01"))
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGAUDIT01", "vfat"))

	// The WAL exists while the daemon holds the register open.
	g.MustRun(t, "test -f "+db+"-wal && chattr +i "+db+"-wal")
	t.Cleanup(func() {
		g.Exec(t, "chattr -i "+db+"-wal")
		g.Exec(t, "mediagate status >/dev/null") // a row that commits: the daemon's audit state is up again
	})

	// A blocked stick's row is the first commit that fails: the allowed stick goes.
	v.PlugStick(t, "MGAUDITNO", nil)
	g.WaitFor(t, 30*time.Second, "test \"$(cat "+dev1+"/authorized)\" = 0 && echo taken")
	g.WaitFor(t, 30*time.Second, testbed.Not(testbed.PartitionBySerial("MGAUDIT01", "")))
	if out := g.MustRun(t, "journalctl -u mediagate --no-pager -o cat | grep -c 'audit log cannot be written' || true"); out == "0" {
		t.Error("the daemon did not log that its audit log cannot be written")
	}

	// A registered stick plugged while the log fails is held, with its reason in the
	// daemon's status (its row cannot be written).
	v.PlugStick(t, "MGAUDIT02", nil)
	dev2 := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial("MGAUDIT02"))
	g.WaitFor(t, 30*time.Second, "mediagate status --json | tr -d ' \\n' | grep -q '\"reason\":\"audit-unavailable\"' && echo held")
	time.Sleep(2 * time.Second) // an authorized write would have come by now
	if got := g.MustRun(t, "cat "+dev2+"/authorized"); got != "0" {
		t.Errorf("MGAUDIT02 plugged while the log fails: authorized = %s", got)
	}

	// Writable again: the control call's row commits, and both sticks are let in.
	g.MustRun(t, "chattr -i "+db+"-wal && mediagate status >/dev/null")
	g.WaitFor(t, 30*time.Second, "test \"$(cat "+dev1+"/authorized)\" = 1 && echo back")
	g.WaitFor(t, 30*time.Second, "test \"$(cat "+dev2+"/authorized)\" = 1 && echo in")
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGAUDIT02", "vfat"))
	rescans := g.MustRun(t, "mediagate log --kind daemon.rescan --json | tr -d ' \\n'")
	if !strings.Contains(rescans, `"trigger":"audit-log"`) {
		t.Errorf("no rescan row for the audit log: %s", rescans)
	}
	if got := decided(t, g, "MGAUDIT02"); got != "allowed" {
		t.Errorf("MGAUDIT02 after the log works again: %s", got)
	}
}
