package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// LockPath is the file lock that serialises installs across processes.
const LockPath = "/tmp/riffle-apt.lock"

// Installation is where redis-server is, and what Install did to get it.
type Installation struct {
	Path    string        // the redis-server binary
	Version string        // e.g. "7.0.15"
	Took    time.Duration // time this call spent installing; 0 if it was there already
	Updated bool          // this call ran apt-get update (the first install failed)
}

// installed caches the outcome of Install for this process: redis-server
// being installed is a fact about the machine, not a setting.
var installed struct {
	sync.Mutex
	inst *Installation
}

// Install finds redis-server, installing it with apt-get if it is missing.
// It holds LockPath while it looks and installs, so that parallel test
// binaries install once. ctx bounds the wait for the lock and the install.
func Install(ctx context.Context) (Installation, error) {
	installed.Lock()
	defer installed.Unlock()
	if installed.inst != nil {
		return *installed.inst, nil
	}
	inst, err := install(ctx)
	if err != nil {
		return Installation{}, err
	}
	cached := inst
	cached.Took, cached.Updated = 0, false // later calls find it installed
	installed.inst = &cached
	return inst, nil
}

func install(ctx context.Context) (Installation, error) {
	if p, ok := lookPath(); ok {
		return describe(ctx, p, 0)
	}
	unlock, err := lockFile(ctx, LockPath)
	if err != nil {
		return Installation{}, fmt.Errorf("redistest: taking %s: %w", LockPath, err)
	}
	defer unlock()
	// Another process may have installed it while we waited for the lock.
	if p, ok := lookPath(); ok {
		return describe(ctx, p, 0)
	}
	start := time.Now()
	updated, err := aptInstall(ctx)
	if err != nil {
		return Installation{}, err
	}
	p, ok := lookPath()
	if !ok {
		return Installation{}, errors.New("redistest: apt-get installed redis-server, but no redis-server binary was found in PATH or /usr/bin")
	}
	inst, err := describe(ctx, p, time.Since(start))
	inst.Updated = updated
	return inst, err
}

func lookPath() (string, bool) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, true
	}
	const debianPath = "/usr/bin/redis-server"
	if fi, err := os.Stat(debianPath); err == nil && !fi.IsDir() {
		return debianPath, true
	}
	return "", false
}

// aptInstall runs apt-get install, and apt-get update then install again if
// the first install fails (a machine with no or stale package lists). It
// reports whether it ran apt-get update.
func aptInstall(ctx context.Context) (updated bool, err error) {
	installArgs := []string{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "redis-server"}
	first := runApt(ctx, installArgs...)
	if first == nil {
		return false, nil
	}
	if err := runApt(ctx, "-o", "DPkg::Lock::Timeout=300", "update"); err != nil {
		return true, fmt.Errorf("redistest: installing redis-server: %w; then: %w", first, err)
	}
	if err := runApt(ctx, installArgs...); err != nil {
		return true, fmt.Errorf("redistest: installing redis-server after apt-get update: %w", err)
	}
	return true, nil
}

func runApt(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

// describe reads the version of the redis-server at path.
func describe(ctx context.Context, path string, took time.Duration) (Installation, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return Installation{}, fmt.Errorf("redistest: %s --version: %w", path, err)
	}
	// "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=..."
	version := "unknown"
	for f := range strings.FieldsSeq(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			version = v
			break
		}
	}
	return Installation{Path: path, Version: version, Took: took}, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
