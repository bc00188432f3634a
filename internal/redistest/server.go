package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SkipEnv is the environment variable that, set to 1, makes Start skip the
// test instead of running redis-server.
const SkipEnv = "RIFFLE_SKIP_REDIS"

// Timeouts of Start and StartServer.
const (
	// InstallTimeout bounds Install when Start calls it.
	InstallTimeout = 10 * time.Minute
	// ReadyTimeout bounds the wait for a started server to answer PING.
	ReadyTimeout = 10 * time.Second
	// StopTimeout is how long Close waits after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
)

// Server is a running redis-server child process.
type Server struct {
	// Addr is the server's host:port, on 127.0.0.1.
	Addr string
	// Installation says which redis-server runs, and whether it was
	// installed for this process.
	Installation Installation

	cmd    *exec.Cmd
	dir    string        // the server's working directory and log
	exited chan struct{} // closed once cmd.Wait returned
	once   sync.Once
	err    error // Close's result
}

// Start runs a redis-server for tb and stops it when tb ends. It skips tb
// if RIFFLE_SKIP_REDIS is 1, and fails it if the server cannot be installed
// or started.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if os.Getenv(SkipEnv) == "1" {
		tb.Skipf("redistest: %s=1", SkipEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), InstallTimeout)
	defer cancel()
	s, err := StartServer(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Installation.Took > 0 {
		how := ""
		if s.Installation.Updated {
			how = " (with apt-get update)"
		}
		tb.Logf("redistest: installed redis-server %s in %v%s", s.Installation.Version, s.Installation.Took.Round(time.Millisecond), how)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("redistest: stopping redis-server: %v", err)
		}
	})
	return s
}

// StartServer installs redis-server if needed (see Install), starts it on a
// free port of 127.0.0.1, and returns once it answers PING. The caller must
// Close it.
func StartServer(ctx context.Context) (*Server, error) {
	inst, err := Install(ctx)
	if err != nil {
		return nil, err
	}
	// A free port can be taken by someone else between our probe and the
	// server's bind: try a few.
	var errs []error
	for range 3 {
		s, err := start(ctx, inst)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func start(ctx context.Context, inst Installation) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redistest: finding a free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "riffle-redis-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	s := &Server{
		Addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Installation: inst,
		dir:          dir,
		exited:       make(chan struct{}),
	}
	s.cmd = exec.Command(inst.Path,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
	)
	s.cmd.Dir = dir
	killWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: starting %s: %w", inst.Path, err)
	}
	// The only goroutine this package starts. It ends when the process
	// exits, which Close forces and waits for.
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		log := s.log()
		_ = s.Close()
		return nil, fmt.Errorf("redistest: redis-server on %s: %w\nlog:\n%s", s.Addr, err, log)
	}
	return s, nil
}

// waitReady polls PING until it answers, the process exits, ctx ends or
// ReadyTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := Ping(ctx, s.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before answering PING: %s", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING: %w (last: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Ping sends an inline PING to addr and expects +PONG.
func Ping(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is the server's process.
func (s *Server) Process() *os.Process { return s.cmd.Process }

// Dir is the server's working directory, which holds its log (redis.log).
func (s *Server) Dir() string { return s.dir }

func (s *Server) log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(string(b), 4000)
}

// Close stops the server (SIGTERM, then SIGKILL after StopTimeout), waits for
// it to exit and removes its directory. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			t := time.NewTimer(StopTimeout)
			select {
			case <-s.exited:
			case <-t.C:
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
			t.Stop()
		}
		s.err = os.RemoveAll(s.dir)
	})
	return s.err
}
