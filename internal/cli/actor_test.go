package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"mediagate/internal/daemonrun"
)

// fakeProc writes <root>/<pid>/{status,loginuid} for this process.
func fakeProc(t *testing.T, loginuid string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	status := "Name:\tmediagate\nUid:\t" + strconv.Itoa(os.Getuid()) + "\t0\t0\t0\n"
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loginuid"), []byte(loginuid), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCurrentActorFromKernel(t *testing.T) {
	other := os.Getuid() + 4242
	for _, tc := range []struct {
		name, loginuid, want string
	}{
		{"login uid unset (a service)", "4294967295", ""},
		{"logged in as the same user", strconv.Itoa(os.Getuid()), ""},
		{"another person logged in behind it (sudo, su)", strconv.Itoa(other), daemonrun.UserName(other)},
		{"garbage", "bob", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := CurrentActor(fakeProc(t, tc.loginuid))
			if a.UID != os.Getuid() || a.Login != tc.want {
				t.Errorf("actor %+v, want uid %d login %q", a, os.Getuid(), tc.want)
			}
		})
	}
}

// TestActorNotFromEnvironment: SUDO_USER is set by whoever runs the command, so a row's
// actor never comes from it.
func TestActorNotFromEnvironment(t *testing.T) {
	db, socket := filepath.Join(t.TempDir(), "m.db"), testPaths(t).Socket
	getenv := func(k string) string {
		switch k {
		case "MEDIAGATE_DB":
			return db
		case "MEDIAGATE_SOCKET":
			return socket
		case "SUDO_USER":
			return "wangwu"
		}
		return ""
	}
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), append(emptyRoots(t), args...), &out, &errb, getenv); code != 0 {
			t.Fatalf("mediagate %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	createRegister(t, db)
	run("person", "add", "zhangsan", "--name", "张三")
	var events []struct {
		Actor struct {
			UID   int    `json:"uid"`
			Login string `json:"login"`
		} `json:"actor"`
	}
	if err := json.Unmarshal([]byte(run("--json", "log")), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no audit rows")
	}
	want := CurrentActor("/proc")
	for _, e := range events {
		if e.Actor.Login == "wangwu" || e.Actor.Login != want.Login || e.Actor.UID != os.Getuid() {
			t.Errorf("actor %+v, want the kernel's %+v", e.Actor, want)
		}
	}
}
