package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSendInEachUsersLanguage(t *testing.T) {
	run := t.TempDir()
	for _, uid := range []string{"1000", "1001", "1002", "120", "nobody"} {
		os.MkdirAll(filepath.Join(run, uid), 0o755)
		if uid != "1002" { // 1002 has no session bus
			os.WriteFile(filepath.Join(run, uid, "bus"), nil, 0o600)
		}
	}
	names := map[int]string{1000: "alice", 1001: "wang", 1002: "bob", 120: "gdm"}
	var sent []string
	s := &Sender{
		RunUser:   run,
		UserName:  func(uid int) (string, error) { return names[uid], nil },
		Available: func() bool { return true },
		Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
			if name == "systemctl" {
				if slices.Contains(args, "--machine=wang@") {
					return []byte("HOME=/home/wang\nLANG=zh_CN.UTF-8\n"), nil
				}
				return []byte("LANG=en_GB.UTF-8\n"), nil
			}
			sent = append(sent, name+" "+strings.Join(args, " "))
			return nil, nil
		},
	}
	if err := s.Send(context.Background(), [2]string{"Blocked: unregistered medium", "已阻止：未登记的介质"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"systemd-run --user --machine=alice@ --quiet --collect notify-send --app-name=mediagate --urgency=critical -- mediagate Blocked: unregistered medium",
		"systemd-run --user --machine=wang@ --quiet --collect notify-send --app-name=mediagate --urgency=critical -- mediagate 介质管控 已阻止：未登记的介质",
	}
	if !slices.Equal(sent, want) {
		t.Errorf("sent\n%q\nwant\n%q", sent, want)
	}
}

func TestSendWithoutNotifySendDoesNothing(t *testing.T) {
	run := t.TempDir()
	os.MkdirAll(filepath.Join(run, "1000"), 0o755)
	os.WriteFile(filepath.Join(run, "1000", "bus"), nil, 0o600)
	called := false
	s := &Sender{RunUser: run, Available: func() bool { return false },
		UserName: func(int) (string, error) { return "alice", nil },
		Run:      func(context.Context, string, ...string) ([]byte, error) { called = true; return nil, nil }}
	if err := s.Send(context.Background(), [2]string{"a", "b"}); err != nil || called {
		t.Errorf("Send without notify-send: %v, ran a command: %v", err, called)
	}
}

func TestSendReportsFailures(t *testing.T) {
	run := t.TempDir()
	os.MkdirAll(filepath.Join(run, "1000"), 0o755)
	os.WriteFile(filepath.Join(run, "1000", "bus"), nil, 0o600)
	s := &Sender{RunUser: run, Available: func() bool { return true },
		UserName: func(int) (string, error) { return "alice", nil },
		Run: func(_ context.Context, name string, _ ...string) ([]byte, error) {
			return nil, errors.New("no notification daemon")
		}}
	if err := s.Send(context.Background(), [2]string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "alice") {
		t.Errorf("Send = %v; want an error naming alice", err)
	}
}

// Without a desktop session the programs are not looked for: a host without one pays
// nothing on a blocked plug.
func TestSendWithoutSessionsLooksForNothing(t *testing.T) {
	looked := false
	s := &Sender{RunUser: t.TempDir(), Available: func() bool { looked = true; return true },
		UserName: func(int) (string, error) { return "alice", nil },
		Run:      func(context.Context, string, ...string) ([]byte, error) { t.Error("ran a command"); return nil, nil }}
	if err := s.Send(context.Background(), [2]string{"a", "b"}); err != nil || looked {
		t.Errorf("Send without sessions: %v, looked for the programs: %v", err, looked)
	}
}
