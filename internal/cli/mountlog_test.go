package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"mediagate/internal/event"
	"mediagate/internal/registry"
)

// mountRow writes a mount row as the daemon does.
func (e *env) mountRow(kind event.Kind, medium string, details event.Mount) {
	e.t.Helper()
	s, err := registry.Open(context.Background(), e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.RecordEvent(context.Background(), kind, medium, details); err != nil {
		e.t.Fatal(err)
	}
}

func TestLogFiltersAndMountHistory(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.ok("media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567", "--serial", "4C530001231120109142",
		"--level", "secret", "--custodian", "zhangsan", "--number", "S-1")
	uid := 1000
	e.mountRow(event.KindMountAttach, "S-1", event.Mount{Event: "mount", MountPoint: "/media/alice/STICK",
		Host: "HOST-01", Hostname: "pc-7", User: "alice", UID: &uid, Attribution: "udisks", Custodian: "zhangsan",
		Device: event.MountDevice{Source: "/dev/sdb1", Partition: "sdb1"}})
	e.mountRow(event.KindMountDetach, "S-1", event.Mount{Event: "unmount", MountPoint: "/media/alice/STICK",
		Host: "HOST-01", Hostname: "pc-7", Attribution: "none", Custodian: "zhangsan",
		Device: event.MountDevice{Source: "/dev/sdb1"}})
	e.mountRow(event.KindMountAttach, "", event.Mount{Event: "mount", MountPoint: "/mnt/x", Host: "HOST-01", Hostname: "pc-7",
		Medium: "unregistered", Attribution: "none"})

	count := func(args ...string) int {
		t.Helper()
		var rows []json.RawMessage
		if err := json.Unmarshal([]byte(e.ok(append([]string{"log", "--json"}, args...)...)), &rows); err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--kind", "mount."}, 3},
		{[]string{"--kind", "mount.", "--person", "alice"}, 1},
		{[]string{"--kind", "mount.", "--custodian", "zhangsan"}, 2},
		{[]string{"--custodian", "zhangsan"}, 3}, // the registration too
		{[]string{"--custodian", "lisi"}, 0},
		{[]string{"--person", "officer"}, count("--kind", "medium.") + count("--kind", "person.") + count("--kind", "host.")}, // the actor of every CLI change
		{[]string{"--kind", "mount.", "--host", "pc-7"}, 3},
		{[]string{"--kind", "mount.", "--host", "HOST-01"}, 3},
		{[]string{"--medium", "S-1", "--person", "alice"}, 1},
	} {
		if got := count(c.args...); got != c.want {
			t.Errorf("log %v: %d rows, want %d", c.args, got, c.want)
		}
	}
	// A filter naming what the register does not know is an error, not an empty log.
	for _, args := range [][]string{{"--host", "OTHER"}, {"--person", "nobody"}, {"--custodian", "nobody"}, {"--medium", "S-404"},
		{"--kind", "medium.registr"}, {"--kind", "nosuch."}} {
		if _, errs, code := e.run(append([]string{"log"}, args...)...); code != ExitUsage || !strings.Contains(errs, "no such one") {
			t.Errorf("log %v: exit %d, %q; want %d", args, code, errs, ExitUsage)
		}
	}
	if _, errs, code := e.run("media", "list", "--custodian", "nobody"); code != ExitUsage {
		t.Errorf("media list --custodian nobody: exit %d, %q; want %d", code, errs, ExitUsage)
	}
	csv := e.ok("log", "--csv", "--person", "alice")
	if !strings.Contains(csv, "mount.attach") || strings.Count(csv, "\n") != 2 {
		t.Errorf("csv:\n%s", csv)
	}
	show := e.ok("media", "show", "S-1")
	for _, want := range []string{"Mount history", "/media/alice/STICK", "alice", "udisks", "unmounted", "/dev/sdb1"} {
		if !strings.Contains(show, want) {
			t.Errorf("media show lacks %q:\n%s", want, show)
		}
	}
	if zh := e.ok("--lang", "zh", "media", "show", "S-1"); !strings.Contains(zh, "挂载记录") || !strings.Contains(zh, "卸载") {
		t.Errorf("zh media show:\n%s", zh)
	}
}
