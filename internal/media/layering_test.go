package media_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowed lists, for each package, the mediagate packages it may import directly.
// Imports flow downward: domain types at the bottom, pure logic next, adapters beside it
// (never importing policy or registry), and only daemon and cli wiring things together.
var allowed = map[string][]string{
	"cmd/mediagate": {"cli"},
	// The daemon as a small binary of its own: the daemon's wiring, no front end.
	"cmd/mediagated": {"daemonrun", "service", "sysfs"},
	"internal/media": {},
	"internal/audit": {"event"},
	// event owns the audit kinds and their typed details.
	"internal/event":  {"media"},
	"internal/policy": {"media"},
	// policydoc is the signed per-host policy of the office: daemon, cli and the
	// office server read and write it.
	"internal/policydoc": {"media"},
	// hostclient is the enrolled host's side of the office: enrolment, the mTLS
	// client, the policy cache and the follower.
	"internal/hostclient": {"media", "policydoc", "event", "audit", "carry", "anchor"},
	// carry is the file format of what an officer carries to and from a standalone
	// host (enrolment, log); hostclient writes and reads it on the host, the office
	// server on the office's side.
	"internal/carry": {"audit", "event", "policydoc"},
	// officefake is a fake office server (host endpoints only) for the host side's tests.
	"internal/officefake": {"media", "policydoc"},
	"internal/identity":   {"media", "sysfs"},
	"internal/checkin":    {"media"},
	"internal/forms":      {},
	"internal/sysfs":      {},
	"internal/control":    {},
	"internal/mountlog":   {"media", "mountwatch", "event"},
	"internal/udev":       {"sysfs"},
	"internal/enforce":    {"sysfs"},
	"internal/mountwatch": {"sysfs"},
	// The message catalogue sits above policy and below every front-end that renders
	// text: cli, daemon, notify and the office server.
	"internal/catalog":  {"media", "policy"},
	"internal/notify":   {"catalog"},
	"internal/registry": {"media", "audit", "checkin", "event"},
	// The daemon's in-memory copy of the register's decision data, filled from the
	// registry or (on an enrolled host) from the office's signed host policy.
	"internal/regindex": {"media", "registry"},
	"internal/testbed":  {},
	"scripts":           {}, // tests of the install scripts only
	"internal/e2e":      {},
	"internal/bench":    {},
	// sheet reads and writes spreadsheet files (import, export); printout renders the
	// printable register and label sheets. Neither knows the register's rules.
	"internal/sheet":    {},
	"internal/printout": {"media"},
	// The service owns the rules of the register; it works on its Store interface and
	// opens the SQLite registry only in OpenLocal, for the wiring.
	"internal/service": {"media", "audit", "policy", "identity", "checkin", "registry", "regindex", "event", "sheet"},
	// replay rebuilds the register from the log through the service's reads; anchor is
	// the office's signed acknowledgement of a chain (standard library only).
	"internal/anchor": {},
	"internal/replay": {"media", "audit", "checkin", "event", "service", "anchor"},
	// inspection writes and checks the inspection packet from the registry's
	// streaming reads (registry.InspectionReader).
	"internal/inspection": {"media", "audit", "checkin", "registry", "policydoc"},
	"internal/daemon":     {"media", "audit", "policy", "identity", "registry", "regindex", "udev", "enforce", "mountwatch", "checkin", "sysfs", "control", "mountlog", "service", "catalog", "event", "policydoc"},
	// Starts the daemon from a command line's paths: the CLI's `daemon` and mediagated.
	"internal/daemonrun": {"audit", "control", "daemon", "enforce", "identity", "mountwatch", "notify", "service", "sysfs", "udev"},
	// The office server (mediagate server): the CA, the wire types of its protocol,
	// the HTTPS server over the service, and the officer's remote client of it.
	"internal/office/pki":    {},
	"internal/office/wire":   {"media", "audit", "service", "checkin", "anchor", "event"},
	"internal/office/server": {"media", "audit", "event", "service", "policydoc", "office/pki", "office/wire", "anchor", "carry", "office/ledger"},
	"internal/office/remote": {"media", "audit", "checkin", "service", "office/wire"},
	// ledger is the office's receipt of its hosts' audit logs (its store is the
	// registry's, reached through the service's Store by a type assertion).
	"internal/office/ledger": {"audit", "anchor", "event", "registry"},
	// cli reaches the register only through the service: never registry.
	"internal/cli": {"media", "audit", "policy", "identity", "service", "udev", "enforce", "mountwatch", "checkin", "daemon", "notify", "sysfs", "control", "catalog", "event", "replay", "anchor", "policydoc", "hostclient", "sheet", "printout", "daemonrun",
		"office/pki", "office/server", "office/remote", "office/ledger", "carry", "forms", "inspection"},
}

// owners names the one package that may import each fenced-in dependency.
var owners = map[string]string{
	"github.com/jochenvg/go-udev":    "internal/udev",
	"modernc.org/sqlite":             "internal/registry",
	"github.com/jackc/pgx/v5":        "internal/registry",
	"github.com/jackc/pgx/v5/pgconn": "internal/registry",
	"github.com/jackc/pgx/v5/stdlib": "internal/registry",
	"database/sql":                   "internal/registry",
	"github.com/spf13/cobra":         "internal/cli",
	"github.com/xuri/excelize/v2":    "internal/sheet",
	"github.com/skip2/go-qrcode":     "internal/printout",
}

// TestLayering checks every package's imports (tests excluded) with go list.
func TestLayering(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "mediagate/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, "mediagate/")
		ok, known := allowed[name]
		if !known {
			t.Errorf("package %s is not in the layering table: add it with the imports it may use", name)
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if owner, fenced := owners[imp]; fenced && owner != name {
				t.Errorf("%s imports %s; only %s may", name, imp, owner)
			}
			dep, isOurs := strings.CutPrefix(imp, "mediagate/internal/")
			if !isOurs {
				if strings.HasPrefix(imp, "mediagate/") {
					t.Errorf("%s imports %s: nothing imports cmd/", name, imp)
				}
				continue
			}
			if !slices.Contains(ok, dep) {
				t.Errorf("%s imports internal/%s, which the layering does not allow", name, dep)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d packages checked", seen)
	}
}
