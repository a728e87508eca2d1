package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the trace events the benchmark defines (see traceSetup in vm_test.go).
const (
	EvUevent      = "mg_uevent"      // usb_dev_uevent: the kernel builds a usb_device uevent
	EvAuthorize   = "mg_authorize"   // usb_authorize_device: authorized=1 written
	EvDeauthorize = "mg_deauthorize" // usb_deauthorize_device: authorized=0 written
	EvIfProbe     = "mg_ifprobe"     // usb_probe_interface: a driver binds an interface
	EvProbeDevice = "mg_probedev"    // usb_probe_device: a driver probes a usb_device
	EvDBWrite     = "sys_pwrite64"   // a process writes a file at an offset (SQLite's WAL)
	EvMarker      = "tracing_mark_write"
	MarkerPrefix  = "mgbench "
)

// Marker is the trace marker written before each plug: "mgbench plug=N serial=S expect=allow".
type Marker struct {
	Plug   int
	Serial string
	Allow  bool
}

// Text is the marker's text.
func (m Marker) Text() string {
	exp := "block"
	if m.Allow {
		exp = "allow"
	}
	return fmt.Sprintf("%splug=%d serial=%s expect=%s", MarkerPrefix, m.Plug, m.Serial, exp)
}

// ParseMarker reads a marker's text; ok is false for other trace_marker writes.
func ParseMarker(text string) (Marker, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), MarkerPrefix)
	if !ok {
		return Marker{}, false
	}
	a := parseArgs(rest)
	n, err := strconv.Atoi(a["plug"])
	if err != nil || a["serial"] == "" || (a["expect"] != "allow" && a["expect"] != "block") {
		return Marker{}, false
	}
	return Marker{Plug: n, Serial: a["serial"], Allow: a["expect"] == "allow"}, true
}

// Missing marks a step that was not seen in a plug's window.
const Missing time.Duration = -1

// PlugTiming is what the kernel saw of one plug, as durations after the kernel built the
// device's add uevent (Missing when not seen).
type PlugTiming struct {
	Marker
	Device string        // kernel name of the USB device, such as "2-1"
	Add    time.Duration // CLOCK_MONOTONIC of the add uevent; Missing if none was seen
	// Authorize and Deauthorize: the first authorized=1 / authorized=0 write.
	Authorize, Deauthorize time.Duration
	// Bind: the first driver probe of one of the device's interfaces (usb-storage).
	Bind time.Duration
	// DBWrite: the daemon's first pwrite64 (SQLite writes its WAL so at commit: the
	// decision row).
	DBWrite time.Duration
	// AuthorizedCount counts authorized=1 writes in the window (for a blocked stick:
	// the number of times it was let in, which must be 0).
	AuthorizedCount int
}

// Decision is the time of the daemon's decision: for an allowed stick the
// authorized=1 write; for a blocked one the authorized=0 write, or, for a daemon that
// leaves an already unauthorized device alone, its first database write (the decision
// row). Missing if neither was seen.
func (p PlugTiming) Decision() time.Duration {
	if p.Allow {
		return p.Authorize
	}
	if p.Deauthorize != Missing {
		return p.Deauthorize
	}
	return p.DBWrite
}

// Plugs splits a trace into plug windows at the benchmark's markers (each window runs
// from its marker to the next one, by timestamp) and finds in each the USB device's
// add uevent and what followed it. daemonComm is the command name whose pwrite64 calls
// count as the daemon's database writes ("" for none).
//
// The add is recognised only at the device's driver probe, which the hub's worker
// runs after sending the uevent; a daemon fast enough writes authorized (the kprobe
// fires on entry, before the write waits for the device lock the probe holds) or its
// row in between. So a window's events are looked at once its add is known, from the
// add on, not as they come.
func Plugs(tr Trace, daemonComm string) []PlugTiming {
	evs := slices.Clone(tr.Events)
	slices.SortStableFunc(evs, func(a, b TraceEvent) int { return int(a.Time - b.Time) })
	var out []PlugTiming
	var window []TraceEvent
	flush := func() {
		if len(out) > 0 {
			attribute(&out[len(out)-1], window, daemonComm)
		}
		window = window[:0]
	}
	for _, ev := range evs {
		if ev.Name == EvMarker {
			if m, ok := ParseMarker(ev.Text); ok {
				flush()
				out = append(out, PlugTiming{Marker: m, Add: Missing, Authorize: Missing, Deauthorize: Missing, Bind: Missing, DBWrite: Missing})
			}
			continue
		}
		if len(out) > 0 {
			window = append(window, ev)
		}
	}
	flush()
	return out
}

// attribute fills in one plug's timings from the events of its window (sorted by
// time).
func attribute(cur *PlugTiming, window []TraceEvent, daemonComm string) {
	// The add uevent of a USB device: device_add() sends it (kobject_uevent, which
	// calls usb_dev_uevent) and then probes the device's driver (usb_probe_device),
	// both on the hub's worker. Reads of the device's uevent file (udevd, journald,
	// the daemons) also call usb_dev_uevent, even before the add is sent, but on their
	// own tasks. So the add is the last usb_dev_uevent of the task that first probes
	// the device.
	var last map[int]TraceEvent // the latest usb_dev_uevent of each task
	for _, ev := range window {
		name := ev.Args["name"]
		switch {
		case ev.Name == EvUevent && isUSBDeviceName(name):
			if last == nil {
				last = map[int]TraceEvent{}
			}
			last[ev.PID] = ev
		case ev.Name == EvProbeDevice && isUSBDeviceName(name):
			if u, ok := last[ev.PID]; ok && u.Args["name"] == name {
				cur.Device, cur.Add = name, u.Time
			}
		}
		if cur.Add != Missing {
			break
		}
	}
	if cur.Add == Missing {
		return
	}
	addAt := cur.Add
	rel := func(t time.Duration) time.Duration { return t - addAt }
	for _, ev := range window {
		if ev.Time < addAt {
			continue
		}
		switch ev.Name {
		case EvAuthorize, EvDeauthorize:
			if !sameDevice(cur.Device, ev.Args["devpath"]) {
				continue
			}
			if ev.Name == EvAuthorize {
				cur.AuthorizedCount++
				if cur.Authorize == Missing {
					cur.Authorize = rel(ev.Time)
				}
			} else if cur.Deauthorize == Missing {
				cur.Deauthorize = rel(ev.Time)
			}
		case EvIfProbe:
			if cur.Bind == Missing && strings.HasPrefix(ev.Args["name"], cur.Device+":") {
				cur.Bind = rel(ev.Time)
			}
		case EvDBWrite:
			if cur.DBWrite == Missing && daemonComm != "" && ev.Comm == daemonComm {
				cur.DBWrite = rel(ev.Time)
			}
		}
	}
}

// sameDevice tells whether devpath (struct usb_device's devpath, "1" or "1.3") belongs
// to the kernel name dev ("2-1"); an empty devpath (not fetched) matches.
func sameDevice(dev, devpath string) bool {
	if devpath == "" {
		return true
	}
	_, port, ok := strings.Cut(dev, "-")
	return ok && port == devpath
}

// isUSBDeviceName tells whether name is the kernel name of a USB device behind a root
// hub: "2-1", "1-1.4.2" (not "usb2", not an interface "2-1:1.0").
func isUSBDeviceName(name string) bool {
	bus, path, ok := strings.Cut(name, "-")
	if !ok || bus == "" || path == "" || strings.Trim(bus, "0123456789") != "" {
		return false
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// EvSysEnter is the raw_syscalls entry tracepoint and EvSchedSwitch the scheduler's
// switch of tasks (traced with --syscalls only).
const (
	EvSysEnter    = "sys_enter"
	EvSchedSwitch = "sched_switch"
)

// Step is one system call entry of a daemon's thread in a plug's timeline.
type Step struct {
	After  time.Duration // after the plug's add uevent
	Thread int
	Call   string // name, or "NR n" for a number not in syscallNames
}

// Timeline lists the system call entries of daemonComm's threads from a plug's add
// uevent until until after it (the raw_syscalls:sys_enter tracepoint, "--syscalls").
func Timeline(tr Trace, daemonComm string, p PlugTiming, until time.Duration) []Step {
	if p.Add == Missing {
		return nil
	}
	var out []Step
	for _, ev := range tr.Events {
		if ev.Time < p.Add || ev.Time > p.Add+until {
			continue
		}
		switch {
		case ev.Name == EvSysEnter && ev.Comm == daemonComm:
			out = append(out, Step{After: ev.Time - p.Add, Thread: ev.PID, Call: syscallName(ev.Text)})
		case ev.Name == EvSchedSwitch:
			sw, ok := parseSwitch(ev.Text)
			if !ok {
				continue
			}
			if sw.prevComm == daemonComm {
				out = append(out, Step{After: ev.Time - p.Add, Thread: sw.prevTID, Call: fmt.Sprintf("off CPU %d (%s), %s runs", ev.CPU, sw.prevState, sw.nextComm)})
			}
			if sw.nextComm == daemonComm {
				out = append(out, Step{After: ev.Time - p.Add, Thread: sw.nextTID, Call: fmt.Sprintf("on CPU %d after %s", ev.CPU, sw.prevComm)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Step) int { return int(a.After - b.After) })
	return out
}

// cpuSwitch is a sched_switch event: the task that left the CPU and the one that took it.
type cpuSwitch struct {
	prevComm, prevState, nextComm string
	prevTID, nextTID              int
}

// parseSwitch reads a sched_switch body "prev_comm=… prev_pid=… prev_state=… ==>
// next_comm=… next_pid=…".
func parseSwitch(text string) (cpuSwitch, bool) {
	prev, next, ok := strings.Cut(text, " ==> ")
	if !ok {
		return cpuSwitch{}, false
	}
	pa, na := parseArgs(prev), parseArgs(next)
	sw := cpuSwitch{prevComm: pa["prev_comm"], prevState: pa["prev_state"], nextComm: na["next_comm"]}
	sw.prevTID, _ = strconv.Atoi(pa["prev_pid"])
	sw.nextTID, _ = strconv.Atoi(na["next_pid"])
	return sw, true
}

// syscallName names the call of a sys_enter body "NR 257 (ffffff9c, …)".
func syscallName(text string) string {
	f := strings.Fields(text)
	if len(f) < 2 || f[0] != "NR" {
		return text
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return text
	}
	if s, ok := syscallNames[n]; ok {
		return s
	}
	return "NR " + f[1]
}

// syscallNames are the x86-64 system calls the daemons make on a plug.
var syscallNames = map[int]string{
	0: "read", 1: "write", 3: "close", 4: "stat", 5: "fstat", 6: "lstat", 7: "poll", 8: "lseek",
	9: "mmap", 10: "mprotect", 11: "munmap", 13: "rt_sigaction", 14: "rt_sigprocmask", 16: "ioctl",
	17: "pread64", 18: "pwrite64", 20: "writev", 21: "access", 24: "sched_yield", 28: "madvise",
	35: "nanosleep", 39: "getpid", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
	72: "fcntl", 74: "fsync", 75: "fdatasync", 89: "readlink", 186: "gettid", 202: "futex",
	217: "getdents64", 228: "clock_gettime", 230: "clock_nanosleep", 232: "epoll_wait",
	234: "tgkill", 257: "openat", 262: "newfstatat", 267: "readlinkat", 269: "faccessat",
	270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 318: "getrandom", 332: "statx",
	437: "openat2", 439: "faccessat2", 441: "epoll_pwait2",
}

// PlugCost is what a daemon's threads did for one plug: from the plug's marker to the
// next one's (the last plug: to the end of the trace), with --syscalls.
type PlugCost struct {
	Marker
	Calls map[string]int // system call entries by name
	OnCPU time.Duration  // time the daemon's threads were on a CPU, from sched_switch
}

// Costs divides the traced system calls and CPU time of daemonComm's threads among
// the plugs of the trace's markers. A stretch on CPU counts for the plug in which it
// ends.
func Costs(tr Trace, daemonComm string) []PlugCost {
	evs := slices.Clone(tr.Events)
	slices.SortStableFunc(evs, func(a, b TraceEvent) int { return int(a.Time - b.Time) })
	var out []PlugCost
	on := map[int]time.Duration{} // thread → when it went on CPU
	for _, ev := range evs {
		if ev.Name == EvMarker {
			if m, ok := ParseMarker(ev.Text); ok {
				out = append(out, PlugCost{Marker: m, Calls: map[string]int{}})
			}
			continue
		}
		switch {
		case ev.Name == EvSysEnter && ev.Comm == daemonComm:
			if len(out) > 0 {
				out[len(out)-1].Calls[syscallName(ev.Text)]++
			}
		case ev.Name == EvSchedSwitch:
			sw, ok := parseSwitch(ev.Text)
			if !ok {
				continue
			}
			if sw.prevComm == daemonComm {
				if since, ok := on[sw.prevTID]; ok && len(out) > 0 {
					out[len(out)-1].OnCPU += ev.Time - since
				}
				delete(on, sw.prevTID)
			}
			if sw.nextComm == daemonComm {
				on[sw.nextTID] = ev.Time
			}
		}
	}
	return out
}
