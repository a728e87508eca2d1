package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// The daemon scenarios: mediagate daemon runs in the guest as the systemd service the
// install script sets up (rules/ and scripts/systemd/), on a host registered as secret.
// Sticks are QEMU usb-storage devices (VID 46f4, PID 0001) with the serials given here.

var daemonOnce struct {
	sync.Once
	err string
}

// needDaemon installs the udev rules and the unit, initialises the registry as a secret
// host with one custodian and starts mediagate.service, once for the suite.
func needDaemon(t *testing.T) (*testbed.VM, *testbed.Guest) {
	t.Helper()
	v := needMediagate(t)
	g := v.Guest()
	daemonOnce.Do(func() {
		ctx := t.Context()
		for host, guest := range map[string]string{
			"../../rules/71-mediagate.rules":          "/etc/udev/rules.d/71-mediagate.rules",
			"../../scripts/systemd/mediagate.service": "/etc/systemd/system/mediagate.service",
		} {
			abs, _ := filepath.Abs(host)
			if err := v.Install(ctx, abs, guest, 0o644); err != nil {
				daemonOnce.err = err.Error()
				return
			}
		}
		res := g.Exec(t, `set -e
udevadm control --reload
mediagate host init --yes --number VM-01 --level secret >/dev/null
mediagate person add zhang --name 张三 --department 办公室 >/dev/null
systemctl daemon-reload
systemctl start mediagate.service
systemctl is-active mediagate.service`)
		if res.ExitCode != 0 {
			daemonOnce.err = res.String() + "\n" + g.Exec(t, "journalctl -u mediagate --no-pager | tail -30").Stdout
		}
	})
	if daemonOnce.err != "" {
		t.Fatalf("set up the daemon in the guest:\n%s", daemonOnce.err)
	}
	// A scenario without the daemon may have stopped it.
	g.MustRun(t, "systemctl is-active --quiet mediagate.service || systemctl start mediagate.service")
	return v, g
}

// withoutDaemon gives a guest with the daemon stopped and the kernel's default of
// authorizing new USB devices restored, for scenarios that test the bed or the CLI alone.
func withoutDaemon(t *testing.T, g *testbed.Guest) {
	t.Helper()
	g.MustRun(t, `systemctl stop mediagate.service 2>/dev/null || true
for h in /sys/bus/usb/devices/usb*; do echo 1 > "$h/authorized_default"; done`)
}

// register registers a stick in the guest and returns its number.
func register(t *testing.T, g *testbed.Guest, serial, level string, extra ...string) string {
	t.Helper()
	num := "T-" + serial
	g.MustRun(t, fmt.Sprintf("mediagate media register --kind usb-disk --vendor 46f4 --product 0001 --serial %s --level %s --custodian zhang --number %s %s",
		serial, level, num, strings.Join(extra, " ")))
	return num
}

// decided waits until the daemon has logged a decision about the serial and returns the
// reason of the latest one.
func decided(t *testing.T, g *testbed.Guest, serial string) string {
	t.Helper()
	return g.WaitFor(t, 30*time.Second, fmt.Sprintf(
		`mediagate log --kind device.decision --json | tr -d ' \n' | grep -o '"serial":"%s"[^}]*}[^}]*"reason":"[a-z-]*"' | tail -1 | grep -o '"reason":"[a-z-]*"' | cut -d'"' -f4 | grep .`, serial))
}

func authorized(t *testing.T, g *testbed.Guest, serial string) string {
	t.Helper()
	dev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	return g.MustRun(t, "cat "+dev+"/authorized")
}

// kernelMark writes a line of its own into the guest kernel's log and returns it, for
// attachedSince. A count of every line would not do: over a long suite the kernel's
// ring buffer wraps, and the count of old lines goes down.
func kernelMark(t *testing.T, g *testbed.Guest) string {
	t.Helper()
	mark := fmt.Sprintf("mediagate-e2e mark %s %d", t.Name(), time.Now().UnixNano())
	g.MustRun(t, "echo '"+mark+"' > /dev/kmsg")
	return mark
}

// attachedSince counts the SCSI disks the guest kernel attached since mark
// (kernelMark); a mark no longer in the log fails the test rather than count nothing.
func attachedSince(t *testing.T, g *testbed.Guest, mark string) int {
	t.Helper()
	out := g.MustRun(t, "dmesg")
	i := strings.LastIndex(out, mark)
	if i < 0 {
		t.Fatalf("the kernel log no longer holds the mark %q", mark)
	}
	return strings.Count(out[i:], "Attached SCSI")
}

func expectBlocked(t *testing.T, g *testbed.Guest, serial, reason string) {
	t.Helper()
	if got := decided(t, g, serial); got != reason {
		t.Errorf("reason for %s = %q, want %q", serial, got, reason)
	}
	if got := authorized(t, g, serial); got != "0" {
		t.Errorf("%s authorized = %q, want 0", serial, got)
	}
	time.Sleep(2 * time.Second) // a block device would appear within this time
	if res := g.Exec(t, testbed.PartitionBySerial(serial, "")); res.ExitCode == 0 {
		t.Errorf("blocked stick %s has a block device %s", serial, res.Stdout)
	}
}

func TestDaemonIsReadyAndLocksRootHubs(t *testing.T) {
	_, g := needDaemon(t)
	out := g.MustRun(t, "cat /sys/bus/usb/devices/usb*/authorized_default | sort -u")
	if out != "0" {
		t.Errorf("authorized_default of the root hubs = %q, want 0", out)
	}
	st := g.MustRun(t, "mediagate status")
	if !strings.Contains(st, "running") || !strings.Contains(st, "VM-01") || !strings.Contains(st, "SQLite") {
		t.Errorf("status:\n%s", st)
	}
	// The guest's own disk was recorded as the baseline at host init and stays.
	var status struct {
		Present []struct {
			Name     string `json:"name"`
			Decision struct {
				Reason string `json:"reason"`
			} `json:"decision"`
		} `json:"present"`
		Memory struct {
			RSS    int64 `json:"rss_kib"`
			Heap   int64 `json:"go_heap_kib"`
			SQLite int64 `json:"sqlite_kib"`
		} `json:"memory"`
	}
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate status --json")), &status); err != nil {
		t.Fatal(err)
	}
	// The daemon's memory, SQLite's included (mediagated counts it: memory.counters).
	if m := status.Memory; m.RSS <= 0 || m.Heap <= 0 || m.SQLite <= 0 || m.SQLite >= m.RSS*4 {
		t.Errorf("memory in status: %+v, want resident, Go heap and SQLite figures", m)
	}
	vda := ""
	for _, p := range status.Present {
		if p.Name == "vda" {
			vda = p.Decision.Reason
		}
	}
	if vda != "baseline" {
		t.Errorf("the guest's system disk vda: reason %q, want baseline", vda)
	}
	t.Logf("daemon in the guest: %s", g.MustRun(t, `pid=$(systemctl show -p MainPID --value mediagate.service); grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' \t\n' ' '`))
	// No transparent huge pages for the daemon (the guest's kernel policy is "always").
	if got := g.MustRun(t, `grep THP_enabled /proc/$(systemctl show -p MainPID --value mediagate.service)/status | tr -d ' \t'`); got != "THP_enabled:0" {
		t.Errorf("daemon's %q, want huge pages off", got)
	}
	// … and none from before it turned them off: mediagated executes itself again with
	// them off before its runtime touches the heap (daemonrun.RestartWithoutHugePages).
	if got := g.MustRun(t, `awk '/^AnonHugePages:/ { n += $2 } END { print n + 0 }' /proc/$(systemctl show -p MainPID --value mediagate.service)/smaps`); got != "0" {
		t.Errorf("daemon holds %s kB of transparent huge pages, want 0", got)
	}
	// Executed again by its path, it keeps its name (ps, pidof, the journal).
	if got := g.MustRun(t, `cat /proc/$(systemctl show -p MainPID --value mediagate.service)/comm`); got != "mediagated" {
		t.Errorf("daemon's process name %q, want mediagated", got)
	}
	// The daemon runs with the unit's timer slack (TimerSlackNSec=5ms), which its
	// threads, the Go runtime's monitor thread among them, inherit from it.
	if got := g.MustRun(t, `cat /proc/$(systemctl show -p MainPID --value mediagate.service)/timerslack_ns`); got != "5000000" {
		t.Errorf("timer slack of the daemon = %q ns, want 5000000", got)
	}
	// Both event sockets have their filters: the kernel's drops other subsystems'
	// events and USB interfaces' before they wake the reader (docs/daemon.md). This
	// kernel charges the filter to a socket option memory of 20 KiB, which takes the
	// daemon's shorter scan.
	journal := g.MustRun(t, "journalctl -u mediagate.service --no-pager -o cat | grep 'socket filter' || true")
	if strings.Contains(journal, "no socket filter") {
		t.Errorf("the daemon runs without a socket filter:\n%s", journal)
	}
	t.Logf("socket filters: %q", journal)
	if got := g.MustRun(t, "systemctl show -p Type,NRestarts --value mediagate.service | tr '\\n' ' '"); !strings.HasPrefix(got, "notify") {
		t.Errorf("unit Type, NRestarts = %q", got)
	}
}

func TestDaemonUnregisteredStickNeverGetsBlockDevice(t *testing.T) {
	v, g := needDaemon(t)
	mark := kernelMark(t, g)
	v.PlugStick(t, "MGUNREG01", testbed.Files{"a.txt": []byte("x\n")})
	expectBlocked(t, g, "MGUNREG01", "unregistered")
	if n := attachedSince(t, g, mark); n != 0 {
		t.Errorf("the kernel attached %d SCSI disk(s) for the unregistered stick", n)
	}
	// `mediagate devices` shows the daemon's live decision for it.
	var devs []struct {
		Identity struct {
			Key string `json:"key"`
		} `json:"identity"`
		Decision *struct {
			Effective string `json:"effective"`
			Decision  struct {
				Reason string `json:"reason"`
			} `json:"decision"`
		} `json:"decision"`
	}
	if err := json.Unmarshal([]byte(g.MustRun(t, "mediagate devices --json")), &devs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		if d.Identity.Key == "usb:46f4:0001:MGUNREG01" {
			found = d.Decision != nil && d.Decision.Effective == "block" && d.Decision.Decision.Reason == "unregistered"
		}
	}
	if !found {
		t.Errorf("devices does not show the live block decision:\n%s", g.MustRun(t, "mediagate devices"))
	}
}

func TestDaemonRegisteredStickMounts(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGREGOK01", "secret")
	v.PlugStick(t, "MGREGOK01", testbed.Files{"report.txt": []byte("allowed\n")})
	if got := decided(t, g, "MGREGOK01"); got != "allowed" {
		t.Errorf("reason = %q", got)
	}
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGREGOK01", "vfat"))
	g.MustRun(t, "mkdir -p /mnt/ok && mount "+part+" /mnt/ok")
	t.Cleanup(func() { g.Exec(t, "umount /mnt/ok") })
	if got := g.MustRun(t, "cat /mnt/ok/report.txt && touch /mnt/ok/written && echo rw"); got != "allowed\nrw" {
		t.Errorf("stick content = %q", got)
	}
	if got := g.MustRun(t, "ls /run/mediagate/allow/ | tr '\\n' ' '"); !strings.Contains(got, filepath.Base(part)+".") {
		t.Errorf("no automounter marker for %s: %q", part, got)
	}
	// The udev rule found the marker of this medium (kernel name and DISKSEQ).
	g.WaitFor(t, 15*time.Second, "udevadm info --query=property --name="+part+" | grep -qx MEDIAGATE=allowed")
}

// A medium reported lost while it is plugged in and mounted stops working at once: the
// CLI asks the daemon to decide again, the mount is taken away and the USB device with it.
func TestDaemonLostWhilePluggedIsBlockedAtOnce(t *testing.T) {
	v, g := needDaemon(t)
	num := register(t, g, "MGLOSTNOW", "confidential")
	v.PlugStick(t, "MGLOSTNOW", nil)
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGLOSTNOW", "vfat"))
	g.MustRun(t, "mkdir -p /mnt/lostnow && mount "+part+" /mnt/lostnow")
	t.Cleanup(func() { g.Exec(t, "umount -l /mnt/lostnow") })
	g.MustRun(t, "mediagate media lost "+num)
	dev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial("MGLOSTNOW"))
	g.WaitFor(t, 30*time.Second, "test \"$(cat "+dev+"/authorized)\" = 0")
	g.WaitFor(t, 30*time.Second, "! grep -q ' /mnt/lostnow ' /proc/self/mountinfo")
	if got := decided(t, g, "MGLOSTNOW"); got != "status-lost" {
		t.Errorf("reason after the report = %q", got)
	}
}

func TestDaemonLevelAboveHostBlocked(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGTOPSEC1", "top-secret")
	v.PlugStick(t, "MGTOPSEC1", nil)
	expectBlocked(t, g, "MGTOPSEC1", "level-above-host")
}

func TestDaemonReadOnlyRegistrationMountsReadOnly(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGROONLY1", "secret", "--read-only")
	v.PlugStick(t, "MGROONLY1", testbed.Files{"ro.txt": []byte("read me\n")})
	if got := decided(t, g, "MGROONLY1"); got != "allowed-read-only" {
		t.Errorf("reason = %q", got)
	}
	part := g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGROONLY1", "vfat"))
	g.WaitFor(t, 15*time.Second, "test \"$(blockdev --getro "+part+")\" = 1")
	res := g.Exec(t, "mkdir -p /mnt/ro && mount -o rw "+part+" /mnt/ro; findmnt -n -o OPTIONS /mnt/ro")
	t.Cleanup(func() { g.Exec(t, "umount /mnt/ro") })
	if !strings.HasPrefix(strings.TrimSpace(res.Stdout), "ro") {
		t.Fatalf("mount options %q, want ro:\n%s", res.Stdout, res)
	}
	if got := g.MustRun(t, "cat /mnt/ro/ro.txt"); got != "read me" {
		t.Errorf("content %q", got)
	}
	if res := g.Exec(t, "touch /mnt/ro/new"); res.ExitCode == 0 {
		t.Error("wrote to a read-only registered stick")
	}
	if res := g.Exec(t, "dd if=/dev/zero of="+part+" bs=512 count=1 oflag=direct"); res.ExitCode == 0 {
		t.Error("raw write to the read-only partition succeeded")
	}
}

func TestDaemonUnregisteredCDNotMounted(t *testing.T) {
	v, g := needDaemon(t)
	v.PlugCD(t, "MGCDUNREG", testbed.Files{"README.TXT": []byte("disc\n")})
	expectBlocked(t, g, "MGCDUNREG", "unregistered")
	if res := g.Exec(t, "ls /dev/sr* 2>/dev/null; grep -c iso9660 /proc/mounts"); strings.Contains(res.Stdout, "/dev/sr") {
		t.Errorf("the unregistered CD drive has a block device:\n%s", res.Stdout)
	}
}

func TestDaemonUSBNetBlockedKeyboardWorks(t *testing.T) {
	v, g := needDaemon(t)
	v.PlugKeyboard(t)
	g.WaitFor(t, 30*time.Second, `for d in /sys/class/input/input*; do
	grep -q '^QEMU QEMU USB Keyboard' "$d/name" 2>/dev/null && exit 0
done; exit 1`)
	v.PlugNet(t)
	// usb-net is 0525:a4a2 in QEMU; wait for the daemon's decision on it
	dev := g.WaitFor(t, 30*time.Second, `for d in /sys/bus/usb/devices/*; do
	[ "$(cat $d/idVendor 2>/dev/null):$(cat $d/idProduct 2>/dev/null)" = 0525:a4a2 ] && { readlink -f $d; exit 0; }
done; exit 1`)
	reason := g.WaitFor(t, 30*time.Second, `mediagate log --kind device.decision --json | tr -d ' \n' | grep -o '"vendor_id":"0525","product_id":"a4a2"[^}]*}[^}]*"reason":"[a-z-]*"' | tail -1 | grep -o '"reason":"[a-z-]*"' | cut -d'"' -f4 | grep .`)
	if reason != "peripheral-not-allowed" {
		t.Errorf("usb-net reason %q", reason)
	}
	if got := g.MustRun(t, "cat "+dev+"/authorized"); got != "0" {
		t.Errorf("usb-net authorized = %q", got)
	}
	time.Sleep(2 * time.Second)
	if res := g.Exec(t, `for n in /sys/class/net/*; do readlink -f $n; done | grep -c usb`); strings.TrimSpace(res.Stdout) != "0" {
		t.Errorf("a USB network interface exists: %s", res.Stdout)
	}
}

func TestDaemonStoppedThenRestarted(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGRESTRT1", "secret")
	g.MustRun(t, "systemctl stop mediagate.service")
	t.Cleanup(func() { g.Exec(t, "systemctl start mediagate.service") })

	// Daemon stopped: even a registered stick stays blocked (the kernel keeps
	// authorized_default=0), and so does an unregistered one.
	v.PlugStick(t, "MGRESTRT1", testbed.Files{"a.txt": []byte("a\n")})
	v.PlugStick(t, "MGRESTUN1", nil)
	for _, s := range []string{"MGRESTRT1", "MGRESTUN1"} {
		if got := authorized(t, g, s); got != "0" {
			t.Errorf("%s authorized = %q with the daemon stopped", s, got)
		}
	}
	time.Sleep(2 * time.Second)
	for _, s := range []string{"MGRESTRT1", "MGRESTUN1"} {
		if res := g.Exec(t, testbed.PartitionBySerial(s, "")); res.ExitCode == 0 {
			t.Errorf("%s got a block device with the daemon stopped", s)
		}
	}

	// Restarted: the present registered stick is allowed, the unregistered one not.
	g.MustRun(t, "systemctl start mediagate.service")
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGRESTRT1", "vfat"))
	expectBlocked(t, g, "MGRESTUN1", "unregistered")
}

// A USB device that presents a registered stick's VID:PID, serial and capacity with the
// stick's disk as LUN 0 and a second disk as LUN 1 (usb-bot with two scsi-hd): a
// registration covers exactly one disk, so the whole device is deauthorized, no disk of
// it stays, and the decision row names the anomaly.
func TestDaemonExtraLUNBehindRegisteredStickBlocked(t *testing.T) {
	v, g := needDaemon(t)
	const serial = "MGLUNTWO1"
	num := register(t, g, serial, "secret", "--capacity", fmt.Sprint(64<<20))
	v.PlugMultiLUN(t, serial, testbed.Files{"lun0.txt": []byte("registered\n")}, testbed.Files{"lun1.txt": []byte("smuggled\n")})
	row := g.WaitFor(t, 30*time.Second, `mediagate log --kind device.decision --medium `+num+` --json | tr -d ' \n' | grep -o '"behind":\[[^]]*\][^{]*"detail":"extra-disk"' | tail -1 | grep .`)
	t.Logf("decision: %s", row)
	if !strings.Contains(row, ",") {
		t.Errorf("the row names fewer than two disks behind the device: %s", row)
	}
	dev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	g.WaitFor(t, 30*time.Second, "test \"$(cat "+dev+"/authorized)\" = 0")
	// Neither disk stays: no block device with the serial, nothing mounted from it.
	g.WaitFor(t, 30*time.Second, testbed.Not(testbed.PartitionBySerial(serial, "")))
	time.Sleep(2 * time.Second)
	if res := g.Exec(t, testbed.PartitionBySerial(serial, "")); res.ExitCode == 0 {
		t.Errorf("a disk of the two-disk device is back: %s", res.Stdout)
	}
	if got := g.MustRun(t, "cat "+dev+"/authorized"); got != "0" {
		t.Errorf("authorized = %q after the block", got)
	}
	if res := g.Exec(t, "ls /dev/disk/by-id/ | grep "+serial); res.ExitCode == 0 {
		t.Errorf("by-id links remain:\n%s", res.Stdout)
	}
}

// Type=notify: `systemctl start mediagate` returns once the daemon has sent READY=1,
// and the daemon sends it only after every device plugged while it was down has been
// decided. The decision rows exist when start returns, and were
// written before systemd saw READY. The watchdog is armed and fed by the daemon.
func TestDaemonReadyOnlyAfterPresentDevicesDecided(t *testing.T) {
	v, g := needDaemon(t)
	register(t, g, "MGREADY01", "confidential")
	g.MustRun(t, "systemctl stop mediagate.service")
	t.Cleanup(func() { g.Exec(t, "systemctl start mediagate.service") })
	v.PlugStick(t, "MGREADY01", nil)
	v.PlugStick(t, "MGREADYU1", nil)
	for _, s := range []string{"MGREADY01", "MGREADYU1"} {
		g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(s))
	}
	out := g.MustRun(t, `systemctl start mediagate.service
systemctl show -p ActiveEnterTimestamp --timestamp=us+utc --value mediagate.service
mediagate log --kind device.decision --json`)
	readyLine, rows, _ := strings.Cut(out, "\n")
	ready, err := time.Parse("Mon 2006-01-02 15:04:05.000000 MST", strings.TrimSpace(readyLine))
	if err != nil {
		t.Fatalf("ActiveEnterTimestamp %q: %v", readyLine, err)
	}
	var events []struct {
		Time    time.Time `json:"time"`
		Details struct {
			Reason   string `json:"reason"`
			Identity struct {
				Serial string `json:"serial"`
			} `json:"identity"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(rows), &events); err != nil {
		t.Fatalf("decision rows: %v\n%s", err, rows)
	}
	for _, s := range []string{"MGREADY01", "MGREADYU1"} {
		var first *time.Time
		for i, e := range events {
			if e.Details.Identity.Serial == s {
				first = &events[i].Time
				t.Logf("%s: %s at %s (READY at %s)", s, e.Details.Reason, e.Time.Format(time.StampMicro), ready.Format(time.StampMicro))
				break
			}
		}
		switch {
		case first == nil:
			t.Errorf("no decision row for %s when systemctl start returned", s)
		case first.After(ready):
			t.Errorf("%s decided at %s, after READY at %s", s, first.Format(time.StampMicro), ready.Format(time.StampMicro))
		}
	}
	if got := authorized(t, g, "MGREADYU1"); got != "0" {
		t.Errorf("the unregistered stick: authorized = %q", got)
	}
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial("MGREADY01", "vfat"))
	// No watchdog: an idle daemon is not woken to ping it (docs/daemon.md).
	if usec := g.MustRun(t, "systemctl show -p WatchdogUSec --value mediagate.service"); usec != "0" && usec != "infinity" {
		t.Errorf("watchdog: WatchdogUSec=%q, want none", usec)
	}
}

// TestDaemonLostAndInVaultBlocked runs last: closing the check-in campaign moves every
// medium that was not checked in to missing.
func TestDaemonLostAndInVaultBlocked(t *testing.T) {
	v, g := needDaemon(t)
	lost := register(t, g, "MGLOST001", "secret")
	vault := register(t, g, "MGVAULT01", "secret")
	g.MustRun(t, "mediagate media lost "+lost)
	res := g.Exec(t, fmt.Sprintf(`set -e
mediagate checkin open --year $(date +%%Y) >/dev/null
mediagate checkin mark %s --reason e2e --by zhang >/dev/null
mediagate checkin close --yes >/dev/null
mediagate media show %s`, vault, vault))
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "in-vault") {
		t.Fatalf("could not put %s in the vault:\n%s", vault, res)
	}
	v.PlugStick(t, "MGLOST001", nil)
	expectBlocked(t, g, "MGLOST001", "status-lost")
	v.PlugStick(t, "MGVAULT01", nil)
	expectBlocked(t, g, "MGVAULT01", "status-in-vault")
}
