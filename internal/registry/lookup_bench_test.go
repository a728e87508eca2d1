package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
)

// The register at scale: a real store with 1,000,000 media, and the reads the daemon
// makes on the decision path, on each engine: the SQLite file (WAL, the pragmas of
// Open) always, PostgreSQL when MEDIAGATE_PG_DSN names a server (a database of its
// own, dropped after). Benchmarks run only with -bench, e.g.
//
//	go test -run '^$' -bench Register1M -benchtime 20000x ./internal/registry/
//
// Besides ns/op each sub-benchmark reports the p50 and p99 of single lookups.

const benchMedia = 1_000_000

func benchKey(i int) string { return fmt.Sprintf("usb:0781:5567:BENCH%08d", i) }

// fillMedia writes n active USB media for custodian in one transaction, straight into
// the media table (Register would also chain n audit rows, which a lookup never reads),
// many rows per statement: one round trip per row would measure the network, not the
// register.
func fillMedia(ctx context.Context, s *Store, n int, custodian string) error {
	var custID string
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM people WHERE handle = ?`, custodian).Scan(&custID); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const perStatement = 500
	insert := func(rows int) string {
		vals := strings.Repeat(`(?, ?, 'usb-disk', ?, ?, '0781', '5567', 31914983424, '[8]', ?, ?, 'Dept', 'active', 'rw', ?, ?), `, rows)
		return `INSERT INTO media (id, number, kind, identity_key, serial, vendor_id, product_id,
			capacity, interface_classes, level, custodian_id, department, status, access, created, updated) VALUES ` +
			strings.TrimSuffix(vals, ", ")
	}
	st, err := tx.PrepareContext(ctx, insert(perStatement))
	if err != nil {
		return err
	}
	defer st.Close()
	now := s.stamp()
	args := make([]any, 0, perStatement*8)
	for i := 0; i < n; i += perStatement {
		rows := min(perStatement, n-i)
		args = args[:0]
		for j := i; j < i+rows; j++ {
			args = append(args, NewID(), fmt.Sprintf("B-%08d", j), benchKey(j), fmt.Sprintf("BENCH%08d", j), j%4, custID, now, now)
		}
		if rows == perStatement {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert(rows), args...)
		}
		if err != nil {
			return fmt.Errorf("insert media %d…: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if s.Engine() == PostgreSQL {
		// Fresh statistics, as autovacuum would give a register that grew over time.
		_, err = s.db.ExecContext(ctx, `ANALYZE media`)
	}
	return err
}

func BenchmarkRegister1M(b *testing.B) {
	for _, e := range testEngines {
		b.Run(string(e.engine), func(b *testing.B) { benchmarkRegister1M(b, e) })
	}
}

func benchmarkRegister1M(b *testing.B, eng testEngine) {
	ctx := context.Background()
	s, err := Open(ctx, eng.dsn(b), WithActor(audit.Actor{UID: 0, User: "root"}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.InitHost(ctx, media.Host{Number: "BENCH-01", Level: media.Secret, Mode: media.ModeEnforce}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddPerson(ctx, media.Person{Handle: "alice", Name: "Alice", Department: "Dept"}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := fillMedia(ctx, s, benchMedia, "alice"); err != nil {
		b.Fatal(err)
	}
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM media`).Scan(&count); err != nil || count != benchMedia {
		b.Fatalf("register holds %d media (%v), want %d", count, err, benchMedia)
	}
	b.Logf("%s register with %d media built in %s", eng.engine, count, time.Since(start).Round(time.Millisecond))

	// A registered medium, picked at random: the lookup for an allowed stick.
	b.Run("MediumByIdentity/registered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			i := rng.IntN(benchMedia)
			t0 := time.Now()
			m, err := s.MediumByIdentity(ctx, benchKey(i))
			lat = append(lat, time.Since(t0))
			if err != nil || m.Identity.Key != benchKey(i) {
				b.Fatalf("lookup %d: %v, %q", i, err, m.Identity.Key)
			}
		}
		reportLatency(b, lat)
	})
	// An unregistered stick: the lookup that finds nothing (the daemon blocks).
	b.Run("MediumByIdentity/unregistered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			key := benchKey(benchMedia + rng.IntN(benchMedia))
			t0 := time.Now()
			_, err := s.MediumByIdentity(ctx, key)
			lat = append(lat, time.Since(t0))
			if !errors.Is(err, ErrNotFound) {
				b.Fatalf("lookup %s: err = %v, want not found", key, err)
			}
		}
		reportLatency(b, lat)
	})
	// What one decision reads today: the host profile, the medium, its custodian.
	b.Run("DecisionReads/registered", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			i := rng.IntN(benchMedia)
			t0 := time.Now()
			_, herr := s.Host(ctx)
			m, merr := s.MediumByIdentity(ctx, benchKey(i))
			var perr error
			if merr == nil {
				_, perr = s.Person(ctx, m.Custodian)
			}
			lat = append(lat, time.Since(t0))
			if herr != nil || merr != nil || perr != nil {
				b.Fatalf("decision reads %d: host %v, medium %v, custodian %v", i, herr, merr, perr)
			}
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
