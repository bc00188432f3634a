// Package examples_test checks what the programs under examples/ may
// import.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// internal is the import path of riffle's internal packages.
const internal = "github.com/riffle-streams/riffle/internal"

// A user copies an example's wiring into a module of their own, where
// riffle's internal packages cannot be imported. So no package under
// examples/, its tests included, imports one: examples use only the public
// packages (and goka, franz-go, OpenTelemetry and the standard library).
// Public packages may themselves use internal ones; only the examples' own
// imports are checked.
func TestExamplesImportNoInternalPackage(t *testing.T) {
	format := `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`
	// -tags jaeger: examples/tracing's Jaeger test too.
	out, err := exec.Command(goTool(t), "list", "-tags", "jaeger", "-f", format, "./...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("go list found %d packages under examples/, want at least 3:\n%s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		reported := map[string]bool{} // a test may import what the package does
		for _, imp := range f[1:] {
			if (imp == internal || strings.HasPrefix(imp, internal+"/")) && !reported[imp] {
				reported[imp] = true
				t.Errorf("%s imports %s: an example must use only riffle's public packages", f[0], imp)
			}
		}
	}
}

// goTool returns the go command that runs the test.
func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Fatal("no go command on PATH and no GOROOT")
	return ""
}
