package replay_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediagate/internal/media"
	"mediagate/internal/replay"
	"mediagate/internal/service"
)

// copyDB copies a register file into a temporary directory and opens it.
func copyDB(t *testing.T, file string) *service.Local {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := service.OpenLocal(context.Background(), path, service.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestReleaseDatabasesReplay replays the register every release wrote: nothing may
// be reported, and fields a release before replay.Release leaves unexplained are
// listed as such (and none in the newest).
func TestReleaseDatabasesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "registry", "release-*.db"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no release databases: %v", err)
	}
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			l := copyDB(t, file)
			rep, err := replay.Verify(context.Background(), l, replay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken != nil {
				t.Fatalf("chain broken: %v", rep.Broken)
			}
			for _, f := range rep.Findings {
				t.Errorf("finding: %+v", f)
			}
			var old []string
			for _, u := range rep.Unverifiable {
				if u.Release != replay.Release || u.Row < 1 || u.Row > rep.Rows {
					t.Errorf("unverifiable %+v", u)
				}
				old = append(old, u.Table+"."+u.Field)
			}
			want := "host.device_pins host.lower_media number_seq.next"
			var n int
			fmt.Sscanf(filepath.Base(file), "release-%d.db", &n)
			if n >= replay.Release || i == len(files)-1 {
				want = "" // from replay.Release on, the log explains everything
			}
			if got := strings.Join(old, " "); got != want {
				t.Errorf("unverifiable = %q; want %q", got, want)
			}
			if rep.Media == 0 || rep.People == 0 || rep.Campaigns == 0 {
				t.Errorf("checked %d media, %d people, %d campaigns", rep.Media, rep.People, rep.Campaigns)
			}
			t.Logf("%d rows, unverifiable %+v", rep.Rows, rep.Unverifiable)
		})
	}
}

// TestOldReleaseUpgraded: on a register of release 1, a change of the host profile
// and a registration by this release make their fields verifiable again, and an edit
// of a field old rows do explain is caught.
func TestOldReleaseUpgraded(t *testing.T) {
	l := copyDB(t, filepath.Join("..", "..", "testdata", "registry", "release-1.db"))
	ctx := context.Background()
	h, err := l.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.LowerMedia = media.LowerRefuse
	if _, err := l.Store().InitHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	rep, err := replay.Verify(ctx, l, replay.Options{})
	if err != nil || !rep.Intact() {
		t.Fatalf("verify: %v %+v", err, rep.Findings)
	}
	for _, u := range rep.Unverifiable {
		if u.Table == "host" {
			t.Errorf("host still unverifiable after a host row of this release: %+v", u)
		}
	}
	tamper(t, l.Path(), `UPDATE media SET status = 'active' WHERE status = 'lost'`)
	rep, err = replay.Verify(ctx, l, replay.Options{})
	if err != nil || rep.Intact() || !has(rep.Findings, "media", "S-2026-0001", "status", replay.ProblemDiffers) {
		t.Errorf("edit of a release 1 register not caught: %v %+v", err, rep.Findings)
	}
}
