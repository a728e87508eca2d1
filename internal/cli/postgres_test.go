package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediagate/internal/identity"
	"mediagate/internal/registry"
	"mediagate/internal/testbed"
)

// TestCommandsOnPostgreSQL: with --db postgres://… (or MEDIAGATE_DB) the officer's
// commands work on a PostgreSQL register as on the file, and the register keeps its
// disc sample key itself (no key file appears anywhere).
func TestCommandsOnPostgreSQL(t *testing.T) {
	server := os.Getenv("MEDIAGATE_PG_DSN")
	if server == "" {
		t.Skip("PostgreSQL run skipped: MEDIAGATE_PG_DSN is not set (scripts/test.sh starts a server and sets it)")
	}
	name, dsn, err := registry.CreateDatabase(context.Background(), server, "mg_cli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := registry.DropDatabase(context.Background(), server, name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	e := newEnv(t)
	e.db = dsn
	e.setup()
	num := e.registerUSB("4C530001231120109142", "secret", "zhangsan")
	e.ok("media", "handover", num, "--to", "lisi", "--witness", "wangwu", "--note", "job change")
	if out := e.ok("--db", dsn, "media", "show", num); !strings.Contains(out, "lisi") || !strings.Contains(out, "medium.handover") {
		t.Errorf("media show on PostgreSQL:\n%s", out)
	}
	if out := e.ok("log", "--custodian", "zhangsan"); !strings.Contains(out, "medium.register") || !strings.Contains(out, "medium.handover") {
		t.Errorf("log --custodian on PostgreSQL:\n%s", out)
	}
	// Every filter of the log: by kind prefix, time, person, host and the newest N.
	var rows []struct {
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(e.ok("log", "--json", "--kind", "medium.", "--since", "2000-01-01", "--person", "wangwu",
		"--host", "HOST-01", "--limit", "1")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Kind != "medium.handover" || rows[0].Seq != 6 {
		t.Errorf("log with every filter on PostgreSQL = %+v; want the handover, row 6", rows)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "audit log intact: 6 rows") {
		t.Errorf("audit verify on PostgreSQL: %s", out)
	}

	// A disc read against the register: its sample key is made in the register.
	dev := t.TempDir()
	if err := testbed.MakeLargeISO(filepath.Join(dev, "sr0"), "PGDISC", 2, 3, 500); err != nil {
		t.Fatal(err)
	}
	roots := fixtureFlags("usb-dvd-iso")
	roots[len(roots)-1] = dev
	var devs []AttachedDevice
	if err := json.Unmarshal([]byte(e.ok(append(roots, "devices", "--json")...)), &devs); err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || !strings.HasPrefix(devs[0].Identity.Key, "disc:v2-iso9660:") {
		t.Fatalf("devices = %+v", devs)
	}
	s, err := registry.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := s.DiscKey(context.Background(), identity.DiscKeySize)
	if err != nil || len(key) != identity.DiscKeySize {
		t.Fatalf("disc key in the register: %x, %v", key, err)
	}
	f, err := os.Open(filepath.Join(dev, "sr0"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if disc, err := identity.DiscSignature(f, st.Size(), key); err != nil || disc.Key() != devs[0].Identity.Key {
		t.Errorf("the disc read with the register's key is %q (%v); devices said %q", disc.Key(), err, devs[0].Identity.Key)
	}
	if _, err := os.Stat(identity.DiscKeyPath(dsn)); !os.IsNotExist(err) {
		t.Errorf("a key file beside the URL: %v", err)
	}
}

// TestSQLiteForm: --db sqlite:PATH is the file PATH, and its disc sample key lies
// beside it, as with a plain path.
func TestSQLiteForm(t *testing.T) {
	e := newEnv(t)
	file := e.db
	e.db = "sqlite:" + file
	e.setup()
	dev := t.TempDir()
	if err := testbed.MakeLargeISO(filepath.Join(dev, "sr0"), "SQLDISC", 2, 3, 500); err != nil {
		t.Fatal(err)
	}
	roots := fixtureFlags("usb-dvd-iso")
	roots[len(roots)-1] = dev
	e.ok(append(roots, "devices", "--json")...)
	if _, err := os.Stat(file); err != nil {
		t.Errorf("register file: %v", err)
	}
	if st, err := os.Stat(identity.DiscKeyPath(file)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("disc sample key beside the file: %v, %v", st, err)
	}
	if out := e.ok("--db", file, "person", "list"); !strings.Contains(out, "zhangsan") {
		t.Errorf("the plain path does not open the same register:\n%s", out)
	}
}
