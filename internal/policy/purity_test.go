package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportsOnlyMedia keeps policy pure: besides the standard library it may depend
// on mediagate/internal/media alone, and it may not import packages that do I/O.
func TestImportsOnlyMedia(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "mediagate/internal/policy" && dep != "mediagate/internal/media" {
			t.Errorf("policy depends on %s; only the standard library and mediagate/internal/media are allowed", dep)
		}
	}
	out, err = exec.Command(gobin, "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"os", "io/fs", "io/ioutil", "net", "syscall", "database/sql", "log", "math/rand", "crypto/rand", "unsafe"}
	for _, imp := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("policy imports %s, which does I/O or is not deterministic", imp)
			}
		}
	}
}

// TestNoClockReads fails when non-test code calls the wall clock.
func TestNoClockReads(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
				switch sel.Sel.Name {
				case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
					t.Errorf("%s: time.%s; policy takes the time from Input.Now", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
