package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/office/pki"
	"mediagate/internal/service"
)

// BenchmarkCompute: one computation of every host's policy after a change that
// alters all of them (hosts × media from MEDIAGATE_LOAD_* as in the load run,
// smaller by default).
func BenchmarkCompute(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: dir, Name: "localhost"}); err != nil {
		b.Fatal(err)
	}
	keys, _ := pki.Load(dir)
	local, err := service.OpenLocal(ctx, filepath.Join(dir, "office.db"), service.LocalOptions{Create: true, Actor: audit.Actor{UID: 0, User: "root"}})
	if err != nil {
		b.Fatal(err)
	}
	defer local.Close()
	nHosts, nMedia := 1000, envIntInternal("MEDIAGATE_COMPUTE_MEDIA", 2000)
	local.AddPerson(ctx, media.Person{Handle: "p", Name: "P"})
	for i := range nHosts {
		if _, err := local.AddOfficeHost(ctx, service.AddHostRequest{Number: fmt.Sprintf("H%04d", i), Level: media.Secret}); err != nil {
			b.Fatal(err)
		}
	}
	var first string
	for i := range nMedia {
		s := fmt.Sprintf("BENCH%08d", i)
		r := service.RegisterRequest{Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + s, Serial: s, VendorID: "0781", ProductID: "5567"},
			Level: media.Confidential, Custodian: "p"}
		if i >= 200 {
			r.AllowedHosts = []string{fmt.Sprintf("H%04d", i%nHosts)}
		}
		res, err := local.Register(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if first == "" {
			first = res.Medium.Number
		}
	}
	book := newPolicyBook(local.Service, keys.PolicyKey, time.Now, slog.New(slog.DiscardHandler))
	if err := book.compute(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		change := service.ChangeLost
		if i%2 == 1 {
			change = service.ChangeFound
		}
		b.StopTimer()
		if _, err := local.SetStatus(ctx, service.StatusRequest{Number: first, Change: change}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := book.compute(ctx); err != nil {
			b.Fatal(err)
		}
		if book.stats.Bumped != nHosts {
			b.Fatalf("%d hosts bumped", book.stats.Bumped)
		}
	}
}

func envIntInternal(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}
