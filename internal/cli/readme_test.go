package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediagate/internal/audit"
)

var update = flag.Bool("update", false, "rewrite the README walkthrough's output from what the commands print")

const readmePath = "../../README.md"

var (
	walkthroughRE = regexp.MustCompile("(?s)<!-- walkthrough:begin -->\n```console\n(.*?)```\n<!-- walkthrough:end -->")
	uuidRE        = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hashRE        = regexp.MustCompile(`[0-9a-f]{64}`)
)

// normalize hides what differs between runs: random ids and the hashes built on them.
func normalize(s string) string {
	return hashRE.ReplaceAllString(uuidRE.ReplaceAllString(s, "<id>"), "<hash>")
}

// splitArgs splits a command line with simple double-quote support.
func splitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// TestReadmeWalkthrough runs every command of the README's walkthrough against a fresh
// registry and checks that it prints what the README shows.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughRE.FindAllSubmatchIndex(readme, -1)
	if blocks == nil {
		t.Fatal("README.md has no walkthrough block")
	}
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("CST", 8*3600)
	clock := time.Date(2026, 12, 1, 9, 30, 0, 0, time.Local)
	db := filepath.Join(t.TempDir(), "mediagate.db")
	outDir := t.TempDir()

	// The blocks run in order on one register; each is rewritten on -update.
	var cmds int
	var rewritten []string
	for _, m := range blocks {
		block := string(readme[m[2]:m[3]])
		var got strings.Builder
		lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
		for i := 0; i < len(lines); {
			line := lines[i]
			i++
			if !strings.HasPrefix(line, "$ mediagate ") {
				t.Fatalf("walkthrough line %q: expected a '$ mediagate …' command", line)
			}
			var expected []string
			for i < len(lines) && !strings.HasPrefix(lines[i], "$ ") {
				expected = append(expected, lines[i])
				i++
			}
			var out bytes.Buffer
			clock = clock.Add(time.Minute)
			now := clock
			app := &App{Out: &out, Err: &out, Now: func() time.Time { return now }, Getenv: func(k string) string {
				if k == "MEDIAGATE_DB" {
					return db
				}
				return ""
			}, Actor: audit.Actor{UID: 0, User: "root", Login: "admin"}, Paths: testPaths(t)}
			// The host has one internal SATA disk (a recorded fixture), whatever this machine has.
			args := splitArgs(strings.TrimPrefix(line, "$ mediagate "))
			for j, a := range args {
				switch {
				case j > 0 && args[j-1] == "--output":
					args[j] = filepath.Join(outDir, filepath.Base(a)) // files the walkthrough writes
				case strings.HasPrefix(a, "docs/"):
					args[j] = filepath.Join("..", "..", a) // files of the repository, from its root
				}
			}
			Run(context.Background(), app, append(fixtureFlags("internal-sata"), args...))
			cmds++
			got.WriteString(line + "\n" + out.String())
			exp := strings.Join(expected, "\n")
			if len(expected) > 0 {
				exp += "\n"
			}
			if !*update && normalize(out.String()) != normalize(exp) {
				t.Errorf("%s\n--- README shows:\n%s--- mediagate prints:\n%s", line, exp, out.String())
			}
		}
		rewritten = append(rewritten, got.String())
	}
	if cmds < 10 {
		t.Errorf("walkthrough has only %d commands", cmds)
	}
	if *update {
		var b strings.Builder
		last := 0
		for i, m := range blocks {
			b.Write(readme[last:m[2]])
			b.WriteString(rewritten[i])
			last = m[3]
		}
		b.Write(readme[last:])
		if err := os.WriteFile(readmePath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
