package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// TestUSBGuardSideBySide is the side-by-side benchmark in the QEMU guest. It does not
// judge the figures; it fails only when the run itself cannot be done. Run it with
// scripts/bench-usbguard.sh, which builds the guest image and mediagate and sets:
//
//	MEDIAGATE_BENCH=1, MEDIAGATE_E2E_IMAGE, MEDIAGATE_E2E_WORKDIR, MEDIAGATE_BIN,
//	MEDIAGATE_DAEMON_BIN (cmd/mediagated, which mediagate.service runs)
//	MEDIAGATE_BENCH_PLUGS  allowed plugs per daemon, as many blocked ones (default 20)
//	MEDIAGATE_BENCH_IDLE   idle window, a Go duration (default 60s)
//	MEDIAGATE_BENCH_STARTS N: start each daemon N times (default 1), the start-up figures as medians
//	MEDIAGATE_BENCH_SOAK   N: only a soak of N plugs against mediagate (default 0: off)
//	MEDIAGATE_BENCH_OUT    file the table is written to (Markdown), besides stdout
//	MEDIAGATE_BENCH_COMMAND, MEDIAGATE_BENCH_VERSION  shown above the table
func TestUSBGuardSideBySide(t *testing.T) {
	if os.Getenv("MEDIAGATE_BENCH") != "1" {
		t.Skip("the side-by-side benchmark runs in a VM: scripts/bench-usbguard.sh (sets MEDIAGATE_BENCH=1)")
	}
	cfg := benchConfig{plugs: 20, idle: 60 * time.Second, settle: 5 * time.Second, starts: 1,
		icount: os.Getenv("MEDIAGATE_BENCH_ICOUNT") != ""}
	if v := os.Getenv("MEDIAGATE_BENCH_PLUGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MEDIAGATE_BENCH_PLUGS=%q: want a positive number", v)
		}
		cfg.plugs = n
	}
	if v := os.Getenv("MEDIAGATE_BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			t.Fatalf("MEDIAGATE_BENCH_IDLE=%q: want a duration such as 60s", v)
		}
		cfg.idle = d
	}
	if v := os.Getenv("MEDIAGATE_BENCH_STARTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MEDIAGATE_BENCH_STARTS=%q: want a positive number", v)
		}
		cfg.starts = n
	}
	if v := os.Getenv("MEDIAGATE_BENCH_SOAK"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("MEDIAGATE_BENCH_SOAK=%q: want a number of plugs", v)
		}
		cfg.soak = n
	}
	bin := os.Getenv("MEDIAGATE_BIN")
	if bin == "" {
		t.Fatal("MEDIAGATE_BIN is not set (scripts/bench-usbguard.sh builds mediagate)")
	}

	b := bootBench(t, cfg)
	// MEDIAGATE_BENCH_HOLD=DURATION keeps the fresh guest waiting before anything is set
	// up, to look at it through the share (cmd/N.sh, see scripts/vm/guest/runner.sh).
	if d, err := time.ParseDuration(os.Getenv("MEDIAGATE_BENCH_HOLD")); err == nil && d > 0 {
		fmt.Printf("bench: holding the guest for %s; share %s\n", d, b.vm.ShareDir())
		time.Sleep(d)
	}
	b.installMediagate(bin)
	b.startTrace()
	var out bytes.Buffer
	if cfg.soak > 0 {
		b.soak(&out)
	} else {
		ug := b.runDaemon(usbguard, 1)
		mg := b.runDaemon(mediagateD, 1+2*cfg.plugs)
		tr := b.stopTrace()
		for i, d := range []*DaemonResult{&ug, &mg} {
			d.Lost = tr.Lost
			first := 1 + i*2*cfg.plugs
			for _, p := range Plugs(tr, d.Comm) {
				if p.Plug >= first && p.Plug < first+2*cfg.plugs {
					d.Plugs = append(d.Plugs, p)
				}
			}
			if len(d.Plugs) != 2*cfg.plugs {
				t.Errorf("%s: %d plug markers in the trace, want %d", d.Name, len(d.Plugs), 2*cfg.plugs)
			}
		}
		b.header(&out)
		if err := WriteTable(&out, ug, mg); err != nil {
			t.Fatal(err)
		}
		b.perPlug(&out, ug, mg)
		if os.Getenv("MEDIAGATE_BENCH_SYSCALLS") != "" {
			costs(&out, tr, ug, mg)
			timelines(&out, tr, ug, mg)
		}
	}
	if p := os.Getenv("MEDIAGATE_BENCH_PROFILE"); p != "" {
		b.g.MustRun(t, "systemctl stop mediagate.service; cp /var/lib/mediagate/cpu.pprof /share/cpu.pprof")
		data, err := os.ReadFile(filepath.Join(b.vm.ShareDir(), "cpu.pprof"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.Write(out.Bytes())
	if p := os.Getenv("MEDIAGATE_BENCH_OUT"); p != "" {
		if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type benchConfig struct {
	plugs  int           // allowed plugs per daemon; as many blocked
	idle   time.Duration // idle window for context switches
	settle time.Duration // after the daemon is active, before the first sample
	soak   int
	starts int  // starts per daemon; all but the last are sampled and stopped
	icount bool // --icount: the guest's clocks count instructions (bootBench)
}

type benchRun struct {
	t     *testing.T
	cfg   benchConfig
	vm    *testbed.VM
	g     *testbed.Guest
	img   string // the stick image every plug uses
	facts []string
	hz    int
}

const (
	traceDir     = "/sys/kernel/tracing"
	traceFile    = "/run/mgbench/trace.txt"
	allowSerial  = "MGBENCHOK01"
	serialPrefix = "MGBENCH"
)

func bootBench(t *testing.T, cfg benchConfig) *benchRun {
	img := os.Getenv("MEDIAGATE_E2E_IMAGE")
	if img == "" {
		t.Fatal("MEDIAGATE_E2E_IMAGE is not set (run scripts/bench-usbguard.sh)")
	}
	work := os.Getenv("MEDIAGATE_E2E_WORKDIR")
	if work == "" {
		work = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	// --icount: one vCPU thread for both vCPUs, the guest's clocks counting
	// instructions (one nanosecond each), so that run times are instruction counts.
	// The guest does not bring up a second vCPU under -icount (QEMU 7.2: it stops at
	// "Booting SMP configuration"), so it has one; and the clocksource stays hpet, as
	// in the two-vCPU guest (whose TSCs are unsynchronized): a clock read is then a
	// system call as there, not a vDSO read of the TSC.
	var accel, icount string
	cpus, kargs := 0, os.Getenv("MEDIAGATE_BENCH_KERNEL_ARGS")
	if cfg.icount {
		accel, icount, cpus = "tcg,thread=single", "shift=0,sleep=off", 1
		kargs = strings.TrimSpace(kargs + " clocksource=hpet")
	}
	vm, err := testbed.Start(ctx, testbed.Config{
		Kernel:  filepath.Join(img, "vmlinuz"),
		Initrd:  filepath.Join(img, "initrd.img"),
		Image:   filepath.Join(img, "rootfs.qcow2"),
		WorkDir: work,
		Append:  kargs,
		CPUs:    cpus,
		Accel:   accel,
		Icount:  icount,
	})
	if err != nil {
		t.Fatalf("boot the guest: %v", err)
	}
	t.Cleanup(func() { vm.Stop() })
	fmt.Printf("bench: guest up in %s (qemu pid %d)\n", time.Since(start).Round(100*time.Millisecond), vm.PID())
	b := &benchRun{t: t, cfg: cfg, vm: vm, g: vm.Guest()}
	b.img = filepath.Join(t.TempDir(), "stick.img")
	if err := testbed.MakeStickImage(b.img, 16, "MGBENCH", testbed.Files{"a.txt": []byte("bench\n")}); err != nil {
		t.Fatal(err)
	}
	b.hz, err = strconv.Atoi(b.g.MustRun(t, "getconf CLK_TCK"))
	if err != nil || b.hz <= 0 {
		t.Fatalf("guest CLK_TCK: %v", err)
	}
	return b
}

func (b *benchRun) installMediagate(bin string) {
	t := b.t
	ctx := t.Context()
	if err := b.vm.Install(ctx, bin, "/usr/local/bin/mediagate", 0o755); err != nil {
		t.Fatal(err)
	}
	// The daemon binary the unit runs (cmd/mediagated).
	dbin := os.Getenv("MEDIAGATE_DAEMON_BIN")
	if dbin == "" {
		t.Fatal("MEDIAGATE_DAEMON_BIN is not set (scripts/bench-usbguard.sh builds mediagated)")
	}
	if err := b.vm.Install(ctx, dbin, "/usr/local/bin/mediagated", 0o755); err != nil {
		t.Fatal(err)
	}
	// The daemon as scripts/install.sh installs it; the udev rule only once its turn comes.
	unit, _ := filepath.Abs("../../scripts/systemd/mediagate.service")
	if err := b.vm.Install(ctx, unit, "/etc/systemd/system/mediagate.service", 0o644); err != nil {
		t.Fatal(err)
	}
	rule, _ := filepath.Abs("../../rules/71-mediagate.rules")
	if err := b.vm.Install(ctx, rule, "/usr/local/share/mediagate/71-mediagate.rules", 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MEDIAGATE_BENCH_PROFILE") != "" {
		b.g.MustRun(t, `mkdir -p /etc/systemd/system/mediagate.service.d
printf '[Service]\nEnvironment=MEDIAGATED_CPUPROFILE=/var/lib/mediagate/cpu.pprof GODEBUG=gctrace=1\n' > /etc/systemd/system/mediagate.service.d/profile.conf`)
	}
	if env := os.Getenv("MEDIAGATE_BENCH_DAEMON_ENV"); env != "" {
		// --daemon-env: a setting to try (GOMAXPROCS=1, GOGC=…), written into a drop-in.
		for _, kv := range strings.Fields(env) {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsAny(kv, "'\\\n\"") {
				t.Fatalf("--daemon-env %q: want NAME=VALUE", kv)
			}
		}
		b.g.MustRun(t, `mkdir -p /etc/systemd/system/mediagate.service.d
printf '[Service]\nEnvironment=%s\n' '`+env+`' > /etc/systemd/system/mediagate.service.d/bench-env.conf`)
		b.facts = append(b.facts, "mediagated's environment in this run: "+env)
	}
	b.g.MustRun(t, `set -e
systemctl daemon-reload
mediagate host init --number BENCH-01 --level secret >/dev/null
mediagate person add zhang --name 张三 --department 办公室 >/dev/null
mediagate media register --kind usb-disk --vendor 46f4 --product 0001 --serial `+allowSerial+` --level secret --custodian zhang --number S-BENCH-1 >/dev/null`)
}

// traceSetup defines the kprobes, all on functions of usbcore (in this guest kprobes on
// functions of the kernel image itself are refused): the kernel building a usb_device's
// uevent (usb_dev_uevent; name: dev->kobj.name, struct device starts with its kobject
// and the kobject with its name) and probing its driver (usb_probe_device),
// authorized=1 and authorized=0 writes (devpath: struct usb_device's char devpath[16]
// after int devnum), an interface probe (its kobject's name), and the pwrite64 system
// call (a tracepoint).
const traceSetup = `set -e
cd ` + traceDir + `
echo 0 > tracing_on
echo > kprobe_events
echo mono > trace_clock
echo 8192 > buffer_size_kb
echo 'p:mg_uevent usb_dev_uevent name=+0(+0(%di)):string' >> kprobe_events
echo 'p:mg_probedev usb_probe_device name=+0(+0(%di)):string' >> kprobe_events
echo 'p:mg_authorize usb_authorize_device devpath=+4(%di):string' >> kprobe_events
echo 'p:mg_deauthorize usb_deauthorize_device devpath=+4(%di):string' >> kprobe_events
echo 'p:mg_ifprobe usb_probe_interface name=+0(+0(%di)):string' >> kprobe_events
echo 1 > events/kprobes/enable
echo 1 > events/syscalls/sys_enter_pwrite64/enable
echo > trace
echo 1 > tracing_on
mkdir -p /run/mgbench
systemd-run --quiet --unit=mgbench-trace sh -c 'exec cat ` + traceDir + `/trace_pipe > ` + traceFile + `'
for i in $(seq 50); do [ -e ` + traceFile + ` ] && exit 0; sleep 0.1; done
echo "trace consumer did not start" >&2; exit 1`

// syscallTrace adds, with --syscalls, every system call entry of both daemons' threads
// (a diagnostic: the per-plug timelines show where a decision's time goes).
const syscallTrace = `set -e
cd ` + traceDir + `
echo 'comm == "mediagated" || comm == "usbguard-daemon"' > events/raw_syscalls/sys_enter/filter
echo 1 > events/raw_syscalls/sys_enter/enable
echo 'prev_comm == "mediagated" || next_comm == "mediagated" || prev_comm == "usbguard-daemon" || next_comm == "usbguard-daemon"' > events/sched/sched_switch/filter
echo 1 > events/sched/sched_switch/enable
`

func (b *benchRun) startTrace() {
	t := b.t
	setup := traceSetup
	if os.Getenv("MEDIAGATE_BENCH_SYSCALLS") != "" {
		setup = syscallTrace + setup
	}
	if res := b.g.Exec(t, setup); res.ExitCode != 0 {
		t.Fatalf("ftrace set-up in the guest (kprobes, trace_clock=mono):\n%s", res)
	}
	b.facts = append(b.facts,
		"guest kernel: "+b.g.MustRun(t, "uname -rv"),
		"guest: Debian "+b.g.MustRun(t, "cat /etc/debian_version")+", "+b.g.MustRun(t, "nproc")+" vCPUs, 1 GiB, systemd "+b.g.MustRun(t, "systemctl --version | head -1 | cut -d' ' -f2"),
		"trace clock: "+b.g.MustRun(t, "grep -o '\\[[a-z_0-9-]*\\]' "+traceDir+"/trace_clock | tr -d '[]'"),
		// A clocksource without a vDSO reader (hpet, acpi_pm) makes every clock read a
		// system call: a cost real hosts (tsc, kvm-clock) do not have.
		"guest clocksource: "+b.g.MustRun(t, "cd /sys/devices/system/clocksource/clocksource0 && echo \"$(cat current_clocksource) (available: $(cat available_clocksource))\""))
	if out, err := exec.Command("qemu-system-x86_64", "--version").Output(); err == nil {
		b.facts = append(b.facts, "QEMU: "+strings.SplitN(string(out), "\n", 2)[0]+", TCG (-accel tcg -cpu max), q35, qemu-xhci")
	}
	if b.cfg.icount {
		b.facts = append(b.facts, "--icount: -accel tcg,thread=single -icount shift=0,sleep=off: "+
			"the guest's clocks count instructions (1 ns each), so every time below, run times and "+
			"latencies alike, is an instruction count, not host time; one vCPU, clocksource=hpet")
	}
	b.facts = append(b.facts, fmt.Sprintf("host: %s, %d cores (shared)", cpuModel(), runtime.NumCPU()))
}

// stopTrace stops the consumer and parses what it wrote.
func (b *benchRun) stopTrace() Trace {
	t := b.t
	b.g.MustRun(t, "sleep 1; systemctl stop mgbench-trace; echo 0 > "+traceDir+"/tracing_on; cp "+traceFile+" /share/trace.txt")
	f, err := os.Open(filepath.Join(b.vm.ShareDir(), "trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ParseTrace(f)
	if err != nil {
		t.Fatalf("parse the guest's trace: %v", err)
	}
	return tr
}

type daemonSpec struct {
	name    func(g *testbed.Guest, t *testing.T) string
	comm    string
	unit    string
	prepare string // guest script run before the daemon starts
	diag    string // guest script whose output helps when a decision is not seen
	check   string // guest script that must succeed once the daemon runs
	// report is a guest script run after the plug plan, before the daemon stops
	// (with $PID its main pid); its output is printed (where the time and memory went).
	report string
}

// USBGuard: one allowed serial, everything else blocked by the implicit policy, the
// devices present at start left as they are, new devices held unauthorized by the
// kernel (AuthorizedDefault=none), kernel uevents read directly (uevent backend).
var usbguard = daemonSpec{
	name: func(g *testbed.Guest, t *testing.T) string {
		return "USBGuard " + g.MustRun(t, "dpkg-query -W -f='${Version}' usbguard")
	},
	comm: "usbguard-daemon",
	unit: "usbguard.service",
	diag: "usbguard list-devices; usbguard list-rules 2>&1; journalctl -u usbguard -n 10 --no-pager -o cat",
	prepare: `set -e
systemctl stop mediagate.service usbguard-dbus.service usbguard.service 2>/dev/null || true
rm -f /etc/udev/rules.d/71-mediagate.rules
udevadm control --reload
mkdir -p /etc/usbguard /var/log/usbguard
cat > /etc/usbguard/usbguard-daemon.conf <<'EOF'
RuleFile=/etc/usbguard/rules.conf
ImplicitPolicyTarget=block
PresentDevicePolicy=keep
PresentControllerPolicy=keep
InsertedDevicePolicy=apply-policy
AuthorizedDefault=none
RestoreControllerDeviceState=false
DeviceManagerBackend=uevent
IPCAllowedUsers=root
IPCAllowedGroups=
DeviceRulesWithPort=false
AuditBackend=FileAudit
AuditFilePath=/var/log/usbguard/usbguard-audit.log
HidePII=false
EOF
chmod 0600 /etc/usbguard/usbguard-daemon.conf
# As an administrator sets it up: the devices present (here the root hubs) allowed by
# generate-policy, then the one stick.
usbguard generate-policy > /etc/usbguard/rules.conf
printf 'allow id 46f4:0001 serial "` + allowSerial + `"\n' >> /etc/usbguard/rules.conf
chmod 0600 /etc/usbguard/rules.conf
! systemctl is-active --quiet mediagate.service`,
	// The rule must be in the running daemon's policy. Where the daemon did not take
	// it from rules.conf (seen once in this guest: list-rules empty), it is appended
	// over IPC, which is what `usbguard append-rule` is for; the run notes it.
	check: `for i in $(seq 50); do usbguard list-rules >/dev/null 2>&1 && break; sleep 0.1; done
rule='allow id 46f4:0001 serial "` + allowSerial + `"'
if ! usbguard list-rules | grep -qF "$rule"; then
	echo "note: usbguard-daemon did not load the rule from rules.conf; appended over IPC" | tee /run/mgbench/usbguard-note
	usbguard append-rule "$rule"
fi
usbguard list-rules | grep -qF "$rule" || { echo "usbguard list-rules lacks: $rule"; usbguard list-rules; exit 1; }`,
}

// mediagate as installed: its udev rule and mediagate.service, the allowed serial
// registered (installMediagate), USBGuard stopped.
var mediagateD = daemonSpec{
	name: func(g *testbed.Guest, t *testing.T) string {
		v := os.Getenv("MEDIAGATE_BENCH_VERSION")
		if v == "" {
			v = "(this tree)"
		}
		return "mediagate " + v
	},
	comm: "mediagated",
	unit: "mediagate.service",
	diag: "mediagate status; journalctl -u mediagate -n 10 --no-pager -o cat",
	report: `echo "mediagate: from the event's receipt to the authorized write (daemon log):"
journalctl -u mediagate --no-pager -o cat | grep -o 'name=[^ ]* .*reason=[^ ]* .*enforced_after=[^ ]*' | sed 's/name=\([^ ]*\).*reason=\([^ ]*\).*enforced_after=\([^ ]*\)/  \1 \2 \3/' | tail -40
echo "mediagate: memory after the plugs:"
grep -E '^(Rss|Pss_Anon|Pss_File|Anonymous|Private_Dirty|AnonHugePages)' /proc/$PID/smaps_rollup | sed 's/^/  /'
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile)' /proc/$PID/status | sed 's/^/  /'
echo "  transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
echo "mediagate: anonymous mappings holding 64 kB or more (size, resident, in huge pages; kB):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{split($1, r, "-"); lo=r[1]; hi=r[2]; name=$6; rss=0}
/^Rss:/{rss=$2} /^AnonHugePages:/{if (name=="" && rss >= 64) print lo, hi, rss, $2}' /proc/$PID/smaps |
while read -r lo hi rss huge; do printf '  %10d %8d %6d\n' $(((16#$hi - 16#$lo) / 1024)) "$rss" "$huge"; done | sort -k2 -rn | head -12
if journalctl -u mediagate --no-pager -o cat | grep -q '^gc '; then
	echo "mediagate: the last collections (GODEBUG=gctrace=1, with --profile):"
	journalctl -u mediagate --no-pager -o cat | grep '^gc ' | tail -3 | sed 's/^/  /'
fi
journalctl -u mediagate --no-pager -o cat | grep -o 'msg="memory at start".*' | tail -1 | sed 's/^/mediagate: /'
echo "mediagate: resident memory by mapping (kB, largest first):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if (name=="") name="[anon]"} /^Rss:/{rss[name]+=$2} END{for (n in rss) if (rss[n] > 0) printf "  %8d %s\n", rss[n], n}' /proc/$PID/smaps | sort -rn | head -12`,
	prepare: `set -e
systemctl stop usbguard-dbus.service usbguard.service 2>/dev/null || true
! systemctl is-active --quiet usbguard.service
install -m 0644 /usr/local/share/mediagate/71-mediagate.rules /etc/udev/rules.d/71-mediagate.rules
udevadm control --reload`,
}

// runDaemon starts the daemon, samples it, waits the idle window, runs the plug plan
// (plugs numbered from firstPlug) and stops the daemon.
func (b *benchRun) runDaemon(d daemonSpec, firstPlug int) DaemonResult {
	t := b.t
	res := DaemonResult{Name: d.name(b.g, t), Comm: d.comm, TickHz: b.hz, IdleWindow: b.cfg.idle}
	fmt.Printf("bench: %s\n", res.Name)
	for range b.cfg.starts - 1 {
		pid := b.start(d)
		res.Restarts = append(res.Restarts, b.sample(pid))
		b.g.MustRun(t, "systemctl stop "+d.unit)
	}
	pid := b.start(d)
	res.Started = b.sample(pid)
	if b.cfg.idle > 0 {
		b.g.MustRun(t, fmt.Sprintf("sleep %.3f", b.cfg.idle.Seconds()))
	}
	res.Idle = b.sample(pid)
	for i := range 2 * b.cfg.plugs {
		m := Marker{Plug: firstPlug + i, Allow: i%2 == 0, Serial: allowSerial}
		if !m.Allow {
			m.Serial = fmt.Sprintf("%sNO%04d", serialPrefix, i/2+1)
		}
		run, wait := b.plug(m, d, pid)
		res.PlugRuns = append(res.PlugRuns, PlugRun{Allow: m.Allow, RunNs: run, HostWaitNs: wait})
	}
	b.waitNoStick()
	res.AfterPlugs = b.sample(pid)
	fmt.Printf("bench: %s run time per plug, ms (a allowed, b blocked):%s\n", res.Name, res.plugRunList())
	fmt.Printf("bench: %s plugs, QEMU's vCPU threads waiting for a host core, ms:%s\n", res.Name, res.hostWaitList())
	if d.report != "" {
		fmt.Println(b.g.Exec(t, fmt.Sprintf("PID=%d\n%s", pid, d.report)).Stdout)
	}
	if res.AfterPlugs.PID != pid {
		t.Errorf("%s restarted during the run", res.Name)
	}
	b.g.MustRun(t, "systemctl stop "+d.unit)
	return res
}

// start runs the daemon's preparation, starts its unit, waits for it to be active and
// to settle, checks that new USB devices are held unauthorized, and returns its pid.
func (b *benchRun) start(d daemonSpec) int {
	t := b.t
	if res := b.g.Exec(t, d.prepare); res.ExitCode != 0 {
		t.Fatalf("prepare %s:\n%s", d.unit, res)
	}
	// Started by the benchmark, with the configuration just written (not a daemon
	// that was already running).
	b.g.MustRun(t, "! systemctl is-active --quiet "+d.unit+" && systemctl start "+d.unit+" && systemctl is-active --quiet "+d.unit)
	time.Sleep(b.cfg.settle)
	pid, err := strconv.Atoi(b.g.MustRun(t, "systemctl show -p MainPID --value "+d.unit))
	if err != nil || pid <= 0 {
		t.Fatalf("%s: no main pid (%v)", d.unit, err)
	}
	if got := b.g.MustRun(t, "cat /sys/bus/usb/devices/usb*/authorized_default | sort -u | paste -sd,"); got != "0" {
		t.Fatalf("%s running: authorized_default of the root hubs = %q, want 0 (new devices held)", d.unit, got)
	}
	if d.check != "" {
		res := b.g.Exec(t, d.check)
		if res.ExitCode != 0 {
			t.Fatalf("%s: %s", d.unit, res)
		}
		if out := strings.TrimSpace(res.Stdout); out != "" {
			fmt.Println("bench:", out)
			b.facts = append(b.facts, out)
		}
	}
	if got := b.g.MustRun(t, "cat /sys/bus/usb/devices/usb*/authorized | sort -u | paste -sd,"); got != "1" {
		t.Fatalf("%s running: authorized of the root hubs = %q, want 1", d.unit, got)
	}
	if other := b.g.MustRun(t, "systemctl is-active mediagate.service usbguard.service | sort | uniq -c | paste -sd,"); !strings.Contains(other, "1 active") {
		t.Fatalf("%s: want exactly one of mediagate and usbguard active, got %q", d.unit, other)
	}
	return pid
}

func (b *benchRun) sample(pid int) ProcSample {
	out := b.g.MustRun(b.t, SampleScript(pid))
	s, err := ParseSample(pid, out+"\n")
	if err != nil {
		b.t.Fatalf("sample %d: %v\n%s", pid, err, out)
	}
	s.HostWaitNs = VCPUWait("/proc", b.vm.PID())
	return s
}

// waitNoStick waits until no benchmark stick is left in the guest.
func (b *benchRun) waitNoStick() {
	b.g.WaitFor(b.t, 30*time.Second, `for d in /sys/bus/usb/devices/*; do
	[ -r "$d/serial" ] && case "$(cat "$d/serial")" in `+serialPrefix+`*) exit 1;; esac
done; exit 0`)
}

// plug writes the plug's trace marker once the previous stick is gone, hot-plugs the
// stick, waits until the trace shows the decision (or 20 s), and unplugs it. With a
// pid it returns the daemon's run time read before the marker (ProcSample.RunNs) and
// the vCPU threads' wait on the host read with it (ProcSample.HostWaitNs).
func (b *benchRun) plug(m Marker, d daemonSpec, pid int) (runNs, hostWaitNs int64) {
	comm := d.comm
	t := b.t
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b.waitNoStick()
	if pid > 0 {
		s := b.sample(pid)
		runNs, hostWaitNs = s.RunNs, s.HostWaitNs
	}
	off := b.g.MustRun(t, fmt.Sprintf("stat -c %%s %s; echo '%s' > %s/trace_marker", traceFile, m.Text(), traceDir))
	id, err := b.vm.AddStick(ctx, testbed.StickSpec{Serial: m.Serial, Image: b.img})
	if err != nil {
		t.Fatalf("plug %d: %v", m.Plug, err)
	}
	// Allowed: authorized=1 and an interface probed. Blocked: authorized=0 written, or
	// the daemon's first database write (its decision row) when it writes no sysfs.
	want := `/ mg_authorize:/{a=1} / mg_ifprobe:/{p=1} END{exit !(a&&p)}`
	if !m.Allow {
		want = fmt.Sprintf(`/ mg_deauthorize:/{d=1} $1 ~ /^%s-[0-9]+$/ && / %s\(/{d=1} END{exit !d}`, comm, EvDBWrite)
	}
	size, err := strconv.ParseInt(off, 10, 64)
	if err != nil {
		t.Fatalf("plug %d: size of the trace file: %q", m.Plug, off)
	}
	cond := fmt.Sprintf(`tail -c +%d %s | awk 'index($0, "%splug=%d ") {on=1} !on {next} %s'`,
		size+1, traceFile, MarkerPrefix, m.Plug, want)
	res, err := b.g.Run(ctx, testbed.WaitScript(cond, 20*time.Second))
	if err != nil {
		t.Fatalf("plug %d: %v", m.Plug, err)
	}
	if res.ExitCode != 0 {
		fmt.Printf("bench: plug %d (%s): no decision seen in the trace within 20 s\n", m.Plug, m.Serial)
		if d.diag != "" {
			fmt.Println(b.g.Exec(t, d.diag).Stdout)
		}
	}
	if err := b.vm.Remove(ctx, id); err != nil {
		t.Fatalf("unplug %d: %v", m.Plug, err)
	}
	return runNs, hostWaitNs
}

// earlySoakSample tells the plugs before the 100th after which a soak samples too: the
// resident set's warm-up happens there.
func earlySoakSample(n int) bool {
	switch n {
	case 1, 2, 5, 10, 20, 50:
		return true
	}
	return false
}

// soak plugs cfg.soak sticks (allowed and blocked in turn) into mediagate and prints its
// RSS after the 1st, 2nd, 5th, 10th, 20th and 50th plug and every 100 plugs.
func (b *benchRun) soak(w io.Writer) {
	t := b.t
	name := mediagateD.name(b.g, t)
	pid := b.start(mediagateD)
	fmt.Fprintf(w, "soak: %s, %d plugs (allowed and blocked in turn)\n", name, b.cfg.soak)
	for _, f := range b.facts {
		fmt.Fprintf(w, "  %s\n", f)
	}
	// The mappings at the start, at the 100th plug and at the end: where the resident
	// set grew (MappingGrowth) tells the Go heap, the runtime's and SQLite's regions
	// and the binary's pages apart.
	var maps [][]Mapping
	var rss []SoakRSS
	line := func(n int) {
		s := b.sample(pid)
		if s.PID != pid {
			t.Fatalf("mediagate restarted during the soak")
		}
		rss = append(rss, SoakRSS{Plugs: n, RSSKiB: s.RSSKiB})
		if n == 0 || n == 100 || n == b.cfg.soak {
			ms, err := ParseSmaps(b.g.MustRun(t, fmt.Sprintf("cat /proc/%d/smaps", pid)))
			if err != nil {
				t.Fatalf("smaps of mediagated: %v", err)
			}
			maps = append(maps, ms)
			if n == 0 {
				fmt.Fprintln(w, "largest mappings after start:")
				LargestMappings(w, ms, 8)
			}
		}
		l := SoakLine(n, s, b.hz)
		if res := b.g.Exec(t, "mediagate status --json"); res.ExitCode == 0 {
			if mem, err := SoakMemory([]byte(res.Stdout)); err == nil {
				l += "; " + mem
			}
		}
		fmt.Fprintln(w, l)
		fmt.Println("bench:", l)
	}
	line(0)
	for i := range b.cfg.soak {
		m := Marker{Plug: i + 1, Allow: i%2 == 0, Serial: allowSerial}
		if !m.Allow {
			m.Serial = fmt.Sprintf("%sNO%04d", serialPrefix, i/2+1)
		}
		b.plug(m, mediagateD, 0)
		if (i+1)%100 == 0 || i+1 == b.cfg.soak || earlySoakSample(i+1) {
			b.waitNoStick()
			line(i + 1)
		}
	}
	fmt.Fprintln(w, SoakSummary(rss))
	if len(maps) > 1 {
		fmt.Fprintf(w, "mappings changed by 64 KiB or more, start → end of the soak:\n")
		MappingGrowth(w, maps[0], maps[len(maps)-1], 64)
	}
	if len(maps) > 2 {
		fmt.Fprintf(w, "the same, 100th plug → end:\n")
		MappingGrowth(w, maps[1], maps[len(maps)-1], 64)
	}
	if strings.Contains(os.Getenv("MEDIAGATE_BENCH_DAEMON_ENV"), "trace=") {
		// --daemon-env 'GODEBUG=gctrace=1,scavtrace=1': the runtime's own lines, which
		// mediagated writes to its standard error (the journal).
		fmt.Fprintln(w, "the Go runtime's trace lines:")
		fmt.Fprint(w, b.g.MustRun(t, `journalctl -u mediagate.service -o cat --no-pager | grep -E '^(gc [0-9]|scav )' || true`))
		fmt.Fprintln(w)
	}
	tr := b.stopTrace()
	ps := Plugs(tr, mediagateD.comm)
	a := quantiles(ps, Allowed, func(p PlugTiming) time.Duration { return p.Authorize })
	d := quantiles(ps, Blocked, PlugTiming.Decision)
	fmt.Fprintf(w, "add → authorized=1 (allowed) p50 / p90: %s; add → decision (blocked): %s; trace events lost: %d\n", a, d, tr.Lost)
	if !a.ok || !d.ok {
		// A soak whose trace shows none of the daemon's decisions measured something
		// else (a daemon under another process name once): its figures do not count.
		// Single decisions not seen are listed in the line above.
		t.Errorf("the trace shows no allowed or no blocked decision of %s (allowed: %s; blocked: %s)", mediagateD.comm, a, d)
	}
	b.g.MustRun(t, "systemctl stop mediagate.service")
}

func (b *benchRun) header(w io.Writer) {
	fmt.Fprintf(w, "Measured %s UTC", time.Now().UTC().Format("2006-01-02 15:04"))
	if c := os.Getenv("MEDIAGATE_BENCH_COMMAND"); c != "" {
		fmt.Fprintf(w, " with `%s`", c)
	}
	fmt.Fprintf(w, ": %d allowed + %d blocked hot-plugs, interleaved, per daemon; idle window %s.\n\n", b.cfg.plugs, b.cfg.plugs, b.cfg.idle)
	for _, f := range b.facts {
		fmt.Fprintf(w, "- %s\n", f)
	}
	if b.cfg.icount {
		fmt.Fprintln(w, "\nEvery time is an instruction count (1 ms: a million instructions); ratios count.")
	} else {
		fmt.Fprintln(w, "\nTCG inflates absolutes; ratios count.")
	}
	fmt.Fprintln(w)
}

// perPlug prints every plug's timings, for a look behind the percentiles.
func (b *benchRun) perPlug(w io.Writer, ds ...DaemonResult) {
	f := func(d time.Duration) string {
		if d == Missing {
			return "—"
		}
		return msFine(d)
	}
	fmt.Fprintln(w, "\nPer plug (ms after the `add` uevent; — not seen):")
	fmt.Fprintln(w, "\n| daemon | plug | serial | expect | device | authorize | deauthorize | interface probe | db write |\n|---|---|---|---|---|---|---|---|---|")
	for _, d := range ds {
		for _, p := range d.Plugs {
			exp := "block"
			if p.Allow {
				exp = "allow"
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", d.Comm, p.Plug, p.Serial, exp, p.Device,
				f(p.Authorize), f(p.Deauthorize), f(p.Bind), f(p.DBWrite))
		}
	}
}

// costs prints, for each daemon, its threads' median time on CPU per allowed and per
// blocked plug (plug to next plug, unplug included) and its most frequent system
// calls, as a mean per plug.
func costs(w io.Writer, tr Trace, ds ...DaemonResult) {
	fmt.Fprintln(w, "\nPer plug, plug to next plug (traced with --syscalls, which slows both daemons):")
	for _, d := range ds {
		mine := map[int]bool{}
		for _, p := range d.Plugs {
			mine[p.Plug] = true
		}
		cs := Costs(tr, d.Comm)
		for _, allow := range []bool{true, false} {
			var cpu []time.Duration
			calls := map[string]int{}
			n := 0
			for _, c := range cs {
				if !mine[c.Plug] || c.Allow != allow {
					continue
				}
				n++
				cpu = append(cpu, c.OnCPU)
				for k, v := range c.Calls {
					calls[k] += v
				}
			}
			if n == 0 {
				continue
			}
			p50, _ := Percentile(cpu, 0.5)
			kind := "blocked"
			if allow {
				kind = "allowed"
			}
			names := slices.Collect(maps.Keys(calls))
			slices.SortFunc(names, func(a, b string) int { return calls[b] - calls[a] })
			total := 0
			for _, v := range calls {
				total += v
			}
			var top []string
			for _, k := range names[:min(len(names), 12)] {
				top = append(top, fmt.Sprintf("%s %.1f", k, float64(calls[k])/float64(n)))
			}
			fmt.Fprintf(w, "\n- %s, %s (%d plugs): on CPU p50 %s ms; %.0f system calls: %s\n",
				d.Comm, kind, n, ms(p50), float64(total)/float64(n), strings.Join(top, ", "))
		}
	}
}

// timelines prints the system calls of each daemon's threads after the add of its
// first three allowed and three blocked plugs, up to its decision and 5 ms more; of the
// first and the third of each (the first one's path is cold), the whole plug up to the
// next one's add (its unplug included), with the count of each call.
func timelines(w io.Writer, tr Trace, ds ...DaemonResult) {
	for _, d := range ds {
		shown := map[bool]int{}
		for i, p := range d.Plugs {
			if shown[p.Allow] >= 3 || p.Decision() == Missing {
				continue
			}
			shown[p.Allow]++
			until, whole := p.Decision()+5*time.Millisecond, false
			if shown[p.Allow] != 2 && i+1 < len(d.Plugs) && d.Plugs[i+1].Add != Missing {
				until, whole = d.Plugs[i+1].Add-p.Add, true
			}
			fmt.Fprintf(w, "\n%s, plug %d (%s), decision at %s ms", d.Comm, p.Plug, p.Serial, ms(p.Decision()))
			if whole {
				fmt.Fprintf(w, ", the whole plug (%s ms to the next add)", ms(until))
			}
			fmt.Fprintln(w, ":")
			counts := map[string]int{}
			for _, s := range Timeline(tr, d.Comm, p, until) {
				fmt.Fprintf(w, "  %8s ms  %6d  %s\n", ms(s.After), s.Thread, s.Call)
				if !strings.HasPrefix(s.Call, "on CPU") && !strings.HasPrefix(s.Call, "off CPU") {
					counts[s.Call]++
				}
			}
			if whole {
				fmt.Fprintf(w, "  calls: %v\n", counts)
			}
		}
		mostlyWhole(w, tr, d)
	}
}

// mostlyWhole prints the whole timeline of the daemon's most expensive plug by run
// time (PlugRuns), its first allowed and first blocked plug left out.
func mostlyWhole(w io.Writer, tr Trace, d DaemonResult) {
	if len(d.PlugRuns) != len(d.Plugs) {
		return
	}
	most, run := -1, time.Duration(0)
	for i := 2; i+1 < len(d.Plugs); i++ {
		if r, ok := d.plugRun(i); ok && r > run && d.Plugs[i+1].Add != Missing && d.Plugs[i].Add != Missing {
			most, run = i, r
		}
	}
	if most < 0 {
		return
	}
	p := d.Plugs[most]
	until := d.Plugs[most+1].Add - p.Add
	fmt.Fprintf(w, "\n%s, plug %d (%s), its most expensive (run time %s ms), the whole plug (%s ms to the next add):\n",
		d.Comm, p.Plug, p.Serial, ms(run), ms(until))
	for _, s := range Timeline(tr, d.Comm, p, until) {
		fmt.Fprintf(w, "  %8s ms  %6d  %s\n", ms(s.After), s.Thread, s.Call)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
