package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// TestDiscIdentityTiming measures the whole-disc identity in the guest on full-size
// sparse images with many files (testbed.MakeLargeISO): a ~740 MB CD with 20,000 files
// and a ~4.5 GB DVD with 100,000 files, and a one-file disc for comparison. For each it
// prints how long `mediagate
// devices` takes to identify the disc, registers it from the device, then runs a
// daemon (its own registry, the QEMU CD drive allowed as a container) and prints the
// time from the kernel attaching the disc's block device to the daemon's decision.
// Figures only: no timed assertion (see docs/security.md for the measured numbers).
func TestDiscIdentityTiming(t *testing.T) {
	v := needMediagate(t)
	g := v.Guest()
	withoutDaemon(t, g)
	db := "/var/tmp/disc-timing.db"
	g.MustRun(t, "rm -f "+db+"*")
	mg(t, g, db, "host init --number E2E-DISC --level secret --allow-device 46f4:0001=08/06/50")
	mg(t, g, db, "person add officer --name Officer")

	for _, c := range []struct {
		name, serial string
		dirs, files  int
		fileSize     int64
	}{
		{"small", "SMALLCD01", 1, 1, 100}, // for comparison: what the rest of the path costs
		{"CD", "BIGCD0001", 200, 100, 35_000},
		{"DVD", "BIGDVD001", 1000, 100, 44_000},
	} {
		iso := filepath.Join(t.TempDir(), c.name+".iso")
		if err := testbed.MakeLargeISO(iso, strings.ToUpper(c.name), c.dirs, c.files, c.fileSize); err != nil {
			t.Fatal(err)
		}
		plug := func() (id, sr string) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := v.AddCD(ctx, testbed.CDSpec{Serial: c.serial, ISO: iso})
			if err != nil {
				t.Fatalf("plug %s: %v", c.name, err)
			}
			t.Cleanup(func() {
				if slices.Contains(v.Plugged(), id) {
					v.Unplug(t, id)
				}
			})
			sr = g.WaitFor(t, 60*time.Second, `for d in /sys/class/block/sr*; do
	[ -e "$d" ] || continue
	udevadm info --query=property --path="$d" | grep -qx ID_FS_TYPE=iso9660 || continue
	echo "/dev/${d##*/}"; exit 0
done; exit 1`)
			return id, sr
		}

		// 1. Without the daemon: identify and register from the device.
		id, sr := plug()
		took := g.MustRun(t, "TIMEFORMAT=%R; { time MEDIAGATE_DB="+db+" mediagate devices --json >/tmp/devices.json; } 2>&1")
		key := g.MustRun(t, `grep -o '"key": *"disc:v2-iso9660:[0-9a-f]*"' /tmp/devices.json | head -1 | cut -d'"' -f4`)
		if !strings.HasPrefix(key, "disc:v2-iso9660:") {
			t.Fatalf("%s: devices lists no whole-disc key:\n%s", c.name, g.MustRun(t, "cat /tmp/devices.json"))
		}
		num := mg(t, g, db, "media register --from-device "+sr+" --level secret --custodian officer")
		t.Logf("%s: %s, `mediagate devices` (process start, scan, identity) took %s s in the guest", c.name, num, took)
		v.Unplug(t, id)

		// 2. With a daemon: insert → decision.
		unit := "mg-disc-timing"
		g.MustRun(t, "systemd-run --unit="+unit+" --collect -E MEDIAGATE_DB="+db+
			" /usr/local/bin/mediagate daemon --socket /run/mediagate/disc-timing.sock --run-dir /run/mediagate/disc-timing >/dev/null")
		stop := func() {
			g.Exec(t, "systemctl stop "+unit+` 2>/dev/null
for h in /sys/bus/usb/devices/usb*; do echo 1 > "$h/authorized_default"; done`)
		}
		t.Cleanup(stop)
		g.WaitFor(t, 30*time.Second, "test -S /run/mediagate/disc-timing.sock")
		before := g.MustRun(t, "journalctl -u "+unit+" -o cat | grep -c 'stage=disc' || true")
		id, _ = plug()
		line := g.WaitFor(t, 60*time.Second, fmt.Sprintf(
			"journalctl -u %s -o short-monotonic | grep 'stage=disc' | sed -n '%sp' | grep .", unit, strconv.Itoa(atoi(before)+1)))
		attached := g.MustRun(t, `dmesg | grep 'Attached scsi CD-ROM' | tail -1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/'`)
		decided := ""
		if m := monotonic.FindStringSubmatch(line); m != nil {
			decided = m[1]
		}
		ms := (atof(decided) - atof(attached)) * 1000
		t.Logf("%s: block device attached at %s s, decision at %s s: insert → decision %.0f ms\n  %s", c.name, attached, decided, ms, line)
		if !strings.Contains(line, "verdict=allow-read-only") || !strings.Contains(line, "key="+key) {
			t.Errorf("%s: the daemon's decision is not read-only by the registered key %s:\n%s", c.name, key, line)
		}
		v.Unplug(t, id)
		stop()
	}
}

// monotonic is the timestamp of a journalctl -o short-monotonic line.
var monotonic = regexp.MustCompile(`^\[\s*([0-9]+\.[0-9]+)\]`)

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f
}
