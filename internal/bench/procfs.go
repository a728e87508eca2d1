package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcSample is what /proc says about a process at one moment.
type ProcSample struct {
	PID int
	// RSSKiB is VmRSS of /proc/PID/status; AnonKiB and FileKiB its anonymous and
	// file-backed parts (RssAnon, RssFile: the heaps, and the binary's pages).
	RSSKiB, AnonKiB, FileKiB int64
	// CPUTicks is utime+stime of /proc/PID/stat (all threads), in clock ticks;
	// SysTicks its stime (the kernel's work in the process's system calls).
	CPUTicks, SysTicks int64
	// RunNs is the scheduler's run time of the process's threads
	// (/proc/PID/task/*/schedstat, first field): exact, where utime and stime are
	// sampled at the kernel's ticks. 0 when the kernel keeps no schedstat.
	RunNs int64
	// CtxSwitches is voluntary+nonvoluntary context switches summed over the threads
	// (/proc/PID/task/*/status).
	CtxSwitches int64
	Threads     int
	// HostWaitNs: see PlugRun.HostWaitNs (read on the host, not in the guest).
	HostWaitNs int64
}

// VCPUWait sums the run_delay (schedstat's second field: time runnable but not
// running) of the threads of the QEMU process pid whose name starts with "CPU " or
// "ALL CPUs" (its vCPU threads, one each or one for all), read on the host. 0 when
// there is none to read.
func VCPUWait(proc string, pid int) int64 {
	tasks, _ := filepath.Glob(filepath.Join(proc, strconv.Itoa(pid), "task", "*"))
	var sum int64
	for _, t := range tasks {
		comm, err := os.ReadFile(filepath.Join(t, "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "CPU ") && !strings.HasPrefix(string(comm), "ALL CPUs") {
			continue
		}
		st, err := os.ReadFile(filepath.Join(t, "schedstat"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(st)); len(f) >= 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				sum += n
			}
		}
	}
	return sum
}

// ParseStat returns utime+stime and stime (clock ticks) from the text of
// /proc/PID/stat. The command name in parentheses may hold spaces and parentheses;
// the fields are counted after its last ")".
func ParseStat(text string) (total, sys int64, err error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proc stat: no command name")
	}
	f := strings.Fields(text[i+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15); f[0] is field 3.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after the name, want at least 13", len(f))
	}
	var v [2]int64
	for j, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("proc stat: bad cpu time %q", s)
		}
		v[j] = n
	}
	return v[0] + v[1], v[1], nil
}

// Status holds the fields of /proc/PID/status the benchmark uses.
type Status struct {
	RSSKiB, AnonKiB, FileKiB int64
	CtxSwitches              int64 // voluntary + nonvoluntary
	HasRSS                   bool
}

// ParseStatus reads VmRSS and the context switch counters from the text of
// /proc/PID/status (or /proc/PID/task/TID/status).
func ParseStatus(text string) (Status, error) {
	var st Status
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "VmRSS", "RssAnon", "RssFile":
			n, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			if err != nil || !strings.HasSuffix(v, " kB") {
				return st, fmt.Errorf("proc status: bad %s %q", k, v)
			}
			switch k {
			case "VmRSS":
				st.RSSKiB, st.HasRSS = n, true
			case "RssAnon":
				st.AnonKiB = n
			default:
				st.FileKiB = n
			}
		case "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return st, fmt.Errorf("proc status: bad %s %q", k, v)
			}
			st.CtxSwitches += n
			seen++
		}
	}
	if seen != 2 {
		return st, fmt.Errorf("proc status: context switch counters missing")
	}
	return st, nil
}

// SampleScript is the guest shell script whose output ParseSample reads: the stat and
// status of the process and the status of each of its threads, between marker lines.
func SampleScript(pid int) string {
	return fmt.Sprintf(`p=/proc/%d
[ -d $p ] || { echo "no process %d" >&2; exit 1; }
echo "== stat"; cat $p/stat
echo "== status"; cat $p/status
for t in $p/task/*; do echo "== task"; cat $t/status; echo "== run"; cat $t/schedstat 2>/dev/null; done
echo "== end"`, pid, pid)
}

// ParseSample reads the output of SampleScript.
func ParseSample(pid int, out string) (ProcSample, error) {
	s := ProcSample{PID: pid}
	var section string
	var body strings.Builder
	var haveStat, haveStatus bool
	flush := func() error {
		text := body.String()
		body.Reset()
		switch section {
		case "stat":
			t, sys, err := ParseStat(text)
			if err != nil {
				return err
			}
			s.CPUTicks, s.SysTicks, haveStat = t, sys, true
		case "status":
			st, err := ParseStatus(text)
			if err != nil {
				return err
			}
			if !st.HasRSS {
				return fmt.Errorf("proc status of %d: no VmRSS (a kernel thread or a zombie)", pid)
			}
			s.RSSKiB, s.AnonKiB, s.FileKiB, haveStatus = st.RSSKiB, st.AnonKiB, st.FileKiB, true
		case "run":
			if f := strings.Fields(text); len(f) > 0 {
				ns, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil || ns < 0 {
					return fmt.Errorf("schedstat: bad run time %q", f[0])
				}
				s.RunNs += ns
			}
		case "task":
			st, err := ParseStatus(text)
			if err != nil {
				return err
			}
			s.CtxSwitches += st.CtxSwitches
			s.Threads++
		}
		return nil
	}
	for _, line := range strings.SplitAfter(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "== "); ok {
			if err := flush(); err != nil {
				return s, err
			}
			section = name
			continue
		}
		body.WriteString(line)
	}
	if section != "end" {
		return s, fmt.Errorf("sample of %d: output cut short", pid)
	}
	if !haveStat || !haveStatus || s.Threads == 0 {
		return s, fmt.Errorf("sample of %d: stat, status or tasks missing", pid)
	}
	return s, nil
}
