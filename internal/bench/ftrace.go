package bench

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TraceEvent is one line of ftrace text output (the trace or trace_pipe file).
type TraceEvent struct {
	Comm string
	PID  int
	CPU  int
	// Time is the timestamp of the trace clock; with trace_clock=mono it is
	// CLOCK_MONOTONIC.
	Time time.Duration
	// Name is the event: a kprobe's name (mg_uevent), tracing_mark_write, or a
	// tracepoint (sys_enter_pwrite64).
	Name string
	// Probe is where a kprobe fired, such as "usb_dev_uevent+0x0/0x90"; empty otherwise.
	Probe string
	// Args are the key=value fields of a kprobe (string values without their quotes).
	Args map[string]string
	// Text is everything after "Name: " (for a trace marker, the marker).
	Text string
}

// Trace is a parsed ftrace text output.
type Trace struct {
	Events []TraceEvent
	// Lost counts the events the ring buffer dropped ("CPU:N [LOST M EVENTS]").
	Lost int
}

// "   comm-pid   (tgid)? [cpu] flags? 123.456789: name: text"
var (
	traceLine = regexp.MustCompile(`^\s*(.+)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:\S{4,6}\s+)?(\d+)\.(\d{1,9}):\s+(.*)$`)
	// "name: text", or a system call's entry "sys_pwrite64(fd: e, …)" or exit "sys_pwrite64 -> 0x18".
	namedBody   = regexp.MustCompile(`^([A-Za-z0-9_]+):\s?(.*)$`)
	probePoint  = regexp.MustCompile(`^[A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[[A-Za-z0-9_]+\])?$`)
	syscallBody = regexp.MustCompile(`^(sys_[a-z0-9_]+)(?:\((.*)\)| -> (.*))$`)
	lostLine    = regexp.MustCompile(`^CPU:\d+ \[LOST (\d+) EVENTS\]$`)
)

// ParseTrace reads ftrace text output. Comment and empty lines are skipped; any other
// line that is not an event is an error (a measurement must not silently drop data).
func ParseTrace(r io.Reader) (Trace, error) {
	var tr Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := lostLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			k, _ := strconv.Atoi(m[1])
			tr.Lost += k
			continue
		}
		ev, err := parseTraceLine(line)
		if err != nil {
			return tr, fmt.Errorf("trace line %d: %w", n, err)
		}
		tr.Events = append(tr.Events, ev)
	}
	if err := sc.Err(); err != nil {
		return tr, fmt.Errorf("read trace: %w", err)
	}
	return tr, nil
}

func parseTraceLine(line string) (TraceEvent, error) {
	m := traceLine.FindStringSubmatch(line)
	if m == nil {
		return TraceEvent{}, fmt.Errorf("not an ftrace event: %.120q", line)
	}
	var ev TraceEvent
	ev.Comm = strings.TrimSpace(m[1])
	ev.PID, _ = strconv.Atoi(m[2])
	ev.CPU, _ = strconv.Atoi(m[3])
	sec, err := strconv.ParseInt(m[4], 10, 64)
	if err != nil || sec > int64(time.Duration(1<<62)/time.Second) {
		return TraceEvent{}, fmt.Errorf("bad timestamp %s.%s", m[4], m[5])
	}
	frac := m[5] + strings.Repeat("0", 9-len(m[5]))
	ns, _ := strconv.ParseInt(frac, 10, 64)
	ev.Time = time.Duration(sec)*time.Second + time.Duration(ns)
	switch body := m[6]; {
	case namedBody.MatchString(body):
		b := namedBody.FindStringSubmatch(body)
		ev.Name, ev.Text = b[1], b[2]
	case syscallBody.MatchString(body):
		b := syscallBody.FindStringSubmatch(body)
		ev.Name, ev.Text = b[1], b[2]+b[3]
	default:
		return TraceEvent{}, fmt.Errorf("no event name in %.120q", line)
	}
	if rest, ok := strings.CutPrefix(ev.Text, "("); ok {
		// "(usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"": the probe point, with the
		// module for a symbol in one.
		if probe, args, ok := strings.Cut(rest, ")"); ok && probePoint.MatchString(probe) {
			ev.Probe = probe
			ev.Args = parseArgs(strings.TrimSpace(args))
		}
	}
	return ev, nil
}

// parseArgs splits `a=1 name="x y" b=0x2` into a map; quoted values lose their quotes.
func parseArgs(s string) map[string]string {
	args := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ")
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.Contains(k, " ") {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				v, rest = rest[1:], ""
			} else {
				v, rest = rest[1:1+end], rest[2+end:]
			}
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		args[k] = v
		s = rest
	}
	return args
}
