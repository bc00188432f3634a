package depcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/riffle-streams/riffle/"

// Packages that only tests, examples and tools may link.
const (
	kfake  = "github.com/twmb/franz-go/pkg/kfake" // the embedded cluster's broker
	kadm   = "github.com/twmb/franz-go/pkg/kadm"  // franz-go's admin client
	broker = "github.com/riffle-streams/riffle/broker"
)

// TestLibraryDependencies checks, with go list -deps, that no library
// package links the embedded cluster, and that only the packages that
// create topics (kafka, and dsl through it) link franz-go's admin client.
// Every user binary links what these packages link.
func TestLibraryDependencies(t *testing.T) {
	goCmd := goCommand(t)
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"kafka", []string{kfake, broker}},
		{"dsl", []string{kfake, broker}},
		{"goka_adapter", []string{kfake, broker, kadm}},
		{"asyncdsl", []string{kfake, broker, kadm}},
		{"stores", []string{kfake, broker, kadm}},
		{"tracing", []string{kfake, broker, kadm}},
		{"codec", []string{kfake, broker, kadm}},
		{"clusterflags", []string{kfake, broker}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(goCmd, "list", "-deps", module+tc.pkg)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", tc.pkg, err, stderr.String())
			}
			deps := strings.Fields(stdout.String())
			if !slices.Contains(deps, module+tc.pkg) {
				t.Fatalf("go list -deps %s does not list the package itself:\n%s", tc.pkg, stdout.String())
			}
			for _, f := range tc.forbidden {
				if slices.Contains(deps, f) {
					t.Errorf("%s links %s", tc.pkg, f)
				}
			}
		})
	}
}

// TestCodecIsALeaf checks that package codec imports no other package of
// the module: dsl and stores both import it, and so may any package later.
func TestCodecIsALeaf(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(goCommand(t), "list", "-deps", module+"codec")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list -deps codec: %v\n%s", err, stderr.String())
	}
	for _, d := range strings.Fields(stdout.String()) {
		if strings.HasPrefix(d, module) && d != module+"codec" {
			t.Errorf("codec imports %s", d)
		}
	}
}

// TestRootImportsOnlyTheStandardLibrary checks that package riffle (the
// module's root: ConfigError) imports the standard library only: every
// package of the module imports it, asyncdsl and stores included, which
// otherwise depend on no other package of the module.
func TestRootImportsOnlyTheStandardLibrary(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(goCommand(t), "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", strings.TrimSuffix(module, "/"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list -deps riffle: %v\n%s", err, stderr.String())
	}
	for _, d := range strings.Fields(stdout.String()) {
		if d != strings.TrimSuffix(module, "/") {
			t.Errorf("riffle imports %s", d)
		}
	}
}

// goCommand returns the go command that runs the test.
func goCommand(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Fatal("no go command on PATH and no GOROOT")
	return ""
}
