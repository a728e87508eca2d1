package replay_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
	"mediagate/internal/replay"
	"mediagate/internal/service"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchRegister writes a register of nMedia media (a tenth of them handed over, a
// tenth lost) and device decisions up to nEvents rows of log. The schema and the host
// id come from registry.Open; the rows are written as the register's writers write
// them (the same details types, the same chain), but in one transaction, which
// takes seconds where a million single changes take many minutes. Verify must find
// the result intact, so a writer that drifts from the real ones fails the benchmark.
// MEDIAGATE_BENCH_DB keeps the file between runs.
func benchRegister(b *testing.B, nMedia, nEvents int) string {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("MEDIAGATE_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	} else if _, err := os.Stat(path); err == nil {
		return path
	}
	l, err := service.OpenLocal(ctx, path, service.LocalOptions{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	l.Close()
	db, err := sql.Open("sqlite", path+"?_pragma=synchronous(OFF)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	var hostID string
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(tx.QueryRow(`SELECT value FROM settings WHERE key = 'host_id'`).Scan(&hostID))
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var seq int64
	prev := audit.GenesisHash
	stamp := func() string { return now.Format(audit.TimeLayout) }
	ins, err := tx.Prepare(`INSERT INTO events (seq, id, time, host_id, kind, medium, actor_uid, actor_user, actor_sudo, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	must(err)
	appendRow := func(kind event.Kind, medium string, d any) {
		b.Helper()
		must(event.Check(kind, d))
		raw, err := audit.Details(d)
		must(err)
		now = now.Add(time.Millisecond)
		e := &audit.Event{ID: fmt.Sprintf("ev-%d", seq+1), Time: now, HostID: hostID, Kind: kind, Medium: medium,
			Actor: audit.Actor{UID: 0, User: "root"}, Details: raw}
		audit.Seal(e, seq, prev)
		_, err = ins.Exec(e.Seq, e.ID, e.Time.Format(audit.TimeLayout), e.HostID, string(e.Kind), e.Medium, 0, "root", "", string(e.Details), e.PrevHash, e.Hash)
		must(err)
		seq, prev = e.Seq, e.Hash
	}
	handles := []string{"zhang", "li", "wang", "zhao", "qian", "sun", "zhou", "wu"}
	people := map[string]media.Person{}
	for _, h := range handles {
		now = now.Add(time.Millisecond)
		p := media.Person{ID: "p-" + h, Handle: h, Name: "Name " + h, Department: "office", Active: true}
		_, err := tx.Exec(`INSERT INTO people (id, handle, name, department, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Handle, p.Name, p.Department, stamp(), stamp())
		must(err)
		appendRow(event.KindPersonAdd, "", event.PersonOf(p))
		people[h] = p
	}
	now = now.Add(time.Millisecond)
	h := media.Host{ID: hostID, Number: "HOST-01", Level: media.TopSecret, Mode: media.ModeEnforce, LowerMedia: media.LowerReadOnly,
		Created: now, Updated: now}
	_, err = tx.Exec(`INSERT INTO host (singleton, id, number, level, mode, lower_media, created, updated) VALUES (1, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.Number, int(h.Level), string(h.Mode), string(h.LowerMedia), stamp(), stamp())
	must(err)
	appendRow(event.KindHostInit, "", event.HostOf(h))
	codes := []string{"U", "C", "S", "TS"}
	next := map[media.Level]int{}
	for i := range nMedia {
		now = now.Add(time.Millisecond)
		lvl := media.Level(i % 4)
		next[lvl]++
		number := fmt.Sprintf("%s-2026-%04d", codes[lvl], next[lvl])
		serial := fmt.Sprintf("BENCH%08d", i)
		id := media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + serial, Serial: serial, VendorID: "0781", ProductID: "5567",
			InterfaceClasses: []int{8}}
		cust := people[handles[i%len(handles)]]
		mid := fmt.Sprintf("m-%d", i)
		_, err := tx.Exec(`INSERT INTO media (id, number, kind, identity_key, serial, vendor_id, product_id, interface_classes, level,
			custodian_id, department, status, access, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, '[8]', ?, ?, ?, 'active', 'rw', ?, ?)`,
			mid, number, string(id.Kind), id.Key, id.Serial, id.VendorID, id.ProductID, int(lvl), cust.ID, cust.Department, stamp(), stamp())
		must(err)
		_, err = tx.Exec(`INSERT INTO numbers_used (number) VALUES (?)`, number)
		must(err)
		_, err = tx.Exec(`INSERT INTO number_seq (level, year, next) VALUES (?, 2026, ?) ON CONFLICT (level, year) DO UPDATE SET next = excluded.next`,
			int(lvl), next[lvl]+1)
		must(err)
		appendRow(event.KindMediumRegister, number, event.MediumRegister{Access: media.AccessReadWrite, Custodian: cust.Handle,
			Department: cust.Department, Identity: id, Level: lvl, MediumID: mid, NumberSeq: next[lvl], NumberYear: 2026,
			Numbered: event.NumberedPattern})
		switch i % 10 {
		case 1:
			now = now.Add(time.Millisecond)
			to, wit := people[handles[(i+1)%len(handles)]], people[handles[(i+2)%len(handles)]]
			_, err = tx.Exec(`INSERT INTO handovers (id, medium_id, from_id, to_id, witness_id, at, note) VALUES (?, ?, ?, ?, ?, ?, 'bench')`,
				"h-"+mid, mid, cust.ID, to.ID, wit.ID, stamp())
			must(err)
			_, err = tx.Exec(`UPDATE media SET custodian_id = ?, updated = ? WHERE id = ?`, to.ID, stamp(), mid)
			must(err)
			appendRow(event.KindMediumHandover, number, event.MediumHandover{Custodian: to.Handle, FromCustodian: cust.Handle,
				FromName: cust.Name, MediumID: mid, Note: "bench", ToCustodian: to.Handle, ToName: to.Name, Witness: wit.Handle, WitnessName: wit.Name})
		case 2:
			now = now.Add(time.Millisecond)
			_, err = tx.Exec(`UPDATE media SET status = 'lost', updated = ? WHERE id = ?`, stamp(), mid)
			must(err)
			appendRow(event.KindMediumLost, number, event.MediumStatus{Custodian: cust.Handle, From: media.StatusActive, MediumID: mid,
				Note: "bench", To: media.StatusLost})
		}
	}
	for int(seq) < nEvents {
		i := int(seq) % max(nMedia, 1)
		appendRow(event.KindDeviceDecision, "", event.DeviceDecision{
			Device:    event.DecisionDevice{DevPath: "/devices/pci0000:00/0000:00:14.0/usb2/2-1", Name: "2-1", Label: "SanDisk Cruzer"},
			Effective: "allow", Enforce: true, Host: "HOST-01", HostLevel: "top-secret", Reason: "registered", Stage: "usb",
			Verdict: "allow", Identity: media.Identity{Kind: media.KindUSBDisk, Key: fmt.Sprintf("usb:0781:5567:BENCH%08d", i)}})
	}
	_, err = tx.Exec(`INSERT INTO event_head (singleton, seq, hash) VALUES (1, ?, ?)`, seq, prev)
	must(err)
	must(tx.Commit())
	return path
}

// BenchmarkVerify times `audit verify` (chain, replay, comparison) on a register of
// MEDIAGATE_BENCH_MEDIA media and MEDIAGATE_BENCH_EVENTS rows of log (defaults 2,000
// and 20,000; scripts/bench-verify.sh runs 100,000 and 1,000,000) and reports rows
// per second and the process's peak resident memory.
func BenchmarkVerify(b *testing.B) {
	nMedia, nEvents := envInt("MEDIAGATE_BENCH_MEDIA", 2000), envInt("MEDIAGATE_BENCH_EVENTS", 20000)
	start := time.Now()
	path := benchRegister(b, nMedia, nEvents)
	b.Logf("register of %d media, %d rows written in %v", nMedia, nEvents, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	l, err := service.OpenLocal(ctx, path, service.LocalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	runtime.GC()
	b.ReportAllocs()
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	var rep replay.Report
	for b.Loop() {
		rep, err = replay.Verify(ctx, l, replay.Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !rep.Intact() || rep.Media != nMedia {
		b.Fatalf("intact %v, %d media, findings %d", rep.Intact(), rep.Media, len(rep.Findings))
	}
	b.ReportMetric(float64(rep.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
		// CPU time says what the check costs whatever else the machine is running.
		cpu := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
		b.ReportMetric(cpu.Seconds(), "cpu-s/op")
	}
}
