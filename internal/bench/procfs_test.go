package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want, sys  int64
		err        bool
	}{
		// utime 57, stime 305 (fields 14 and 15).
		{"plain", "1 (systemd) S 0 1 1 0 -1 4194560 42178 11349064 0 926 57 305 41626 6720 20 0 1 0 24 47992832 4044", 362, 305, false},
		// A command name with spaces and a ")" must not shift the fields.
		{"odd name", "77 (a) b (c) R 1 77 77 0 -1 0 0 0 0 0 1200 34 0 0 20 0 3 0 99 1000 10", 1234, 34, false},
		{"cut short", "1 (x) S 0 1 1 0", 0, 0, true},
		{"no name", "1 x S", 0, 0, true},
		{"negative", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 -5 1 0 0", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sys, err := ParseStat(tc.text)
			if (err != nil) != tc.err || got != tc.want || sys != tc.sys {
				t.Errorf("ParseStat = %d, %d, %v; want %d, %d, error %v", got, sys, err, tc.want, tc.sys, tc.err)
			}
		})
	}
}

func TestParseSampleCaptured(t *testing.T) {
	// Output of SampleScript for mediagate daemon in the guest, after 4 plugs.
	b, err := os.ReadFile("testdata/sample-mediagate.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSample(1160, string(b))
	if err != nil {
		t.Fatal(err)
	}
	if s != wantSample {
		t.Errorf("sample = %+v, want %+v", s, wantSample)
	}
	// A sample cut short, or without the process's status, is an error, not zeros.
	if _, err := ParseSample(1160, string(b[:len(b)/2])); err == nil {
		t.Error("half a sample parsed without error")
	}
	noStatus := strings.Replace(string(b), "== status", "== other", 1)
	if _, err := ParseSample(1160, noStatus); err == nil {
		t.Error("a sample without status parsed without error")
	}
}

// The scheduler's run time is summed over the threads' schedstat; a bad one is an
// error, a missing one (no schedstat in the kernel) adds nothing.
func TestParseSampleRunTime(t *testing.T) {
	b, err := os.ReadFile("testdata/sample-mediagate.txt")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	withRun := strings.Replace(text, "== task\n", "== run\n1500000 200 3\n== task\n", 2) // after the first thread, the second
	withRun = strings.Replace(withRun, "== end", "== run\n2500 1 1\n== run\n\n== end", 1)
	s, err := ParseSample(1160, withRun)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2*1500000 + 2500); s.RunNs != want {
		t.Errorf("RunNs = %d, want %d", s.RunNs, want)
	}
	if s.Threads != wantSample.Threads {
		t.Errorf("%d threads, want %d", s.Threads, wantSample.Threads)
	}
	if _, err := ParseSample(1160, strings.Replace(text, "== end", "== run\nx 1 1\n== end", 1)); err == nil {
		t.Error("a bad run time parsed without error")
	}

}

func TestParseStatusRejectsMissingCounters(t *testing.T) {
	if _, err := ParseStatus("Name:\tx\nVmRSS:\t  12 kB\n"); err == nil {
		t.Error("status without context switch counters parsed")
	}
	if _, err := ParseStatus("VmRSS:\t12 MB\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t2\n"); err == nil {
		t.Error("VmRSS in MB parsed")
	}
	st, err := ParseStatus("VmRSS:\t  12 kB\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t5\n")
	if err != nil || st.RSSKiB != 12 || st.CtxSwitches != 15 {
		t.Errorf("ParseStatus = %+v, %v", st, err)
	}
}

func FuzzParseSample(f *testing.F) {
	if b, err := os.ReadFile("testdata/sample-mediagate.txt"); err == nil {
		f.Add(string(b))
	}
	f.Add("== stat\n1 (x) S\n== end\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSample(1, s)
		if err == nil && (p.Threads == 0 || p.RSSKiB < 0 || p.CPUTicks < 0) {
			t.Errorf("accepted %q as %+v", s, p)
		}
	})
}

// What the captured sample holds (counted by hand from the file).
var wantSample = ProcSample{PID: 1160, RSSKiB: 23244, AnonKiB: 11872, FileKiB: 11372, CPUTicks: 86 + 55, SysTicks: 55, CtxSwitches: 2053, Threads: 10}

func TestSoakSummary(t *testing.T) {
	got := SoakSummary([]SoakRSS{{0, 10 * 1024}, {1, 10*1024 + 205}, {100, 12 * 1024}, {200, 12*1024 + 512}, {300, 12*1024 + 307}})
	want := "RSS after start 10.0 MB; after plugs: 10.2–12.5 MB (+0.2 to +2.5 from the start; start included, ± 1.2 around the middle); from the 100th plug: 12.0–12.5 MB (± 0.2 around the middle)"
	if got != want {
		t.Errorf("SoakSummary =\n %q\nwant\n %q", got, want)
	}
	if got := SoakSummary([]SoakRSS{{0, 10 * 1024}, {1, 9 * 1024}}); got != "RSS after start 10.0 MB; after plugs: 9.0–9.0 MB (−1.0 to −1.0 from the start; start included, ± 0.5 around the middle)" {
		t.Errorf("SoakSummary, shrinking: %q", got)
	}
	if got := SoakSummary(nil); got != "RSS: no sample after start" {
		t.Errorf("SoakSummary(nil) = %q", got)
	}
}

func TestSoakLine(t *testing.T) {
	got := SoakLine(100, ProcSample{RSSKiB: 15 * 1024, AnonKiB: 6 * 1024, FileKiB: 9 * 1024, CPUTicks: 250, Threads: 8}, 100)
	if want := "after   100 plugs: RSS 15.0 MB (anonymous 6.0, file 9.0), CPU 2.50 s, threads 8"; got != want {
		t.Errorf("SoakLine = %q, want %q", got, want)
	}
	mem, err := SoakMemory([]byte(`{"state":"running","memory":{"rss_kib":15360,"anon_kib":6144,"file_kib":9216,"go_heap_kib":2560,"go_objects_kib":1024,"go_stacks_kib":512,"go_other_kib":900}}`))
	if want := "Go heap 2.5 MB (objects 1.0), stacks 0.5; anonymous beyond them 3.0 MB; the runtime's other memory 0.9 MB (mapped)"; err != nil || mem != want {
		t.Errorf("SoakMemory = %q, %v; want %q", mem, err, want)
	}
	mem, err = SoakMemory([]byte(`{"memory":{"anon_kib":6144,"go_heap_kib":2560,"go_objects_kib":1024,"go_free_kib":307,"go_stacks_kib":512,"go_other_kib":900,"sqlite_kib":2048}}`))
	if want := "Go heap 2.5 MB (objects 1.0, free pages 0.3), stacks 0.5; anonymous beyond them 3.0 MB; the runtime's other memory 0.9 MB, SQLite's 2.0 MB (mapped)"; err != nil || mem != want {
		t.Errorf("SoakMemory = %q, %v; want %q", mem, err, want)
	}
	for _, bad := range []string{`{"state":"running"}`, `{"memory":{"go_heap_kib":0}}`, `not json`} {
		if _, err := SoakMemory([]byte(bad)); err == nil {
			t.Errorf("SoakMemory(%s) without error", bad)
		}
	}
}

// VCPUWait sums the run_delay of QEMU's vCPU threads only.
func TestVCPUWait(t *testing.T) {
	proc := t.TempDir()
	for tid, f := range map[string][2]string{
		"100": {"qemu-system-x86\n", "900 800 7\n"},
		"101": {"CPU 0/TCG\n", "500 300 9\n"},
		"102": {"CPU 1/TCG\n", "600 40 9\n"},
		"104": {"ALL CPUs/TCG\n", "1 5 1\n"},
		"103": {"CPU 2/TCG\n", "garbage\n"},
	} {
		dir := filepath.Join(proc, "42", "task", tid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(f[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "schedstat"), []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := VCPUWait(proc, 42); got != 345 {
		t.Errorf("VCPUWait = %d, want 345 (300 + 40 + 5)", got)
	}
	if got := VCPUWait(proc, 43); got != 0 {
		t.Errorf("VCPUWait of no process = %d, want 0", got)
	}
}
