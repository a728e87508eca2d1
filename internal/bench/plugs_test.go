package bench

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const plugTrace = `
            bash-488     [000] .....    50.000000: tracing_mark_write: mgbench plug=1 serial=MGBENCHOK01 expect=allow
 systemd-udevd-200     [001] .....    50.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="usb2"
 systemd-journal-139   [000] .....    50.150000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
     kworker/0:2-48      [000] .....    50.200000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
 systemd-journal-139   [001] .....    50.200700: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
     kworker/0:2-48      [000] .....    50.201000: mg_probedev: (usb_probe_device+0x0/0x70 [usbcore]) name="2-1"
       mediagate-401     [001] ...1.    50.240000: sys_pwrite64(fd: e, buf: 7fc5b5023420, count: 18, pos: f188)
 systemd-journal-150     [000] ...1.    50.230000: sys_pwrite64(fd: 9, buf: 7fc5b5023420, count: 18, pos: 0)
       mediagate-401     [001] ...1.    50.241000: sys_pwrite64(fd: e, buf: 7fc5b4fbc028, count: 1000, pos: f1a0)
       mediagate-402     [000] .....    50.250000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
       mediagate-402     [000] .....    50.260000: mg_ifprobe: (usb_probe_interface+0x0/0x2f0) name="2-1:1.0"
       mediagate-402     [000] .....    50.270000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
            bash-733     [000] .....    60.000000: tracing_mark_write: mgbench plug=2 serial=MGBENCHNO0001 expect=block
       mediagate-401     [001] ...1.    60.400000: sys_pwrite64(fd: e, buf: 7fc5b5023420, count: 18, pos: 101a0)
     kworker/1:0-20      [001] .....    60.300200: mg_probedev: (usb_probe_device+0x0/0x70 [usbcore]) name="2-1"
     kworker/1:0-20      [001] .....    60.300100: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
            bash-900     [000] .....    70.000000: tracing_mark_write: mgbench plug=3 serial=MGBENCHNO0002 expect=block
     kworker/1:0-20      [001] .....    70.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-2"
     kworker/1:0-20      [001] .....    70.100001: mg_probedev: (usb_probe_device+0x0/0x70 [usbcore]) name="2-2"
 usbguard-daemon-300     [001] .....    70.150000: mg_deauthorize: (usb_deauthorize_device+0x0/0x80) devpath="2"
 usbguard-daemon-300     [001] .....    70.160000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
 usbguard-daemon-300     [001] .....    70.170000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="2"
            bash-901     [000] .....    80.000000: tracing_mark_write: mgbench plug=4 serial=MGBENCHOK01 expect=allow
     kworker/0:2-48      [000] .....    80.100100: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
 systemd-journal-139   [001] .....    80.100200: mg_probedev: (usb_probe_device+0x0/0x70 [usbcore]) name="2-1"
`

func TestPlugsAttribution(t *testing.T) {
	tr, err := ParseTrace(strings.NewReader(plugTrace))
	if err != nil {
		t.Fatal(err)
	}
	ps := Plugs(tr, "mediagate")
	if len(ps) != 4 {
		t.Fatalf("%d plugs, want 4", len(ps))
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

	p := ps[0]
	if !p.Allow || p.Device != "2-1" || p.Add != 50*time.Second+200*time.Millisecond {
		t.Errorf("plug 1: %+v (reads of the uevent file are not the add)", p)
	}
	// The journal's earlier pwrite64 is not mediagate's; the second authorize is counted.
	if p.Authorize != ms(50) || p.Bind != ms(60) || p.DBWrite != ms(40) || p.Deauthorize != Missing || p.AuthorizedCount != 2 {
		t.Errorf("plug 1 timings: %+v", p)
	}
	if p.Decision() != ms(50) {
		t.Errorf("plug 1 decision = %v", p.Decision())
	}

	// Lines out of order in the file are ordered by timestamp.
	p = ps[1]
	if p.Allow || p.Add != 60*time.Second+300100*time.Microsecond || p.DBWrite != ms(99.9) || p.Decision() != ms(99.9) || p.AuthorizedCount != 0 {
		t.Errorf("plug 2: %+v, decision %v", p, p.Decision())
	}

	// A blocked stick: the deauthorize is the decision; an authorize of the device at
	// another port (devpath 1) is not this one's; its own is counted.
	p = ps[2]
	if p.Deauthorize != ms(50) || p.Decision() != ms(50) || p.AuthorizedCount != 1 || p.Authorize != ms(70) || p.DBWrite != Missing {
		t.Errorf("plug 3: %+v", p)
	}

	// No probe on the task that built the uevent: no add, nothing is measured.
	if p := ps[3]; p.Add != Missing || p.Authorize != Missing || p.Decision() != Missing {
		t.Errorf("plug 4: %+v", p)
	}
	ds, miss := Collect(ps, Allowed, func(p PlugTiming) time.Duration { return p.Authorize })
	if len(ds) != 1 || miss != 1 {
		t.Errorf("Collect allowed = %v, %d missing", ds, miss)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.9, 9 * time.Millisecond}, {0.99, 10 * time.Millisecond}, {0.01, time.Millisecond}} {
		if got, ok := Percentile(ds, tc.q); !ok || got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if ds[0] != 10*time.Millisecond {
		t.Error("Percentile sorted its input")
	}
	if _, ok := Percentile[time.Duration](nil, 0.5); ok {
		t.Error("Percentile of nothing is ok")
	}
	for _, q := range []float64{50, 0, -0.5, 1.01} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Percentile(%v) did not panic", q)
				}
			}()
			Percentile(ds, q)
		}()
	}
}

func TestWriteTable(t *testing.T) {
	plug := func(n int, allow bool, auth, deauth, db time.Duration, authorized int) PlugTiming {
		return PlugTiming{Marker: Marker{Plug: n, Allow: allow}, Device: "2-1", Add: time.Second,
			Authorize: auth, Deauthorize: deauth, Bind: Missing, DBWrite: db, AuthorizedCount: authorized}
	}
	ug := DaemonResult{Name: "USBGuard", Comm: "usbguard-daemon", TickHz: 100, IdleWindow: 10 * time.Second,
		Plugs: []PlugTiming{
			plug(1, true, 20*time.Millisecond, Missing, Missing, 1),
			plug(2, false, Missing, 10*time.Millisecond, Missing, 0),
		},
		Started:    ProcSample{RSSKiB: 7 * 1024, CPUTicks: 24, CtxSwitches: 100, Threads: 3},
		Idle:       ProcSample{RSSKiB: 7 * 1024, CPUTicks: 24, SysTicks: 10, RunNs: 1e9, CtxSwitches: 100, Threads: 3},
		AfterPlugs: ProcSample{RSSKiB: 7 * 1024, CPUTicks: 32, SysTicks: 14, RunNs: 1.07e9, CtxSwitches: 300, Threads: 3},
	}
	mg := DaemonResult{Name: "mediagate", Comm: "mediagate", TickHz: 100, IdleWindow: 10 * time.Second,
		Plugs: []PlugTiming{
			plug(3, true, 80*time.Millisecond, Missing, 60*time.Millisecond, 1),
			plug(4, false, Missing, Missing, 40*time.Millisecond, 1),
		},
		Started:    ProcSample{RSSKiB: 20 * 1024, CPUTicks: 467, CtxSwitches: 1000, Threads: 8},
		Idle:       ProcSample{RSSKiB: 20 * 1024, CPUTicks: 470, SysTicks: 100, RunNs: 4e9, CtxSwitches: 1020, Threads: 8},
		AfterPlugs: ProcSample{RSSKiB: 26 * 1024, CPUTicks: 520, SysTicks: 110, RunNs: 4.5e9, CtxSwitches: 2000, Threads: 9},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, ug, mg); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	tableHas(t, out,
		"| figure | USBGuard | mediagate | ratio |",
		"`authorized=1` written, p50 / p90 | 20.00 / 20.00 ms | 80.00 / 80.00 ms | 4.00× / 4.00× |",
		"decision¹, p50 / p90 | 10.00 / 10.00 ms | 40.00 / 40.00 ms | 4.00× / 4.00× |",
		"database write², p50 / p90 | — | 40.00 / 60.00 ms | — |",
		"| blocked sticks authorized at any moment | 0 of 1 | 1 of 1 |",
		"| 7.0 → 7.0 MB | 20.0 → 26.0 MB | 2.86× → 3.71× |",
		"| CPU at start-up (until the first sample) | 0.24 s | 4.67 s | 19.46× |",
		"| CPU per plug | 40.0 ms | 250.0 ms | 6.25× |",
		"| CPU per plug: user + system | 20.0 + 20.0 ms | 200.0 + 50.0 ms | 10.00× + 2.50× |",
		"exact, where CPU is sampled at ticks) | 35.0 ms | 250.0 ms | 7.14× |",
		"| 0, 0.0 ms | 20, 30.0 ms |",
	)
	if strings.Contains(out, "anonymous + file-backed") {
		t.Errorf("samples without RssAnon have a split row:\n%s", out)
	}
	if strings.Contains(out, "allowed / blocked (each") {
		t.Errorf("a run without per-plug readings has a per-kind run time row:\n%s", out)
	}
	if strings.Contains(out, "median of") {
		t.Errorf("a run of one start per daemon has a median row:\n%s", out)
	}

	// Two more starts each: the medians of three.
	ug.Restarts = []ProcSample{{RSSKiB: 6 * 1024, CPUTicks: 20}, {RSSKiB: 8 * 1024, CPUTicks: 30}}
	mg.Restarts = []ProcSample{{RSSKiB: 14 * 1024, CPUTicks: 40}, {RSSKiB: 15 * 1024, CPUTicks: 50}}
	mg.AfterPlugs.AnonKiB, mg.AfterPlugs.FileKiB = 17*1024, 9*1024
	ug.AfterPlugs.AnonKiB, ug.AfterPlugs.FileKiB = 2*1024, 5*1024
	buf.Reset()
	if err := WriteTable(&buf, ug, mg); err != nil {
		t.Fatal(err)
	}
	out = buf.String()
	tableHas(t, out,
		"| CPU at start-up (until the first sample) | 0.24 s | 4.67 s | 19.46× |",
		"| CPU at start-up, median of 3 / 3 starts (least–most) | 0.24 s (0.20–0.30) | 0.50 s (0.40–4.67) | 2.08× |",
		"| RSS after start, median of the same starts (least–most) | 7.0 MB (6.0–8.0) | 15.0 MB (14.0–20.0) | 2.14× |",
		"| RSS after the plugs: anonymous + file-backed (the binary, libraries) | 2.0 + 5.0 MB | 17.0 + 9.0 MB |  |",
	)

	// Run time read before each plug: each plug's is up to the next reading, the
	// last one's up to the sample after the plan.
	ug.PlugRuns = []PlugRun{{true, 1.00e9, 0}, {false, 1.03e9, 0}, {true, 1.04e9, 0}, {false, 1.06e9, 0}}       // 30, 10, 20, 10 ms
	mg.PlugRuns = []PlugRun{{true, 4.0e9, 5e6}, {false, 4.1e9, 6e6}, {true, 4.15e9, 4e6}, {false, 4.35e9, 9e6}} // 100, 50, 200, 150 ms
	mg.AfterPlugs.HostWaitNs = 19e6
	if got := mg.plugRunList(); got != " a 100.0 b 50.0 a 200.0 b 150.0" {
		t.Errorf("plug run list = %q", got)
	}
	// The host-side wait per plug, from the readings taken with the run times; a
	// reading that went backwards (or none) is unknown.
	if got := mg.hostWaitList(); got != " 1.0 ? 5.0 10.0" {
		t.Errorf("host wait list = %q", got)
	}
	if got, ok := mg.PlugRunMedian(false); !ok || got != 50*time.Millisecond {
		t.Errorf("blocked median = %v, %v; want 50ms (of 50 and 150, nearest rank)", got, ok)
	}
	buf.Reset()
	if err := WriteTable(&buf, ug, mg); err != nil {
		t.Fatal(err)
	}
	tableHas(t, buf.String(), "its unplug included) | 20.0 / 10.0 ms | 100.0 / 50.0 ms | 5.00× / 5.00× |",
		"run for the first time) | 15.0 ms | 175.0 ms | 11.67× |")
}

// tableHas fails t for each of wants that out lacks.
func tableHas(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPlugsCapturedTrace(t *testing.T) {
	// trace_pipe of a run with 2 + 2 plugs into USBGuard (plugs 1-4; its rule for
	// the allowed serial did not load, so it blocked all four) and into mediagate (5-8).
	f, err := os.Open("testdata/trace-usbguard-mediagate.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ParseTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Lost != 0 || len(tr.Events) < 200 {
		t.Fatalf("%d events, %d lost", len(tr.Events), tr.Lost)
	}
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	ug := Plugs(tr, "usbguard-daemon")[:4]
	mg := Plugs(tr, "mediagate")[4:]
	// Worked out by hand from the file.
	// Plug 2: the hub worker's usb_dev_uevent for 2-2 at 104.539516 (then it probes the
	// device at 104.553661); usbguard-daemon writes authorized=0 at 104.639609.
	if p := ug[1]; p.Device != "2-2" || p.Add != 104*time.Second+us(539516) || p.Deauthorize != us(100093) ||
		p.Authorize != Missing || p.DBWrite != Missing || p.Decision() != us(100093) {
		t.Errorf("plug 2: %+v", p)
	}
	// Plug 5: add of 2-1 at 155.883926 (journald reads its uevent file at 155.895150
	// before the worker probes it at 155.902102); mediagate writes authorized=1 at
	// 156.102607, usb-storage probes 2-1:1.0 at 156.242407, the WAL write at 156.131569.
	if p := mg[0]; p.Plug != 5 || p.Device != "2-1" || p.Add != 155*time.Second+us(883926) || p.Authorize != us(218681) ||
		p.Bind != us(358481) || p.DBWrite != us(247643) || p.AuthorizedCount != 1 {
		t.Errorf("plug 5: %+v", p)
	}
	for _, p := range append(ug, mg...) {
		// Every plug has its add; every one has a decision but USBGuard's allowed ones.
		if p.Add == Missing || (p.Decision() == Missing) != (p.Allow && p.Plug <= 4) {
			t.Errorf("plug %d: add or decision wrong: %+v", p.Plug, p)
		}
		if !p.Allow && p.AuthorizedCount != 0 {
			t.Errorf("blocked plug %d authorized", p.Plug)
		}
	}
}

// A daemon that writes authorized (and its row) after the kernel sent the add uevent
// but before the hub's worker probed the device's driver: the add is known only at
// the probe, and the writes before it still count.
func TestPlugsWriteBeforeProbe(t *testing.T) {
	const trace = `
            bash-488     [000] .....    50.000000: tracing_mark_write: mgbench plug=1 serial=MGBENCHOK01 expect=allow
       mediagate-402     [000] .....    50.050000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
     kworker/0:2-48      [000] .....    50.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
       mediagate-402     [001] .....    50.104000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
       mediagate-401     [001] ...1.    50.105000: sys_pwrite64(fd: e, buf: 7fc5b5023420, count: 18, pos: f188)
     kworker/0:2-48      [000] .....    50.106000: mg_probedev: (usb_probe_device+0x0/0x70 [usbcore]) name="2-1"
     kworker/0:2-48      [000] .....    50.120000: mg_ifprobe: (usb_probe_interface+0x0/0x2f0) name="2-1:1.0"
`
	tr, err := ParseTrace(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	ps := Plugs(tr, "mediagate")
	if len(ps) != 1 {
		t.Fatalf("%d plugs, want 1", len(ps))
	}
	p := ps[0]
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	// The authorize before the add (of a device that was not there yet) is not counted.
	if p.Add != 50*time.Second+100*time.Millisecond || p.Authorize != ms(4) || p.DBWrite != ms(5) || p.Bind != ms(20) || p.AuthorizedCount != 1 {
		t.Errorf("plug 1: %+v", p)
	}
}

func TestTimeline(t *testing.T) {
	trace := `# tracer: nop
     kworker/0:1-30    [000] ..... 100.000000: tracing_mark_write: mgbench plug=1 serial=MGBENCHOK01 expect=allow
     kworker/0:1-30    [000] ..... 100.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
     kworker/0:1-30    [000] ..... 100.100100: mg_probedev: (usb_probe_device+0x0/0x50 [usbcore]) name="2-1"
      mediagated-500   [001] ..... 100.101000: sys_enter: NR 47 (3, c000010000, 0, 0, 0, 0)
      mediagated-501   [001] ..... 100.102500: sys_enter: NR 257 (ffffff9c, c000020000, 80000, 0, 0, 0)
      mediagated-501   [001] ..... 100.103000: sys_enter: NR 999 (0, 0, 0, 0, 0, 0)
      mediagated-501   [001] d.... 100.103050: sched_switch: prev_comm=mediagated prev_pid=501 prev_prio=120 prev_state=R+ ==> next_comm=kworker/1:1 next_pid=35 next_prio=120
          <idle>-0     [000] d.... 100.103060: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=mediagated next_pid=500 next_prio=120
   usbguard-daemon-7   [000] ..... 100.103100: sys_enter: NR 0 (3, 0, 0, 0, 0, 0)
      mediagated-501   [001] ..... 100.300000: sys_enter: NR 1 (3, 0, 0, 0, 0, 0)
`
	tr, err := ParseTrace(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	ps := Plugs(tr, "mediagated")
	if len(ps) != 1 {
		t.Fatalf("plugs = %d", len(ps))
	}
	got := Timeline(tr, "mediagated", ps[0], 50*time.Millisecond)
	want := []Step{
		{After: 1 * time.Millisecond, Thread: 500, Call: "recvmsg"},
		{After: 2500 * time.Microsecond, Thread: 501, Call: "openat"},
		{After: 3 * time.Millisecond, Thread: 501, Call: "NR 999"},
		{After: 3050 * time.Microsecond, Thread: 501, Call: "off CPU 1 (R+), kworker/1:1 runs"},
		{After: 3060 * time.Microsecond, Thread: 500, Call: "on CPU 0 after swapper/0"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline = %+v, want %+v", got, want)
	}
}

func TestCosts(t *testing.T) {
	trace := `# tracer: nop
     kworker/0:1-30    [000] ..... 100.000000: tracing_mark_write: mgbench plug=1 serial=MGBENCHOK01 expect=allow
     kworker/0:1-30    [000] ..... 100.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
          <idle>-0     [000] d.... 100.100500: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=mediagated next_pid=500 next_prio=120
      mediagated-500   [000] ..... 100.101000: sys_enter: NR 47 (3, c000010000, 0, 0, 0, 0)
      mediagated-500   [000] ..... 100.102000: sys_enter: NR 228 (1, c000010000, 0, 0, 0, 0)
      mediagated-500   [000] ..... 100.102100: sys_enter: NR 228 (1, c000010000, 0, 0, 0, 0)
      mediagated-500   [000] d.... 100.102500: sched_switch: prev_comm=mediagated prev_pid=500 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
   usbguard-daemon-7   [001] ..... 100.103100: sys_enter: NR 0 (3, 0, 0, 0, 0, 0)
     kworker/0:1-30    [000] ..... 101.000000: tracing_mark_write: mgbench plug=2 serial=MGBENCHNO0001 expect=block
     kworker/0:1-30    [000] ..... 101.100000: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-2"
          <idle>-0     [001] d.... 101.200000: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=mediagated next_pid=501 next_prio=120
      mediagated-501   [001] ..... 101.200100: sys_enter: NR 1 (3, 0, 0, 0, 0, 0)
      mediagated-501   [001] d.... 101.201100: sched_switch: prev_comm=mediagated prev_pid=501 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
`
	tr, err := ParseTrace(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	cs := Costs(tr, "mediagated")
	if len(cs) != 2 {
		t.Fatalf("costs for %d plugs, want 2", len(cs))
	}
	if got := cs[0].Calls; got["recvmsg"] != 1 || got["clock_gettime"] != 2 || len(got) != 2 {
		t.Errorf("plug 1 calls %v", got)
	}
	if cs[0].OnCPU != 2*time.Millisecond {
		t.Errorf("plug 1 on CPU %v, want 2ms", cs[0].OnCPU)
	}
	if got := cs[1].Calls; got["write"] != 1 || len(got) != 1 {
		t.Errorf("plug 2 calls %v", got)
	}
	if cs[1].OnCPU != 1100*time.Microsecond {
		t.Errorf("plug 2 on CPU %v, want 1.1ms", cs[1].OnCPU)
	}
}
