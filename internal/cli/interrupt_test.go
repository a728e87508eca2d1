package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mediagate/internal/audit"
)

// TestInterruptedCommandExits130 runs `media register` with a context cancelled (as
// Ctrl-C or SIGTERM cancel main's): it exits 130 with one line, and nothing was
// registered or logged.
func TestInterruptedCommandExits130(t *testing.T) {
	e := newEnv(t)
	e.create()
	e.ok("person", "add", "zhang", "--name", "张三")
	before := e.ok("audit", "verify", "--json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	app := &App{Out: &out, Err: &errb, Now: time.Now, Actor: audit.Actor{UID: 0, User: "root"},
		Getenv: func(k string) string {
			if k == "MEDIAGATE_DB" {
				return e.db
			}
			return ""
		}}
	code := Run(ctx, app, append(emptyRoots(t), "media", "register", "--kind", "usb-disk", "--vendor", "0781", "--product", "5567",
		"--serial", "4C530001231120109142", "--level", "secret", "--custodian", "zhang"))
	if code != ExitInterrupted {
		t.Errorf("exit %d; want %d", code, ExitInterrupted)
	}
	if lines := strings.Split(strings.TrimSpace(errb.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupted") {
		t.Errorf("stderr %q; want one line saying interrupted", errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out.String())
	}
	if list := e.ok("media", "list", "--json"); strings.TrimSpace(list) != "[]" {
		t.Errorf("media registered by an interrupted command: %s", list)
	}
	if after := e.ok("audit", "verify", "--json"); after != before {
		t.Errorf("audit log changed: %s → %s", before, after)
	}
}

// TestUsageErrorsByType checks that every way cobra refuses a command line exits 2,
// and that the recognition is by type: an error that merely reads like cobra's is not a
// usage error.
func TestUsageErrorsByType(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"bogus"},                          // unknown command under the root
		{"media", "bogus"},                 // unknown sub-command of a group
		{"media", "list", "--bogus"},       // unknown flag
		{"media", "show"},                  // missing argument
		{"media", "show", "a", "b"},        // too many arguments
		{"media", "lend", "S-1"},           // required flags missing
		{"checkin", "open", "--year", "x"}, // bad flag value
		{"media", "list", "--status"},      // flag needs an argument
		{"--lang", "fr", "media", "list"},
	} {
		_, errs, code := e.run(args...)
		if code != ExitUsage {
			t.Errorf("mediagate %s: exit %d; want %d (%s)", strings.Join(args, " "), code, ExitUsage, errs)
		}
	}
	for _, msg := range []string{"unknown command", "required flag(s) x not set", "accepts 1 arg(s)"} {
		if isUsage(errors.New(msg)) {
			t.Errorf("isUsage(%q) = true: usage errors must be recognised by type", msg)
		}
	}
}

func TestSummarizeCutsByRunes(t *testing.T) {
	note := strings.Repeat("涉密介质交接说明，", 40)
	d, _ := json.Marshal(map[string]any{"note": note, "custodian": "zhang"})
	s := summarize(d)
	if !utf8.ValidString(s) {
		t.Fatalf("summary is not valid UTF-8: %q", s)
	}
	if n := utf8.RuneCountInString(s); n != 160 || !strings.HasSuffix(s, "...") {
		t.Errorf("summary of %d characters, %q; want 160 ending in ...", n, s)
	}
	short := `{"note":"短备注"}`
	if got := summarize(json.RawMessage(short)); got != "note=短备注" {
		t.Errorf("short summary %q", got)
	}
}

// TestInterruptAtConfirmation: Ctrl-C while a command waits at its confirmation prompt
// (here lowering the host's level) ends it at once with 130 and one line, and changes
// nothing. Standard input stays open and silent, as a terminal is.
func TestInterruptAtConfirmation(t *testing.T) {
	e := newEnv(t)
	e.ok("host", "init", "--number", "HOST-01", "--level", "secret")
	before := e.ok("audit", "verify", "--json")
	in, w := io.Pipe() // nobody types
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	app := &App{Out: &out, Err: &errb, In: in, Now: time.Now, Actor: audit.Actor{UID: 0, User: "root"},
		Getenv: func(k string) string {
			switch k {
			case "MEDIAGATE_DB":
				return e.db
			case "MEDIAGATE_SOCKET":
				return e.socket
			}
			return ""
		}}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, app, append(emptyRoots(t), "host", "init", "--number", "HOST-01", "--level", "confidential"))
	}()
	// Wait for the question, then interrupt.
	for i := 0; !strings.Contains(errb.String(), "[y/N]") && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Errorf("exit %d; want %d", code, ExitInterrupted)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting at the confirmation 5 s after Ctrl-C")
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr %q; want it to say interrupted", errb.String())
	}
	if after := e.ok("audit", "verify", "--json"); after != before {
		t.Errorf("audit log changed: %s → %s", before, after)
	}
	if show := e.ok("host", "show", "--json"); !strings.Contains(show, "secret") {
		t.Errorf("host level changed by an interrupted command: %s", show)
	}
}
