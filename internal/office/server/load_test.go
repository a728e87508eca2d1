package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/office/pki"
	"mediagate/internal/office/remote"
	"mediagate/internal/office/server"
	"mediagate/internal/office/wire"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

// The load run (scripts/bench-office.sh): the server in a child process (so that
// its RSS is its own) on loopback, N enrolled hosts long-polling over real mutual
// TLS, M media in the register. It prints figures; it asserts nothing about time.
//
//	MEDIAGATE_OFFICE_LOAD=1 go test ./internal/office/server -run TestOfficeLoad -v -timeout 60m
//
// MEDIAGATE_LOAD_HOSTS (1000), MEDIAGATE_LOAD_MEDIA (100000), MEDIAGATE_LOAD_SHARED
// (media not limited to hosts, default 1000; the rest are each limited to the ten
// hosts of one department), MEDIAGATE_LOAD_ROUNDS (5 losses).

func TestMain(m *testing.M) {
	if dir := os.Getenv("MEDIAGATE_LOAD_CHILD"); dir != "" {
		if err := loadChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var childQuiet [3]float64

type childStats struct {
	QuietP50    float64 `json:"quiet_p50_ms"`
	QuietP99    float64 `json:"quiet_p99_ms"`
	QuietN      int     `json:"quiet_n"`
	DeltaN      int     `json:"delta_n"`
	DeltaP50    float64 `json:"delta_p50_ms"`
	DeltaP99    float64 `json:"delta_p99_ms"`
	Fetches     int     `json:"fetches"`
	P50ms       float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Bytes       int64   `json:"bytes"`
	RSSKiB      int64   `json:"rss_kib"`
	HWMKiB      int64   `json:"hwm_kib"`
	Computes    int     `json:"computes"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	LastCompute float64 `json:"last_compute_ms"`
}

// loadChild is the server process of the load run.
func loadChild(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if p := os.Getenv("MEDIAGATE_LOAD_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	keys, err := pki.Load(dir)
	if err != nil {
		return err
	}
	var srv *server.Server
	db := filepath.Join(dir, "office.db")
	if b, err := os.ReadFile(filepath.Join(dir, "db")); err == nil {
		db = string(b)
	}
	local, err := service.OpenLocal(ctx, db, service.LocalOptions{Create: true, Actor: audit.Actor{UID: 0, User: "root"},
		Service: service.Config{Changed: func(ctx context.Context) { srv.Changed(ctx) }}})
	if err != nil {
		return err
	}
	defer local.Close()
	var mu sync.Mutex
	var durs, deltas []time.Duration
	var ends []time.Time
	var total int64
	srv, err = server.New(server.Config{Service: local.Service, Office: keys, MaxConns: 8192,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ObserveFetch: func(d time.Duration, n int) {
			mu.Lock()
			durs = append(durs, d)
			if n < 16<<10 { // a delta (a whole document is hundreds of KB)
				deltas = append(deltas, d)
			}
			ends = append(ends, time.Now())
			total += int64(n)
			mu.Unlock()
		}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr")); err != nil {
		return err
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	// The answers of the quiet phase (one host at a time, after the marker file).
	var quiet []time.Duration
	if b, err := os.ReadFile(filepath.Join(dir, "quiet-from")); err == nil {
		if from, err := time.Parse(time.RFC3339Nano, string(b)); err == nil {
			for i, e := range ends {
				if e.After(from) {
					quiet = append(quiet, durs[i])
				}
			}
		}
	}
	slices.Sort(quiet)
	if len(quiet) > 0 {
		q := func(p float64) float64 { return float64(quiet[min(len(quiet)-1, int(p*float64(len(quiet))))]) / 1e6 }
		childQuiet = [3]float64{q(0.5), q(0.99), float64(len(quiet))}
	}
	slices.Sort(durs)
	pct := func(p float64) float64 {
		if len(durs) == 0 {
			return 0
		}
		return float64(durs[min(len(durs)-1, int(p*float64(len(durs))))]) / 1e6
	}
	st := childStats{Fetches: len(durs), P50ms: pct(0.50), P99: pct(0.99), Bytes: total,
		QuietP50: childQuiet[0], QuietP99: childQuiet[1], QuietN: int(childQuiet[2])}
	slices.Sort(deltas)
	if len(deltas) > 0 {
		q := func(p float64) float64 { return float64(deltas[min(len(deltas)-1, int(p*float64(len(deltas))))]) / 1e6 }
		st.DeltaN, st.DeltaP50, st.DeltaP99 = len(deltas), q(0.5), q(0.99)
	}
	if len(durs) > 0 {
		st.MaxMs = float64(durs[len(durs)-1]) / 1e6
	}
	st.RSSKiB, st.HWMKiB = procStatus("VmRSS:"), procStatus("VmHWM:")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		st.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
	}
	runs, last, _ := srv.Stats()
	st.Computes, st.LastCompute = runs, float64(last)/1e6
	b, _ := json.Marshal(st)
	return os.WriteFile(filepath.Join(dir, "stats.json"), b, 0o600)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// loadHost is one simulated enrolled host.
type loadHost struct {
	number string
	client *http.Client
	mu     sync.Mutex
	ver    uint64
	got    map[uint64]time.Time
	sizes  []int
}

func (h *loadHost) version() uint64 { h.mu.Lock(); defer h.mu.Unlock(); return h.ver }

// poll long-polls until ctx ends, recording when each version arrived.
func (h *loadHost) poll(ctx context.Context, base string) {
	for ctx.Err() == nil {
		// A host that holds a version takes deltas (delta=1), as the follower does.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s?after=%d&wait=60&delta=%d", base, wire.PathPolicy, h.version(),
			min(h.version(), 1)), nil)
		resp, err := h.client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		// A real host reads, verifies and stores the whole envelope on its own CPU;
		// the simulated one takes the version from the start and reads the rest
		// through a small buffer, so that the load generator, which shares the two
		// cores with the server, costs as little as it can.
		head := make([]byte, 2048)
		n, _ := io.ReadFull(resp.Body, head)
		rest, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		at := time.Now()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		v := envelopeVersion(head[:n])
		h.mu.Lock()
		if v > h.ver {
			h.ver = v
			h.got[v] = at
			h.sizes = append(h.sizes, n+int(rest))
		}
		h.mu.Unlock()
	}
}

// envelopeVersion reads the version from the start of the payload or delta.
func envelopeVersion(env []byte) uint64 {
	key := `"payload":"`
	i := bytes.Index(env, []byte(key))
	if i < 0 {
		key = `"delta":"`
		i = bytes.Index(env, []byte(key))
	}
	if i < 0 {
		return 0
	}
	head := env[i+len(key):]
	head = head[:min(len(head), 400)]
	head = head[:len(head)/4*4]
	raw, _ := base64.StdEncoding.DecodeString(string(head))
	j := bytes.Index(raw, []byte(`"version":`))
	if j < 0 {
		return 0
	}
	rest := raw[j+len(`"version":`):]
	k := bytes.IndexByte(rest, ',')
	if k < 0 {
		return 0
	}
	n, _ := strconv.ParseUint(string(rest[:k]), 10, 64)
	return n
}

func TestOfficeLoad(t *testing.T) {
	if os.Getenv("MEDIAGATE_OFFICE_LOAD") != "1" {
		t.Skip("set MEDIAGATE_OFFICE_LOAD=1 (scripts/bench-office.sh) for the load run")
	}
	nHosts, nMedia := envInt("MEDIAGATE_LOAD_HOSTS", 1000), envInt("MEDIAGATE_LOAD_MEDIA", 100000)
	nShared, rounds := envInt("MEDIAGATE_LOAD_SHARED", 1000), envInt("MEDIAGATE_LOAD_ROUNDS", 5)
	ctx := context.Background()
	dir := t.TempDir()
	// MEDIAGATE_LOAD_PG names a PostgreSQL server (scripts/bench-office.sh --pg): the
	// register is a new database there instead of the SQLite file.
	db := filepath.Join(dir, "office.db")
	engine := "SQLite"
	if server := os.Getenv("MEDIAGATE_LOAD_PG"); server != "" {
		name, dsn, err := registry.CreateDatabase(ctx, server, "mg_load")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := registry.DropDatabase(context.Background(), server, name); err != nil {
				t.Errorf("drop load database: %v", err)
			}
		})
		db, engine = dsn, "PostgreSQL"
		if err := os.WriteFile(filepath.Join(dir, "db"), []byte(dsn), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := pki.Init(pki.InitOptions{Dir: dir, Name: "localhost", Addrs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	local, err := service.OpenLocal(ctx, db, service.LocalOptions{Create: true, Actor: audit.Actor{UID: 0, User: "root"}})
	if err != nil {
		t.Fatal(err)
	}
	offDir := filepath.Join(dir, "officer")
	os.MkdirAll(offDir, 0o700)
	certPEM, keyPEM, serial, err := ca.IssueOfficer("bench", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(offDir, "officer.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(offDir, "officer.key"), keyPEM, 0o600)
	os.WriteFile(filepath.Join(offDir, "ca.crt"), ca.PEM, 0o600)
	if _, err := local.AddOfficer(ctx, "bench", serial); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := local.AddPerson(ctx, media.Person{Handle: fmt.Sprintf("p%03d", i), Name: fmt.Sprintf("Person %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	levelOf := func(i int) media.Level {
		switch i % 10 {
		case 0:
			return media.TopSecret
		case 1, 2:
			return media.Confidential
		}
		return media.Secret
	}
	tokens := make([]string, nHosts)
	for i := range nHosts {
		res, err := local.AddOfficeHost(ctx, service.AddHostRequest{Number: fmt.Sprintf("HOST-%04d", i), Level: levelOf(i),
			Department: fmt.Sprintf("dept-%03d", i/10)})
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = res.Token
	}
	var sharedNumbers []string
	for i := range nMedia {
		serial := fmt.Sprintf("LOAD%08dX%04d", i, i%9973)
		id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + serial, Serial: serial, VendorID: "0781", ProductID: "5567"}
		r := service.RegisterRequest{Identity: id, Level: media.Confidential, Custodian: fmt.Sprintf("p%03d", i%200)}
		if i >= nShared {
			d := i % max(1, nHosts/10)
			for k := range 10 {
				if h := d*10 + k; h < nHosts {
					r.AllowedHosts = append(r.AllowedHosts, fmt.Sprintf("HOST-%04d", h))
				}
			}
			if i%3 == 0 {
				r.Level = media.Secret
			}
		}
		res, err := local.Register(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if i < nShared {
			sharedNumbers = append(sharedNumbers, res.Medium.Number)
		}
	}
	local.Close()
	regDone := time.Now()
	t.Logf("register (%s): %d hosts, %d media (%d office-wide) in %v", engine, nHosts, nMedia, nShared, time.Since(start).Round(time.Millisecond))

	// After a change the server reads the media changed since its previous look, less
	// a minute's margin: media registered by the hundred per second just before would
	// all be read again at every change, which an office does not do. The server
	// starts once the registrations are older than the margin.
	if d := time.Until(regDone.Add(61 * time.Second)); d > 0 {
		t.Logf("waiting %v for the registrations to be older than the server's re-read margin", d.Round(time.Second))
		time.Sleep(d)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "MEDIAGATE_LOAD_CHILD="+dir)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if child.ProcessState == nil {
			child.Process.Kill()
			child.Wait()
		}
	}()
	var addr string
	for range 600 {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			addr = string(b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if addr == "" {
		t.Fatal("server did not start")
	}
	base := "https://" + addr

	// Enrol every host (real CSR, real mutual TLS afterwards).
	start = time.Now()
	hosts := make([]*loadHost, nHosts)
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, nHosts)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}}}
			for i := range work {
				num := fmt.Sprintf("HOST-%04d", i)
				csr, key, _ := pki.MakeCSR(num)
				b, _ := json.Marshal(wire.EnrollRequest{Token: tokens[i], Host: num, CSR: string(csr)})
				resp, err := anon.Post(base+wire.PathEnroll, "application/json", bytes.NewReader(b))
				if err != nil {
					errs <- err
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var er wire.EnrollResponse
				if resp.StatusCode != 200 || json.Unmarshal(body, &er) != nil {
					errs <- fmt.Errorf("enrol %s: %d %s", num, resp.StatusCode, body)
					continue
				}
				kp, _ := pki.KeyPEM(key)
				cert, err := tls.X509KeyPair([]byte(er.Certificate), kp)
				if err != nil {
					errs <- err
					continue
				}
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13},
					MaxIdleConnsPerHost: 1, DisableCompression: true}
				hosts[i] = &loadHost{number: num, client: &http.Client{Transport: tr}, got: map[uint64]time.Time{}}
			}
		}()
	}
	for i := range nHosts {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("enrolment: %d hosts in %v", nHosts, time.Since(start).Round(time.Millisecond))

	pollCtx, stopPoll := context.WithCancel(ctx)
	start = time.Now()
	for _, h := range hosts {
		go h.poll(pollCtx, base)
	}
	waitAll := func(min func(*loadHost) uint64, limit time.Duration) bool {
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			done := true
			for _, h := range hosts {
				if h.version() < min(h) {
					done = false
					break
				}
			}
			if done {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	if !waitAll(func(*loadHost) uint64 { return 1 }, 10*time.Minute) {
		t.Fatal("not every host got its first policy")
	}
	t.Logf("first policy on all %d hosts (%d concurrent fetches) in %v", nHosts, nHosts, time.Since(start).Round(time.Millisecond))
	var sizes []int
	for _, h := range hosts {
		sizes = append(sizes, h.sizes...)
	}
	slices.Sort(sizes)
	t.Logf("policy envelope size: median %d bytes, largest %d bytes", sizes[len(sizes)/2], sizes[len(sizes)-1])

	officer, err := remote.New(base, remote.Files{CA: filepath.Join(offDir, "ca.crt"), Cert: filepath.Join(offDir, "officer.crt"),
		Key: filepath.Join(offDir, "officer.key")})
	if err != nil {
		t.Fatal(err)
	}
	var spreads []time.Duration
	for r := range rounds {
		before := map[*loadHost]uint64{}
		for _, h := range hosts {
			before[h] = h.version()
		}
		number := sharedNumbers[r%len(sharedNumbers)]
		t0 := time.Now()
		if _, err := officer.SetStatus(ctx, service.StatusRequest{Number: number, Change: service.ChangeLost, Note: "load run"}); err != nil {
			t.Fatal(err)
		}
		if !waitAll(func(h *loadHost) uint64 { return before[h] + 1 }, 5*time.Minute) {
			t.Fatalf("round %d: not every host got the loss of %s", r, number)
		}
		var last time.Time
		for _, h := range hosts {
			h.mu.Lock()
			for v, at := range h.got {
				if v > before[h] && at.After(last) {
					last = at
				}
			}
			h.mu.Unlock()
		}
		spreads = append(spreads, last.Sub(t0))
		t.Logf("round %d: media lost %s reached all %d hosts in %v", r, number, nHosts, last.Sub(t0).Round(time.Millisecond))
	}
	stopPoll()
	// The quiet phase: hosts fetch their policy one at a time (a host starting up,
	// after=0), nothing else going on.
	os.WriteFile(filepath.Join(dir, "quiet-from"), []byte(time.Now().Format(time.RFC3339Nano)), 0o600)
	for i := range min(200, len(hosts)) {
		resp, err := hosts[i*len(hosts)/min(200, len(hosts))].client.Get(base + wire.PathPolicy + "?after=0&wait=0")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
	var st childStats
	b, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &st)
	slices.Sort(spreads)
	var later []int
	for _, h := range hosts {
		if len(h.sizes) > 1 {
			later = append(later, h.sizes[1:]...)
		}
	}
	slices.Sort(later)
	fmt.Printf("office load (%s): %d hosts, %d media (%d office-wide, the rest limited to 10 hosts each)\n", engine, nHosts, nMedia, nShared)
	if len(later) > 0 {
		fmt.Printf("policy answers after a change (deltas): median %d bytes, largest %d bytes\n", later[len(later)/2], later[len(later)-1])
	}
	fmt.Printf("policy envelope: median %d bytes, largest %d bytes\n", sizes[len(sizes)/2], sizes[len(sizes)-1])
	fmt.Printf("policy fetch server-side, one host at a time (%d fetches): p50 %.1f ms, p99 %.1f ms\n", st.QuietN, st.QuietP50, st.QuietP99)
	fmt.Printf("delta answers server-side, every host woken at once (%d): p50 %.1f ms, p99 %.1f ms\n", st.DeltaN, st.DeltaP50, st.DeltaP99)
	fmt.Printf("policy fetch server-side, all answers incl. every host woken at once (%d): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", st.Fetches, st.P50ms, st.P99, st.MaxMs)
	fmt.Printf("media lost → all %d hosts hold the new policy: median %v, worst %v (%d rounds)\n", nHosts,
		spreads[len(spreads)/2].Round(time.Millisecond), spreads[len(spreads)-1].Round(time.Millisecond), len(spreads))
	fmt.Printf("policy compute after a change: %.0f ms (%d computes)\n", st.LastCompute, st.Computes)
	fmt.Printf("server RSS at the end %d MiB, peak %d MiB\n", st.RSSKiB/1024, st.HWMKiB/1024)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("CPU time: server %.0f s, load generator (the simulated hosts, same 2 cores) %.0f s\n", st.CPUSeconds, tv(ru.Utime)+tv(ru.Stime))
}
