//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// brokerProc is a "riffle broker" process with a data directory, which the
// test stops and starts again on the same port and directory.
type brokerProc struct {
	t    *testing.T
	args []string // everything but -port
	port string

	mu struct {
		sync.Mutex
		cmd    *exec.Cmd
		done   chan struct{} // closed when the process exited
		stderr *bytes.Buffer
		err    error // the exit error, once done
	}
}

// startPersistentBroker runs "riffle broker -data-dir" on a free port and
// returns the cluster's clients; the broker is stopped (SIGTERM) at cleanup.
func startPersistentBroker(t *testing.T, dataDir string, syncWrites bool) (*cluster, *brokerProc) {
	t.Helper()
	b := &brokerProc{t: t, port: "0", args: []string{"-data-dir", dataDir, "-partitions", fmt.Sprint(partitions),
		"-topics", strings.Join([]string{inputT, outputT, deadT}, ",")}}
	if syncWrites {
		b.args = append(b.args, "-sync-writes")
	}
	addr := b.launch()
	_, b.port, _ = strings.Cut(addr, ":")
	t.Cleanup(func() {
		if err := b.stop(syscall.SIGTERM); err != nil {
			t.Errorf("riffle broker: %v\n%s", err, b.stderr())
		}
	})
	return connect(t, addr, partitions), b
}

// launch starts the process on b.port and returns the address it printed.
func (b *brokerProc) launch() string {
	b.t.Helper()
	cmd := exec.Command(bins.riffle, append([]string{"broker", "-port", b.port}, b.args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	done := make(chan struct{})
	b.mu.Lock()
	b.mu.cmd, b.mu.done, b.mu.stderr, b.mu.err = cmd, done, stderr, nil
	b.mu.Unlock()
	line, readErr := bufio.NewReader(stdout).ReadString('\n')
	// Wait reads nothing more from stdout; it returns once the process
	// exited and its stderr was copied.
	go func() {
		err := cmd.Wait()
		b.mu.Lock()
		b.mu.err = err
		b.mu.Unlock()
		close(done)
	}()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "brokers=")
	if readErr != nil || !ok {
		_ = cmd.Process.Kill()
		<-done
		b.t.Fatalf("riffle broker printed %q (%v)\n%s", line, readErr, b.stderr())
	}
	return addr
}

// stop signals the process and waits for it to exit; the exit error of a
// SIGKILL is expected and not returned.
func (b *brokerProc) stop(sig syscall.Signal) error {
	b.mu.Lock()
	cmd, done := b.mu.cmd, b.mu.done
	b.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not stop within 60 s of %v", sig)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.cmd = nil
	if sig == syscall.SIGKILL {
		return nil
	}
	return b.mu.err
}

// restart stops the broker with sig and starts it again on the same port
// and directory; it returns how long the broker was away.
func (b *brokerProc) restart(sig syscall.Signal) time.Duration {
	b.t.Helper()
	began := time.Now()
	if err := b.stop(sig); err != nil {
		b.t.Errorf("riffle broker stopped with %v\n%s", err, b.stderr())
	}
	b.launch()
	return time.Since(began)
}

func (b *brokerProc) stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.stderr == nil {
		return ""
	}
	return b.mu.stderr.String()
}

// supervisor restarts workers that exit by themselves, as a service manager
// would, and counts the exits, until stop is called.
type supervisor struct {
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	exits []string // written by the supervisor's goroutine, read after done
}

func supervise(t *testing.T, ws []*worker) *supervisor {
	s := &supervisor{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond) // polling interval
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
			for _, w := range ws {
				if ok, err := w.exited(); ok {
					s.exits = append(s.exits, fmt.Sprintf("%s: %v", w.id, err))
					t.Logf("%s: worker %s exited (%v); restarted", time.Now().Format("15:04:05.000"), w.id, err)
					w.start()
				}
			}
		}
	}()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *supervisor) stop() []string {
	s.once.Do(func() { close(s.stopc) })
	<-s.done
	return s.exits
}

// Scenario: two processes of one group run on a "riffle broker" with a data
// directory, and the broker process is stopped and started again on the
// same port and directory, several times while records flow: with SIGTERM
// (it writes its state out), and with SIGKILL (with -sync-writes, every
// acknowledged batch is on disk; without it, what the kernel got survives
// a process kill anyway). Nothing may be lost and every key's outputs
// must stay in order; duplicates are counted.
// Workers whose processor fails while the broker is away are restarted, as
// a service manager would, and counted.
func TestBrokerRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sig        syscall.Signal
		syncWrites bool
		full       bool // only in the full suite
	}{
		{name: "sigterm", sig: syscall.SIGTERM},
		{name: "kill9-sync", sig: syscall.SIGKILL, syncWrites: true},
		{name: "kill9-nosync", sig: syscall.SIGKILL, full: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.full && short() {
				t.Skip("full suite only")
			}
			t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
			spec := inputSpec{keys: 320, perKey: size(24, 150), duration: size(18*time.Second, 75*time.Second)}
			restarts := size(2, 4)
			c, b := startPersistentBroker(t, t.TempDir(), tc.syncWrites)
			// -kgo-log: the producers' own account of retries and sequence
			// resets is in the workers' logs, which a failure prints.
			ws := []*worker{c.startWorker(t, "a", workerArgs(1, "-kgo-log")...), c.startWorker(t, "b", workerArgs(2, "-kgo-log")...)}
			sup := supervise(t, ws)
			total := spec.total()
			var downs []time.Duration
			start := time.Now()
			// ws is not passed to produce and waitCommitted: a worker that
			// exits is the supervisor's to restart, not a failure.
			c.produce(t, spec, nil, func(written int) {
				if len(downs) < restarts && written >= (len(downs)+1)*total/(restarts+1) {
					d := b.restart(tc.sig)
					downs = append(downs, d)
					t.Logf("%s: broker restarted with %v, away %s", time.Since(start).Round(time.Millisecond), tc.sig, d.Round(time.Millisecond))
				}
			})
			c.waitCommitted(t, group, inputT, 3*time.Minute)
			took := time.Since(start)
			exits := sup.stop()
			r := c.check(t, spec, nil)
			logResult(t, "broker-restart-"+tc.name, spec, fmt.Sprintf("%d broker restarts with %v (away %v), %d worker exits", len(downs), tc.sig, downs, len(exits)), r)
			t.Logf("finished in %s; worker exits: %q", took.Round(time.Millisecond), exits)
			// Duplicates are expected (counted, not asserted): records in
			// flight when the broker died are processed again.
			r.assertClean(t)
			if r.reordered > 0 {
				c.dumpFirstReordered(t, r)
			}
			if t.Failed() || r.reordered > 0 {
				for _, w := range ws {
					t.Logf("worker %s log:\n%s", w.id, tail(w.log(), 6000))
				}
			}
			if len(downs) != restarts {
				t.Errorf("%d broker restarts, want %d", len(downs), restarts)
			}
		})
	}
}

// dumpFirstReordered logs every output of the first key the oracle found out
// of order, with its coordinates, writer and timestamp, for the diagnosis.
func (c *cluster) dumpFirstReordered(t *testing.T, r *result) {
	t.Helper()
	var key string
	for _, p := range r.problems {
		if k, _, ok := strings.Cut(strings.TrimPrefix(p, "key "), ":"); ok && strings.HasPrefix(p, "key ") {
			key = k
			break
		}
	}
	if key == "" {
		return
	}
	var b strings.Builder
	for _, rec := range c.readToEnd(t, outputT, 60*time.Second) {
		if string(rec.Key) != key {
			continue
		}
		var m out
		if err := json.Unmarshal(rec.Value, &m); err != nil {
			continue
		}
		fmt.Fprintf(&b, "  %d@%d seq=%d prev=%d worker=%s at %s\n", rec.Partition, rec.Offset, m.S, m.Prev, m.Worker, rec.Timestamp.Format("15:04:05.000"))
	}
	t.Logf("outputs of %s:\n%s", key, b.String())
}
