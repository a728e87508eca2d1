package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestPostgresStartsAndAlwaysStops runs lib.sh's throw-away PostgreSQL cluster the
// way scripts/test.sh does — started, then the script fails — and checks that the
// server answered while it ran and that the EXIT trap stopped it and removed its
// directory. It needs Debian's postgresql package (scripts/test.sh installs it).
func TestTestPostgresStartsAndAlwaysStops(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	initdb, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	psql, err := exec.LookPath("psql")
	if len(initdb) == 0 || err != nil {
		t.Skip("PostgreSQL not installed (scripts/test.sh installs Debian's postgresql)")
	}
	out := filepath.Join(t.TempDir(), "dir")
	script := `set -euo pipefail
. ./lib.sh
ensure_apt() { :; }  # installed already; never apt-get from a test
trap stop_test_postgres EXIT
start_test_postgres
echo "$MEDIAGATE_PG_DIR" >"$1"
"$2" -X -A -t -c 'SELECT 40 + 2' "$MEDIAGATE_PG_DSN"
false  # the tests failed
`
	cmd := exec.Command("bash", "-c", script, "bash", out, psql)
	got, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("script: %v, want exit 1\n%s", err, got)
	}
	if !strings.Contains(string(got), "\n42\n") {
		t.Errorf("the test cluster did not answer:\n%s", got)
	}
	b, err := os.ReadFile(out)
	dir := strings.TrimSpace(string(b))
	if err != nil || !strings.HasPrefix(dir, "/tmp/mediagate-pg.") {
		t.Fatalf("cluster directory %q, %v", dir, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s left behind: %v", dir, err)
	}
	if pids, _ := exec.Command("pgrep", "-f", "postgres -D "+dir).Output(); len(pids) > 0 {
		t.Errorf("a server of %s still runs: %s", dir, pids)
	}
}
