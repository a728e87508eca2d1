package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// DaemonResult is one daemon's part of a run.
type DaemonResult struct {
	Name    string // "USBGuard 1.1.2+ds-3+b1", "mediagate e132827"
	Comm    string // command name in the trace ("usbguard-daemon", "mediagate")
	Plugs   []PlugTiming
	Lost    int // trace events the ring buffer dropped
	TickHz  int // clock ticks per second of the guest (getconf CLK_TCK)
	Started ProcSample
	// Idle is the sample after the idle window that follows Started; AfterPlugs the one
	// after the plug plan (which follows the idle window).
	Idle, AfterPlugs ProcSample
	IdleWindow       time.Duration
	// Restarts are the first samples of starts made before the run's own, each
	// stopped after its sample (--starts): a single start's CPU and memory vary by a
	// fifth between runs, the median of several less.
	Restarts []ProcSample
	// PlugRuns are the scheduler's run time of the daemon's threads read right before
	// each plug of the plan, in its order (after the stick before it was gone).
	PlugRuns []PlugRun
}

// PlugRun is the daemon's run time (ProcSample.RunNs) read before one plug.
type PlugRun struct {
	Allow bool
	RunNs int64
	// HostWaitNs is, read at the same moment on the host, the time QEMU's vCPU threads
	// have spent runnable but waiting for a host core (their schedstat run_delay):
	// time in which the guest's clock runs on while its CPUs do not, so that a guest
	// task "running" then is charged run time without running. 0 where unknown.
	HostWaitNs int64
}

// plugRun is one plug's run time, from its reading to the next one's (the last one:
// to the sample after the plan); ok is false when the readings do not make one.
func (d DaemonResult) plugRun(i int) (time.Duration, bool) {
	end := d.AfterPlugs.RunNs
	if i+1 < len(d.PlugRuns) {
		end = d.PlugRuns[i+1].RunNs
	}
	start := d.PlugRuns[i].RunNs
	return time.Duration(end - start), start > 0 && end >= start
}

// plugRunList lists each plug's run time, "a" for allowed and "b" for blocked plugs
// ("?" where the readings do not make one).
func (d DaemonResult) plugRunList() string {
	var b strings.Builder
	for i, p := range d.PlugRuns {
		kind := "b"
		if p.Allow {
			kind = "a"
		}
		run, ok := d.plugRun(i)
		if !ok {
			fmt.Fprintf(&b, " %s ?", kind)
			continue
		}
		fmt.Fprintf(&b, " %s %s", kind, ms(run))
	}
	return b.String()
}

// hostWaitList lists, per plug as plugRunList, how long QEMU's vCPU threads waited
// for a host core in the plug's span ("?" where unknown).
func (d DaemonResult) hostWaitList() string {
	var b strings.Builder
	for i, p := range d.PlugRuns {
		end := d.AfterPlugs.HostWaitNs
		if i+1 < len(d.PlugRuns) {
			end = d.PlugRuns[i+1].HostWaitNs
		}
		if p.HostWaitNs == 0 || end < p.HostWaitNs {
			b.WriteString(" ?")
			continue
		}
		fmt.Fprintf(&b, " %s", ms(time.Duration(end-p.HostWaitNs)))
	}
	return b.String()
}

// PlugRunMedian is the median run time of the daemon's threads over the allowed (or
// the blocked) plugs, each from its plug to the next one (its unplug included; the
// last one to the sample after the plan). ok is false without schedstat figures.
func (d DaemonResult) PlugRunMedian(allow bool) (time.Duration, bool) {
	var runs []time.Duration
	for i, p := range d.PlugRuns {
		if run, ok := d.plugRun(i); ok && p.Allow == allow {
			runs = append(runs, run)
		}
	}
	return Percentile(runs, 0.5)
}

// PlugRunWarm is the mean run time per plug without the first allowed and the first
// blocked plug, in which the daemon runs the code of its plug paths for the first
// time (in the guest: the emulator translates it then); ok is false without readings.
func (d DaemonResult) PlugRunWarm() (time.Duration, bool) {
	var sum time.Duration
	var n int
	seen := map[bool]bool{}
	for i, p := range d.PlugRuns {
		if !seen[p.Allow] {
			seen[p.Allow] = true
			continue
		}
		if run, ok := d.plugRun(i); ok {
			sum += run
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / time.Duration(n), true
}

func (d DaemonResult) cpu(ticks int64) time.Duration {
	if d.TickHz <= 0 {
		return 0
	}
	return time.Duration(ticks) * time.Second / time.Duration(d.TickHz)
}

// StartCPU is the CPU time the daemon used from its start until the first sample.
func (d DaemonResult) StartCPU() time.Duration { return d.cpu(d.Started.CPUTicks) }

// starts are the first samples of every start, the run's own and the restarts.
func (d DaemonResult) starts() []ProcSample { return append([]ProcSample{d.Started}, d.Restarts...) }

// StartFigures are the median, least and most start-up CPU and RSS after start over
// every start of the run.
func (d DaemonResult) StartFigures() (cpu [3]time.Duration, rssKiB [3]int64) {
	var cpus []time.Duration
	var rss []int64
	for _, s := range d.starts() {
		cpus = append(cpus, d.cpu(s.CPUTicks))
		rss = append(rss, s.RSSKiB)
	}
	return spread(cpus), spread(rss)
}

// spread is the median, least and most of xs (not empty).
func spread[T cmp.Ordered](xs []T) [3]T {
	m, _ := Percentile(xs, 0.5)
	return [3]T{m, slices.Min(xs), slices.Max(xs)}
}

// PlugCPU is the CPU time per plug over the plug plan.
func (d DaemonResult) PlugCPU() time.Duration {
	if len(d.Plugs) == 0 {
		return 0
	}
	return d.cpu(d.AfterPlugs.CPUTicks-d.Idle.CPUTicks) / time.Duration(len(d.Plugs))
}

// PlugSysCPU is the system part of PlugCPU: the kernel's work in the daemon's
// system calls (reading sysfs, the authorized write with the driver probes it runs,
// SQLite's writes), the rest being the daemon's own instructions.
func (d DaemonResult) PlugSysCPU() time.Duration {
	if len(d.Plugs) == 0 {
		return 0
	}
	return d.cpu(d.AfterPlugs.SysTicks-d.Idle.SysTicks) / time.Duration(len(d.Plugs))
}

// PlugRun is the scheduler's run time per plug over the plug plan (0 without
// schedstat).
func (d DaemonResult) PlugRun() time.Duration {
	if len(d.Plugs) == 0 || d.AfterPlugs.RunNs == 0 {
		return 0
	}
	return time.Duration(d.AfterPlugs.RunNs-d.Idle.RunNs) / time.Duration(len(d.Plugs))
}

// IdleCPU and IdleSwitches are what the daemon did in the idle window.
func (d DaemonResult) IdleCPU() time.Duration { return d.cpu(d.Idle.CPUTicks - d.Started.CPUTicks) }
func (d DaemonResult) IdleSwitches() int64    { return d.Idle.CtxSwitches - d.Started.CtxSwitches }

// authorizedBlocked counts blocked plugs that were authorized at some moment.
func (d DaemonResult) authorizedBlocked() (bad, of int) {
	for _, p := range d.Plugs {
		if !p.Allow {
			of++
			if p.AuthorizedCount > 0 {
				bad++
			}
		}
	}
	return bad, of
}

type figure struct {
	p50, p90 time.Duration
	n, miss  int
	ok       bool
}

func quantiles(ps []PlugTiming, keep func(PlugTiming) bool, f func(PlugTiming) time.Duration) figure {
	ds, miss := Collect(ps, keep, f)
	var fg figure
	fg.n, fg.miss = len(ds), miss
	fg.p50, fg.ok = Percentile(ds, 0.5)
	fg.p90, _ = Percentile(ds, 0.9)
	return fg
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// msFine is a latency to a hundredth of a millisecond: under --icount, 10,000
// instructions.
func msFine(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (f figure) String() string {
	if !f.ok {
		return "—"
	}
	s := msFine(f.p50) + " / " + msFine(f.p90) + " ms"
	if f.miss > 0 {
		s += fmt.Sprintf(" (%d of %d not seen)", f.miss, f.n+f.miss)
	}
	return s
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", b/a)
}

func (f figure) ratio(g figure) string {
	if !f.ok || !g.ok {
		return "—"
	}
	return ratio(float64(f.p50), float64(g.p50)) + " / " + ratio(float64(f.p90), float64(g.p90))
}

func mb(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

// WriteTable prints the side-by-side table as Markdown: base (USBGuard) and other
// (mediagate) and the ratio other/base (below 1 means mediagate is faster or smaller).
func WriteTable(w io.Writer, base, other DaemonResult) error {
	type row struct{ name, a, b, r string }
	var rows []row
	add := func(name string, f func(d DaemonResult) figure) {
		fa, fb := f(base), f(other)
		rows = append(rows, row{name, fa.String(), fb.String(), fa.ratio(fb)})
	}
	add("allowed stick: kernel `add` uevent → `authorized=1` written, p50 / p90", func(d DaemonResult) figure {
		return quantiles(d.Plugs, Allowed, func(p PlugTiming) time.Duration { return p.Authorize })
	})
	add("allowed stick: `add` → usb-storage interface probe, p50 / p90", func(d DaemonResult) figure {
		return quantiles(d.Plugs, Allowed, func(p PlugTiming) time.Duration { return p.Bind })
	})
	add("blocked stick: `add` → decision¹, p50 / p90", func(d DaemonResult) figure {
		return quantiles(d.Plugs, Blocked, PlugTiming.Decision)
	})
	add("any stick: `add` → daemon's first database write², p50 / p90", func(d DaemonResult) figure {
		return quantiles(d.Plugs, func(PlugTiming) bool { return true }, func(p PlugTiming) time.Duration { return p.DBWrite })
	})
	ba, oa := base.authorizedBlocked()
	bb, ob := other.authorizedBlocked()
	rows = append(rows, row{"blocked sticks authorized at any moment", fmt.Sprintf("%d of %d", ba, oa), fmt.Sprintf("%d of %d", bb, ob), ""})
	rows = append(rows, row{"daemon RSS after start → after the plugs",
		mb(base.Started.RSSKiB) + " → " + mb(base.AfterPlugs.RSSKiB) + " MB",
		mb(other.Started.RSSKiB) + " → " + mb(other.AfterPlugs.RSSKiB) + " MB",
		ratio(float64(base.Started.RSSKiB), float64(other.Started.RSSKiB)) + " → " + ratio(float64(base.AfterPlugs.RSSKiB), float64(other.AfterPlugs.RSSKiB))})
	if base.AfterPlugs.AnonKiB > 0 || other.AfterPlugs.AnonKiB > 0 {
		split := func(p ProcSample) string { return mb(p.AnonKiB) + " + " + mb(p.FileKiB) + " MB" }
		rows = append(rows, row{"RSS after the plugs: anonymous + file-backed (the binary, libraries)",
			split(base.AfterPlugs), split(other.AfterPlugs), ""})
	}
	rows = append(rows, row{"CPU at start-up (until the first sample)",
		fmt.Sprintf("%.2f s", base.StartCPU().Seconds()), fmt.Sprintf("%.2f s", other.StartCPU().Seconds()),
		ratio(float64(base.StartCPU()), float64(other.StartCPU()))})
	if len(base.Restarts) > 0 || len(other.Restarts) > 0 {
		bc, br := base.StartFigures()
		oc, or := other.StartFigures()
		sec := func(c [3]time.Duration) string {
			return fmt.Sprintf("%.2f s (%.2f–%.2f)", c[0].Seconds(), c[1].Seconds(), c[2].Seconds())
		}
		mbs := func(r [3]int64) string { return fmt.Sprintf("%s MB (%s–%s)", mb(r[0]), mb(r[1]), mb(r[2])) }
		rows = append(rows, row{fmt.Sprintf("CPU at start-up, median of %d / %d starts (least–most)", len(base.starts()), len(other.starts())),
			sec(bc), sec(oc), ratio(float64(bc[0]), float64(oc[0]))})
		rows = append(rows, row{"RSS after start, median of the same starts (least–most)",
			mbs(br), mbs(or), ratio(float64(br[0]), float64(or[0]))})
	}
	rows = append(rows, row{"CPU per plug",
		ms(base.PlugCPU()) + " ms", ms(other.PlugCPU()) + " ms", ratio(float64(base.PlugCPU()), float64(other.PlugCPU()))})
	userSys := func(d DaemonResult) string {
		return ms(d.PlugCPU()-d.PlugSysCPU()) + " + " + ms(d.PlugSysCPU()) + " ms"
	}
	rows = append(rows, row{"CPU per plug: user + system", userSys(base), userSys(other),
		ratio(float64(base.PlugCPU()-base.PlugSysCPU()), float64(other.PlugCPU()-other.PlugSysCPU())) + " + " +
			ratio(float64(base.PlugSysCPU()), float64(other.PlugSysCPU()))})
	if base.PlugRun() > 0 && other.PlugRun() > 0 {
		rows = append(rows, row{"run time per plug (the scheduler's, all threads: exact, where CPU is sampled at ticks)",
			ms(base.PlugRun()) + " ms", ms(other.PlugRun()) + " ms", ratio(float64(base.PlugRun()), float64(other.PlugRun()))})
	}
	if bw, ok := base.PlugRunWarm(); ok {
		if ow, ok := other.PlugRunWarm(); ok {
			rows = append(rows, row{"run time per plug without each daemon's first allowed and first blocked plug (its plug paths' code run for the first time)",
				ms(bw) + " ms", ms(ow) + " ms", ratio(float64(bw), float64(ow))})
		}
	}
	if ba, ok1 := base.PlugRunMedian(true); ok1 {
		bb, ok2 := base.PlugRunMedian(false)
		oa, ok3 := other.PlugRunMedian(true)
		ob, ok4 := other.PlugRunMedian(false)
		if ok2 && ok3 && ok4 {
			rows = append(rows, row{"run time per plug, median: allowed / blocked (each to the next plug, its unplug included)",
				ms(ba) + " / " + ms(bb) + " ms", ms(oa) + " / " + ms(ob) + " ms",
				ratio(float64(ba), float64(oa)) + " / " + ratio(float64(bb), float64(ob))})
		}
	}
	rows = append(rows, row{fmt.Sprintf("idle %s: context switches (all threads), CPU", other.IdleWindow.Round(time.Second)),
		fmt.Sprintf("%d, %s ms", base.IdleSwitches(), ms(base.IdleCPU())),
		fmt.Sprintf("%d, %s ms", other.IdleSwitches(), ms(other.IdleCPU())), ""})
	rows = append(rows, row{"threads after the plugs", fmt.Sprint(base.AfterPlugs.Threads), fmt.Sprint(other.AfterPlugs.Threads), ""})
	rows = append(rows, row{"plugs (allowed + blocked); trace events lost",
		plugCount(base) + fmt.Sprintf("; %d", base.Lost), plugCount(other) + fmt.Sprintf("; %d", other.Lost), ""})

	fmt.Fprintf(w, "| figure | %s | %s | ratio |\n|---|---|---|---|\n", base.Name, other.Name)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, r.a, r.b, r.r)
	}
	_, err := fmt.Fprintf(w, "\n¹ the `authorized=0` write; a daemon that leaves an already unauthorized device alone "+
		"(authorized_default=0) writes nothing to sysfs, so its first database write (the decision row) counts.\n"+
		"² first `pwrite64` by the daemon's process (%s / %s) after `add`: SQLite writes its WAL at commit.\n"+
		"Ratio: %s ÷ %s (below 1: %s is faster or smaller).\n",
		base.Comm, other.Comm, other.Name, base.Name, other.Name)
	return err
}

func plugCount(d DaemonResult) string {
	var a, b int
	for _, p := range d.Plugs {
		if p.Allow {
			a++
		} else {
			b++
		}
	}
	return fmt.Sprintf("%d + %d", a, b)
}

// SoakLine is one line of the soak report.
func SoakLine(plugs int, s ProcSample, tickHz int) string {
	cpu := time.Duration(0)
	if tickHz > 0 {
		cpu = time.Duration(s.CPUTicks) * time.Second / time.Duration(tickHz)
	}
	return strings.TrimSpace(fmt.Sprintf("after %5d plugs: RSS %s MB (anonymous %s, file %s), CPU %.2f s, threads %d",
		plugs, mb(s.RSSKiB), mb(s.AnonKiB), mb(s.FileKiB), cpu.Seconds(), s.Threads))
}

// SoakMemory is the Go runtime's share of the daemon's memory from the output of
// `mediagate status --json` (its "memory"): the heap's spans and live objects, the
// goroutines' stacks, and what the anonymous memory holds beyond them (SQLite's
// regions, the runtime's other memory), with the runtime's other memory as it counts
// it and SQLite's as modernc.org/libc counts it (both mapped and not returned: upper
// bounds of their resident parts).
func SoakMemory(statusJSON []byte) (string, error) {
	var st struct {
		Memory *struct {
			Anon   int64  `json:"anon_kib"`
			Heap   int64  `json:"go_heap_kib"`
			Live   int64  `json:"go_objects_kib"`
			Free   *int64 `json:"go_free_kib"`
			Stacks int64  `json:"go_stacks_kib"`
			Other  int64  `json:"go_other_kib"`
			SQLite int64  `json:"sqlite_kib"`
		} `json:"memory"`
	}
	if err := json.Unmarshal(statusJSON, &st); err != nil {
		return "", fmt.Errorf("status: %w", err)
	}
	m := st.Memory
	if m == nil || m.Heap <= 0 {
		return "", fmt.Errorf("status: no memory figures")
	}
	free := ""
	if m.Free != nil {
		free = fmt.Sprintf(", free pages %s", mb(*m.Free))
	}
	line := fmt.Sprintf("Go heap %s MB (objects %s%s), stacks %s; anonymous beyond them %s MB; the runtime's other memory %s MB",
		mb(m.Heap), mb(m.Live), free, mb(m.Stacks), mb(m.Anon-m.Heap-m.Stacks), mb(m.Other))
	if m.SQLite > 0 {
		line += fmt.Sprintf(", SQLite's %s MB", mb(m.SQLite))
	}
	return line + " (mapped)", nil
}

// SoakRSS is one RSS sample of a soak: after how many plugs, and the resident set.
type SoakRSS struct {
	Plugs  int
	RSSKiB int64
}

// SoakSummary sums a soak's RSS samples up against the flatness goal (± 1 MB): the
// RSS after start, the least and most of all samples after plugs, and the same from
// the 100th plug on, each with its spread from the start and its half range. It
// judges nothing; the reader compares.
func SoakSummary(samples []SoakRSS) string {
	if len(samples) == 0 || samples[0].Plugs != 0 {
		return "RSS: no sample after start"
	}
	start := samples[0].RSSKiB
	span := func(from int) (lo, hi int64, n int) {
		for _, s := range samples[1:] {
			if s.Plugs < from {
				continue
			}
			if n == 0 || s.RSSKiB < lo {
				lo = s.RSSKiB
			}
			if n == 0 || s.RSSKiB > hi {
				hi = s.RSSKiB
			}
			n++
		}
		return lo, hi, n
	}
	signed := func(kib int64) string {
		if kib < 0 {
			return "−" + mb(-kib)
		}
		return "+" + mb(kib)
	}
	out := fmt.Sprintf("RSS after start %s MB", mb(start))
	if lo, hi, n := span(1); n > 0 {
		out += fmt.Sprintf("; after plugs: %s–%s MB (%s to %s from the start; start included, ± %s around the middle)",
			mb(lo), mb(hi), signed(lo-start), signed(hi-start), mb((max(hi, start)-min(lo, start))/2))
	}
	if lo, hi, n := span(100); n > 1 {
		out += fmt.Sprintf("; from the 100th plug: %s–%s MB (± %s around the middle)", mb(lo), mb(hi), mb((hi-lo)/2))
	}
	return out
}
