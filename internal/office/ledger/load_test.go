package ledger_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/office/ledger"
)

// The ingest run (scripts/bench-ingest.sh): N simulated hosts send their logs to one
// ledger at once, each a batch after the previous one's acknowledgement, for a while.
// It prints events/s, the receipt-to-acknowledgement latency of the batches (p50, p99),
// the peak RSS of the process, and counts the events at both ends: sent and
// acknowledged by the hosts, held by the office (a COUNT of office_host_events and each
// chain's head) — none lost, none twice. It asserts the counts, never the time.
//
//	MEDIAGATE_INGEST_LOAD=1 go test ./internal/office/ledger -run TestIngestLoad -v -timeout 30m
//
// MEDIAGATE_INGEST_HOSTS (1000), MEDIAGATE_INGEST_SECONDS (60), MEDIAGATE_INGEST_BATCH
// (rows per batch, 50), MEDIAGATE_INGEST_ENGINE (sqlite, postgres; postgres needs
// MEDIAGATE_PG_DSN). The hosts run in the same process (their hashing and signature
// checks count against the server's CPU); HTTP and TLS are not in it — the endpoint adds
// one request per batch on top.
func TestIngestLoad(t *testing.T) {
	if os.Getenv("MEDIAGATE_INGEST_LOAD") == "" {
		t.Skip("set MEDIAGATE_INGEST_LOAD=1 to run the ingest load (scripts/bench-ingest.sh)")
	}
	envInt := func(k string, d int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return d
	}
	hosts, seconds, batch := envInt("MEDIAGATE_INGEST_HOSTS", 1000), envInt("MEDIAGATE_INGEST_SECONDS", 60), envInt("MEDIAGATE_INGEST_BATCH", 50)
	eng := engine(os.Getenv("MEDIAGATE_INGEST_ENGINE"))
	if eng == "" {
		eng = "sqlite"
	}
	if eng == "postgres" && os.Getenv("MEDIAGATE_PG_DSN") == "" {
		t.Skip("MEDIAGATE_PG_DSN is not set")
	}
	st := openStore(t, eng)
	pub, key, _ := ed25519.GenerateKey(nil)
	l, err := ledger.New(ledger.Config{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var sent, acked, refused atomic.Int64
	lat := make([][]time.Duration, hosts)
	stop := time.Now().Add(time.Duration(seconds) * time.Second)
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Go(func() {
			reg := fmt.Sprintf("reg-%04d", i)
			host := fmt.Sprintf("host-%04d", i)
			var prev audit.Head
			at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
			d, _ := audit.Details(event.DaemonRescan{Allowed: 1, Devices: 3})
			rows := make([]*audit.Event, batch)
			for time.Now().Before(stop) {
				for j := range rows {
					at = at.Add(time.Millisecond)
					e := &audit.Event{ID: reg + "-" + strconv.FormatInt(prev.Seq+1, 10), Time: at, HostID: reg,
						Kind: event.KindDaemonRescan, Actor: audit.Actor{UID: 0, User: "root"}, Details: d}
					audit.Seal(e, prev.Seq, prev.Hash)
					prev = audit.Head{Seq: e.Seq, Hash: e.Hash}
					rows[j] = e
				}
				sent.Add(int64(len(rows)))
				t0 := time.Now()
				a, err := l.Receive(ctx, host, rows)
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil {
					refused.Add(1)
					t.Errorf("%s: %v", host, err)
					return
				}
				if a.Seq != prev.Seq || a.Hash != prev.Hash || a.Verify(pub) != nil {
					t.Errorf("%s: acknowledgement %d, sent up to %d", host, a.Seq, prev.Seq)
					return
				}
				acked.Add(int64(len(rows)))
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), cpuTime()-cpu0
	// The office's end: every row held once, each chain's head where its host stopped.
	chains, err := l.Chains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var heads int64
	for _, c := range chains {
		heads += c.Seq
		if c.Broken() {
			t.Errorf("%s broken: %s", c.Host, c.BrokenReason)
		}
	}
	held, err := st.CountHostLogRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("ingest %s: %d hosts, batches of %d, %.1f s\n", eng, hosts, batch, took.Seconds())
	fmt.Printf("  events sent %d, acknowledged %d, held by the office %d (COUNT), chain heads sum %d, refused batches %d\n",
		sent.Load(), acked.Load(), held, heads, refused.Load())
	fmt.Printf("  %.0f events/s acknowledged; %d batches, receipt-to-ack p50 %s p99 %s max %s\n",
		float64(acked.Load())/took.Seconds(), len(all), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond))
	fmt.Printf("  CPU %.1f s (user+system, hosts and office together): %.0f events per CPU-second; load average %s\n",
		cpu.Seconds(), float64(acked.Load())/cpu.Seconds(), loadAvg())
	fmt.Printf("  process peak RSS %s (hosts and office together), Go heap in use %d MiB at the end\n", peakRSS(), ms.HeapInuse>>20)
	if held != acked.Load() || heads != acked.Load() || sent.Load() != acked.Load() {
		t.Errorf("lost or duplicated: sent %d, acknowledged %d, held %d, heads %d", sent.Load(), acked.Load(), held, heads)
	}
	if int64(len(chains)) != int64(hosts) {
		t.Errorf("%d chains for %d hosts", len(chains), hosts)
	}
	if errors.Is(err, ledger.ErrBroken) {
		t.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
