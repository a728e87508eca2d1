package regindex

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/registry"
)

// The decision path's register reads at scale: a real registry (SQLite file, WAL)
// holding 1,000,000 media fills the index, and the daemon's reads go to the index.
// Runs only with -bench:
//
//	go test -run '^$' -bench Index1M -benchtime 200000x ./internal/regindex/
//
// Besides ns/op each sub-benchmark reports the p50 and p99 of single operations.

const benchMedia = 1_000_000

func benchKey(i int) string { return fmt.Sprintf("usb:0781:5567:BENCH%08d", i) }

// fillRegister builds the register: host, one custodian, n media written straight
// into the media table in one transaction (Register would chain n audit rows too).
func fillRegister(b *testing.B, path string, n int) *registry.Store {
	ctx := context.Background()
	s, err := registry.Open(ctx, path, registry.WithActor(audit.Actor{UID: 0, User: "root"}))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.InitHost(ctx, media.Host{Number: "BENCH-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "alice", Name: "Alice", Department: "Dept"}); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var custID string
	if err := db.QueryRowContext(ctx, `SELECT id FROM people WHERE handle = 'alice'`).Scan(&custID); err != nil {
		b.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO media (id, number, kind, identity_key, serial, vendor_id, product_id,
		capacity, interface_classes, level, custodian_id, department, status, access, created, updated)
		VALUES (?, ?, 'usb-disk', ?, ?, '0781', '5567', 31914983424, '[8]', ?, ?, 'Dept', 'active', 'rw', ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range n {
		if _, err := st.ExecContext(ctx, registry.NewID(), fmt.Sprintf("B-%08d", i), benchKey(i), fmt.Sprintf("BENCH%08d", i), i%4, custID, now, now); err != nil {
			b.Fatalf("insert medium %d: %v", i, err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkIndex1M(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	s := fillRegister(b, filepath.Join(b.TempDir(), "reg.db"), benchMedia)
	defer s.Close()
	b.Logf("register with %d media built in %s", benchMedia, time.Since(start).Round(time.Millisecond))

	src := &Registry{Store: s}
	x := New(src)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	if err := x.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if x.Len() != benchMedia {
		b.Fatalf("index holds %d media, want %d", x.Len(), benchMedia)
	}
	b.Logf("index filled from the register in %s; heap %.0f MB for %d media", load.Round(time.Millisecond),
		float64(after.HeapAlloc-before.HeapAlloc)/1e6, x.Len())

	b.Run("MediumByIdentity/registered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = benchKey(rng.IntN(benchMedia))
		}
		lat := make([]time.Duration, 0, b.N)
		i := 0
		for b.Loop() {
			key := keys[i%len(keys)]
			i++
			t0 := time.Now()
			m, ok := x.MediumByIdentity(key)
			lat = append(lat, time.Since(t0))
			if !ok || m.Identity.Key != key {
				b.Fatalf("lookup %s: %v, %q", key, ok, m.Identity.Key)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("MediumByIdentity/unregistered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = benchKey(benchMedia + rng.IntN(benchMedia))
		}
		lat := make([]time.Duration, 0, b.N)
		i := 0
		for b.Loop() {
			key := keys[i%len(keys)]
			i++
			t0 := time.Now()
			_, ok := x.MediumByIdentity(key)
			lat = append(lat, time.Since(t0))
			if ok {
				b.Fatalf("unregistered %s found", key)
			}
		}
		reportLatency(b, lat)
	})
	// What one decision reads: host profile, medium, custodian.
	b.Run("DecisionReads/registered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = benchKey(rng.IntN(benchMedia))
		}
		lat := make([]time.Duration, 0, b.N)
		i := 0
		for b.Loop() {
			key := keys[i%len(keys)]
			i++
			t0 := time.Now()
			_, hok := x.Host()
			m, mok := x.MediumByIdentity(key)
			_, pok := x.Person(m.Custodian)
			lat = append(lat, time.Since(t0))
			if !hok || !mok || !pok {
				b.Fatalf("decision reads %s: host %v, medium %v, custodian %v", key, hok, mok, pok)
			}
		}
		reportLatency(b, lat)
	})
	// The check before every event: did a register row arrive in the audit log since
	// the last load? (One indexed query on the store; nothing changed here.)
	b.Run("Fresh/unchanged", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		before := x.cur.Load()
		for b.Loop() {
			t0 := time.Now()
			err := x.Fresh(ctx)
			lat = append(lat, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
		}
		if x.cur.Load() != before {
			b.Fatalf("the index was reloaded without a change")
		}
		reportLatency(b, lat)
	})
}

// reportLatency adds the p50 and p99 of the measured single operations to the result.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.5) - 1 // nearest rank
		i = max(0, min(i, len(lat)-1))
		return float64(lat[i].Nanoseconds())
	}
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}
