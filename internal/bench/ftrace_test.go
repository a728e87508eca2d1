package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseTraceLine(t *testing.T) {
	tr, err := ParseTrace(strings.NewReader(`# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
     kworker/0:2-48      [000] d..1.   153.017433: mg_uevent: (usb_dev_uevent+0x0/0x50 [usbcore]) name="2-1"
 (udev-worker)-318     [001] .....   153.071000: mg_authorize: (usb_authorize_device+0x0/0x110) devpath="1"
            bash-512     [001] .....   152.900001: tracing_mark_write: mgbench plug=3 serial=MGBENCHNO0002 expect=block
       mediagate-401     ( 399) [000] ...1. 153.1: sys_pwrite64(fd: e, buf: 7fc5b5023420, count: 18, pos: f188)
CPU:1 [LOST 12 EVENTS]
`))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Lost != 12 || len(tr.Events) != 4 {
		t.Fatalf("lost %d, %d events; want 12, 4", tr.Lost, len(tr.Events))
	}
	e := tr.Events[0]
	if e.Comm != "kworker/0:2" || e.PID != 48 || e.CPU != 0 || e.Time != 153*time.Second+17433*time.Microsecond ||
		e.Name != EvUevent || e.Probe != "usb_dev_uevent+0x0/0x50 [usbcore]" || e.Args["name"] != "2-1" {
		t.Errorf("uevent line = %+v", e)
	}
	if e := tr.Events[1]; e.Comm != "(udev-worker)" || e.PID != 318 || e.Args["devpath"] != "1" {
		t.Errorf("authorize line = %+v", e)
	}
	if m, ok := ParseMarker(tr.Events[2].Text); !ok || m.Plug != 3 || m.Serial != "MGBENCHNO0002" || m.Allow {
		t.Errorf("marker = %+v, %v", m, ok)
	}
	if e := tr.Events[3]; e.Comm != "mediagate" || e.PID != 401 || e.Name != EvDBWrite || e.Time != 153*time.Second+100*time.Millisecond || e.Probe != "" || e.Text != "fd: e, buf: 7fc5b5023420, count: 18, pos: f188" {
		t.Errorf("syscall line = %+v", e)
	}
}

func TestParseTraceRejectsGarbage(t *testing.T) {
	for _, s := range []string{
		"not a trace line\n",
		"  bash-1 [000] ..... 12.x: ev: text\n",
		"  bash-1 [000] ..... 99999999999999999999.1: ev: text\n",
		"  bash-1 [000] ..... 12.5: (no name)\n",
	} {
		if _, err := ParseTrace(strings.NewReader(s)); err == nil {
			t.Errorf("ParseTrace(%q) succeeded", s)
		}
	}
}

func TestParseArgs(t *testing.T) {
	got := parseArgs(`name="a b" n=0x10 empty="" last=x`)
	want := map[string]string{"name": "a b", "n": "0x10", "empty": "", "last": "x"}
	if len(got) != len(want) {
		t.Fatalf("parseArgs = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	for _, m := range []Marker{{Plug: 1, Serial: "MGBENCHOK01", Allow: true}, {Plug: 40, Serial: "MGBENCHNO0020"}} {
		got, ok := ParseMarker(m.Text())
		if !ok || got != m {
			t.Errorf("ParseMarker(%q) = %+v, %v", m.Text(), got, ok)
		}
	}
	for _, s := range []string{"hello", "mgbench plug=x serial=A expect=allow", "mgbench plug=1 serial=A expect=maybe", "mgbench plug=1 expect=allow"} {
		if _, ok := ParseMarker(s); ok {
			t.Errorf("ParseMarker(%q) accepted", s)
		}
	}
}

func FuzzParseTrace(f *testing.F) {
	if b, err := os.ReadFile("testdata/trace-usbguard-mediagate.txt"); err == nil {
		f.Add(string(b[:min(len(b), 4000)]))
	}
	f.Add("  a-1 [000] ..... 1.5: mg_uevent: (usb_dev_uevent+0x0/0x80) name=\"2-1\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTrace(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range tr.Events {
			if e.Time < 0 || e.Name == "" || e.PID < 0 {
				t.Errorf("accepted %+v", e)
			}
		}
		_ = Plugs(tr, "mediagate")
	})
}
