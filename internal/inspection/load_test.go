package inspection_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/catalog"
	"mediagate/internal/checkin"
	"mediagate/internal/event"
	"mediagate/internal/inspection"
	"mediagate/internal/media"
	"mediagate/internal/registry"
	"mediagate/internal/service"
)

// TestInspectionLoad writes the inspection packet of a large office and prints what
// it took: time, the size of each file and the process's peak memory. It runs only
// with MEDIAGATE_INSPECTION_LOAD=1 (scripts/bench-inspection.sh). The register is
// built once and kept (MEDIAGATE_LOAD_CACHE, default ~/.cache/mediagate-inspection):
// MEDIAGATE_LOAD_MEDIA media (100,000) of 1,000 custodians in 20 departments,
// MEDIAGATE_LOAD_HOSTS hosts (100) whose logs the office collected,
// MEDIAGATE_LOAD_EVENTS rows in those logs (10,000,000): plugs and mounts of the
// media through the year, a few unregistered sticks blocked and mounts undone.
// Figures, not assertions on time.
func TestInspectionLoad(t *testing.T) {
	if os.Getenv("MEDIAGATE_INSPECTION_LOAD") != "1" {
		t.Skip("load run: set MEDIAGATE_INSPECTION_LOAD=1 (scripts/bench-inspection.sh)")
	}
	nMedia, nHosts, nEvents := envInt("MEDIAGATE_LOAD_MEDIA", 100000), envInt("MEDIAGATE_LOAD_HOSTS", 100), envInt("MEDIAGATE_LOAD_EVENTS", 10000000)
	cache := os.Getenv("MEDIAGATE_LOAD_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "mediagate-inspection")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(cache, fmt.Sprintf("office-%d-%d-%d.db", nMedia, nHosts, nEvents))
	ctx := context.Background()
	now := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	if _, err := os.Stat(db); err != nil {
		start := time.Now()
		if err := buildLoadOffice(ctx, t, db+".part", now, nMedia, nHosts, nEvents); err != nil {
			t.Fatal(err)
		}
		for _, sfx := range []string{"", "-wal", "-shm", ".disc-key"} {
			os.Rename(db+".part"+sfx, db+sfx)
		}
		fmt.Printf("built %s in %s\n", db, time.Since(start).Round(time.Second))
	} else {
		fmt.Printf("using %s (built earlier)\n", db)
	}
	if st, err := os.Stat(db); err == nil {
		fmt.Printf("register: %.2f GB\n", float64(st.Size())/1e9)
	}
	svc, err := service.OpenLocal(ctx, db, service.LocalOptions{Now: func() time.Time { return now }, Service: service.Config{Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, lang := range []string{"zh"} {
		dir := filepath.Join(t.TempDir(), "packet-"+lang)
		if err := inspection.PrepareDir(dir, false); err != nil {
			t.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		r, err := svc.CampaignReport(ctx, 2026, checkin.ByDepartment)
		if err != nil {
			t.Fatal(err)
		}
		res, err := inspection.Write(ctx, svc.Store().(inspection.Register), dir, inspection.Options{Year: 2026, Lang: lang,
			Office: "load office", Location: time.UTC, Now: now, Key: testKey, Checkin: &r,
			Translate: func(key string, args ...any) string { return catalog.T(lang, key, args...) },
			Describe:  func(e *audit.Event) (string, string) { return string(e.Kind), "" }})
		if err != nil {
			t.Fatal(err)
		}
		took, cpu := time.Since(start), cpuTime()-cpu0
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := res.Summary
		fmt.Printf("packet (%s): %d media, %d hosts, %d history rows, %d mount summaries, %d violations, %d logs verified (%d broken) in %s (CPU %s; load average %s)\n",
			lang, s.Media, s.Hosts, s.HistoryRows, s.MountRows, s.Violations, s.Chains, s.ChainsBroken, took.Round(100*time.Millisecond),
			cpu.Round(100*time.Millisecond), loadAverage())
		for _, f := range res.Files {
			fmt.Printf("  %-16s %8.1f MB\n", f.Name, float64(f.Size)/1e6)
		}
		fmt.Printf("peak RSS of the test process %d MiB; Go heap in use at the end %d MiB\n", ru.Maxrss/1024, ms.HeapInuse>>20)
		start = time.Now()
		if _, probs, err := inspection.Verify(dir, testKey.Public().(ed25519.PublicKey)); err != nil || len(probs) > 0 {
			t.Fatalf("verify: %v %v", probs, err)
		}
		fmt.Printf("report verify: %s\n", time.Since(start).Round(10*time.Millisecond))
	}
}

// cpuTime is the user and system CPU time of the process so far: on a machine
// shared with other work, the part of a wall-clock time that was this run's own.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// buildLoadOffice makes the large register: people, hosts, media through the
// service (so that the office's own log holds their registrations), the year's
// campaign, and the hosts' logs stored as the ledger stores them.
func buildLoadOffice(ctx context.Context, t *testing.T, path string, now time.Time, nMedia, nHosts, nEvents int) error {
	for _, sfx := range []string{"", "-wal", "-shm", ".disc-key"} {
		os.Remove(path + sfx)
	}
	clock := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	svc, err := service.OpenLocal(ctx, path, service.LocalOptions{Create: true, Now: func() time.Time { return clock },
		Actor: audit.Actor{UID: 0, User: "root", Login: "officer"}, Service: service.Config{Location: time.UTC}})
	if err != nil {
		return err
	}
	defer svc.Close()
	const people, depts = 1000, 20
	for i := range people {
		if _, err := svc.AddPerson(ctx, media.Person{Handle: fmt.Sprintf("p%04d", i), Name: fmt.Sprintf("Person %d", i),
			Department: fmt.Sprintf("dept-%02d", i%depts)}); err != nil {
			return err
		}
	}
	hostIDs := make([]string, nHosts)
	for i := range nHosts {
		res, err := svc.AddOfficeHost(ctx, service.AddHostRequest{Number: fmt.Sprintf("HOST-%03d", i), Level: media.Secret,
			Department: fmt.Sprintf("dept-%02d", i%depts)})
		if err != nil {
			return err
		}
		hostIDs[i] = res.Host.ID
	}
	start := time.Now()
	numbers := make([]string, nMedia)
	for i := range nMedia {
		clock = clock.Add(time.Second)
		res, err := svc.Register(ctx, service.RegisterRequest{Identity: stick(fmt.Sprintf("LD%010d", i)), Level: media.Secret,
			Custodian: fmt.Sprintf("p%04d", i%people), Number: fmt.Sprintf("S-2026-%06d", i+1)})
		if err != nil {
			return err
		}
		numbers[i] = res.Medium.Number
	}
	fmt.Printf("registered %d media in %s\n", nMedia, time.Since(start).Round(time.Second))
	clock = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < nMedia; i += 1000 {
		if _, err := svc.SetStatus(ctx, service.StatusRequest{Number: numbers[i], Change: service.ChangeLost}); err != nil {
			return err
		}
	}
	clock = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, err := svc.OpenCampaign(ctx, service.OpenCampaignRequest{Year: 2026, Deadline: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}); err != nil {
		return err
	}
	store := svc.Store().(*registry.Store)
	// The rows are stored as the ledger stores them (AppendHostLog), in batches of
	// 5,000; the indexes of migration 0009 are built once at the end rather than row
	// by row, which only makes the build faster.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	for _, ix := range loadIndexes {
		if _, err := raw.Exec(`DROP INDEX ` + ix[0]); err != nil {
			return err
		}
	}
	start = time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	perHost := nEvents / nHosts
	yearStart := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	step := now.Add(-24*time.Hour).Sub(yearStart) / time.Duration(perHost+1)
	const batch = 5000
	rows := make([]*audit.Event, 0, batch)
	for h := range nHosts {
		number := fmt.Sprintf("HOST-%03d", h)
		var head, prev audit.Head // the stored head; the last row made
		at := yearStart
		var medium string
		for i := range perHost {
			at = at.Add(step)
			var kind event.Kind
			var d any
			switch {
			case i%4 == 0:
				medium = numbers[rng.IntN(nMedia)]
				kind, d = event.KindDeviceDecision, event.DeviceDecision{Host: number, HostLevel: "secret", Verdict: "allow", Effective: "allow",
					Reason: "allowed", Stage: "usb", Enforce: true, Identity: media.Identity{Key: "usb:0781:5567:" + medium}}
			case i%4 == 1 || i%4 == 2:
				kind = event.KindMountAttach
				if i%4 == 2 {
					kind = event.KindMountDetach
				}
				d = event.Mount{Event: string(kind), Host: number, Hostname: "pc-" + number, Medium: medium, MountPoint: "/media/usb",
					FSType: "vfat", Attribution: "fanotify", Options: "rw,nosuid,nodev", Device: event.MountDevice{Source: "/dev/sdb1"}}
			case i%2000 == 3:
				kind, d = event.KindDeviceDecision, event.DeviceDecision{Host: number, HostLevel: "secret", Verdict: "block", Effective: "block",
					Reason: "unregistered", Stage: "usb", Enforce: true}
				medium = ""
			case i%20000 == 7:
				kind, d = event.KindMountViolation, event.Mount{Event: "violation", Host: number, Medium: medium, MountPoint: "/mnt"}
			default:
				kind, d = event.KindDaemonRescan, event.DaemonRescan{}
			}
			det, err := audit.Details(d)
			if err != nil {
				return err
			}
			e := &audit.Event{ID: fmt.Sprintf("%s-%d", number, i+1), Time: at, HostID: "reg-" + number, Kind: kind,
				Actor: audit.Actor{UID: 0, User: "root"}, Details: det}
			if kind != event.KindDaemonRescan {
				e.Medium = medium
			}
			audit.Seal(e, prev.Seq, prev.Hash)
			prev = audit.Head{Seq: e.Seq, Hash: e.Hash}
			rows = append(rows, e)
			if len(rows) == batch || i == perHost-1 {
				if err := store.AppendHostLog(ctx, hostIDs[h], head, rows, now); err != nil {
					return err
				}
				head = prev
				rows = rows[:0]
			}
		}
		if h%10 == 9 {
			fmt.Printf("  host logs: %d of %d hosts stored, %s\n", h+1, nHosts, time.Since(start).Round(time.Second))
		}
	}
	fmt.Printf("stored %d host log rows in %s\n", perHost*nHosts, time.Since(start).Round(time.Second))
	start = time.Now()
	for _, ix := range loadIndexes {
		if _, err := raw.Exec(`CREATE INDEX ` + ix[0] + ` ON office_host_events ` + ix[1]); err != nil {
			return err
		}
	}
	fmt.Printf("indexed them in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// loadIndexes are migration 0009's indexes, as it makes them.
var loadIndexes = [][2]string{{"office_host_events_time", "(time)"}, {"office_host_events_medium", "(medium, time)"},
	{"office_host_events_kind", "(kind, time)"}}
