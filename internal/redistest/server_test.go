package redistest_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The server answers, runs the installed version, and is gone (process
// reaped, port closed, directory removed) after Close.
func TestStartAndClose(t *testing.T) {
	s := redistest.Start(t)
	t.Logf("redis-server %s at %s (%s)", s.Installation.Version, s.Addr, s.Installation.Path)
	if s.Installation.Version == "" || s.Installation.Version == "unknown" {
		t.Errorf("version = %q", s.Installation.Version)
	}
	pid := s.Process().Pid
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Reaped: the pid no longer names our child.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) after Close = %v, want ESRCH", pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := redistest.Ping(ctx, s.Addr); err == nil {
		t.Errorf("PING answered after Close")
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server dir %s still there: %v", s.Dir(), err)
	}
}

// Two servers run side by side on different ports.
func TestTwoServers(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("both on %s", a.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range []*redistest.Server{a, b} {
		if err := redistest.Ping(ctx, s.Addr); err != nil {
			t.Errorf("PING %s: %v", s.Addr, err)
		}
	}
}
