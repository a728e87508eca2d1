package replay_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	for _, file := range files {
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
			t.Logf("%d rows, unverifiable %+v", rep.Rows, rep.Unverifiable)
		})
	}
}
