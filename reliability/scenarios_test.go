//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Every scenario runs on a broker of its own ("riffle broker" process) with
// 6-partition topics, and checks the test process for leaked goroutines
// once its clients are closed.
func setup(t *testing.T) *cluster {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
	return startBroker(t, partitions, inputT, outputT, deadT)
}

// drain is the workers' drain deadline; sessionTimeout is kafka.DefaultSaramaConfig's.
const (
	drain          = 2 * time.Second
	sessionTimeout = 6 * time.Second
)

// readTimeout is the workers' sarama Net.ReadTimeout: "0" keeps riffle's
// default (kafka.DefaultSaramaConfig, sarama's 30 s). The suite found that
// shorter values (15 s, 21 s) are shorter than a
// JoinGroup can be held when a member dies during a rebalance (see
// docs/reliability.md); RIFFLE_RELIABILITY_READ_TIMEOUT=15s reproduces it.
func readTimeout() string {
	if v := os.Getenv("RIFFLE_RELIABILITY_READ_TIMEOUT"); v != "" {
		return v
	}
	return "0"
}

func workerArgs(seed int, extra ...string) []string {
	return append([]string{"-seed", fmt.Sprint(seed), "-latency", "2ms", "-drain", drain.String(),
		"-read-timeout", readTimeout()}, extra...)
}

// size returns the short or the full value.
func size[T any](shortV, fullV T) T {
	if short() {
		return shortV
	}
	return fullV
}

func logResult(t *testing.T, name string, spec inputSpec, injected string, r *result) {
	t.Helper()
	t.Logf("RESULT %s: size=%d records/%d keys, injected=%s, lost=%d, keys reordered=%d, duplicates=%d, longest stall=%s (partition %d); outputs=%d by worker %v; attempts %v; outputs of calls past their deadline %d",
		name, spec.total(), spec.keys, injected, r.lost, r.reordered, r.duplicates, r.longest.Round(time.Millisecond), r.longestPart, r.outputs, r.workers, r.attempts, r.overran)
}

// Scenario 1: three processes of one group; a random one is killed with
// SIGKILL every few seconds and restarted at once, while records flow.
func TestKill9(t *testing.T) {
	spec := inputSpec{keys: 320, perKey: size(32, 313), duration: size(24*time.Second, 150*time.Second)}
	every := 8 * time.Second // > the 6 s session timeout; see docs/reliability.md on 6 s
	c := setup(t)
	ws := []*worker{
		c.startWorker(t, "a", workerArgs(1)...),
		c.startWorker(t, "b", workerArgs(2)...),
		c.startWorker(t, "c", workerArgs(3)...),
	}
	k := startKiller(t, 42, every, ws)
	start := time.Now()
	c.produce(t, spec, ws, nil)
	kills := k.stop()
	c.waitCommitted(t, group, inputT, 3*time.Minute, ws...)
	took := time.Since(start)
	r := c.check(t, spec, nil)
	logResult(t, "kill9", spec, fmt.Sprintf("%d SIGKILLs (every %s)", kills, every), r)
	t.Logf("finished in %s", took.Round(time.Millisecond))
	r.assertClean(t)
	if kills == 0 {
		t.Errorf("no worker was killed")
	}
}

// Scenario 2: one process, then three, then one again, while records
// flow. No partition may stall longer than the session timeout plus the
// drain deadline.
func TestScaleOutIn(t *testing.T) {
	spec := inputSpec{keys: 320, perKey: size(32, 150), duration: size(24*time.Second, 90*time.Second)}
	c := setup(t)
	a := c.startWorker(t, "a", workerArgs(1)...)
	var b, d *worker
	total := spec.total()
	start := time.Now()
	c.produce(t, spec, []*worker{a}, func(written int) {
		switch {
		case b == nil && written >= total/3:
			t.Logf("%s: scale out to 3", time.Since(start).Round(time.Millisecond))
			b = c.startWorker(t, "b", workerArgs(2)...)
			d = c.startWorker(t, "c", workerArgs(3)...)
		case b != nil && d != nil && written >= 2*total/3:
			t.Logf("%s: scale in to 1", time.Since(start).Round(time.Millisecond))
			for _, w := range []*worker{b, d} {
				if err := w.stop(syscall.SIGTERM, 60*time.Second); err != nil {
					t.Errorf("worker %s stopped with %v", w.id, err)
				}
			}
			d = nil
		}
	})
	c.waitCommitted(t, group, inputT, 3*time.Minute, a)
	r := c.check(t, spec, nil)
	logResult(t, "scale", spec, "1 → 3 → 1 processes", r)
	r.assertClean(t)
	if limit := sessionTimeout + drain; r.longest > limit {
		t.Errorf("partition %d stalled %s, more than session timeout + drain deadline (%s)", r.longestPart, r.longest, limit)
	}
	if len(r.workers) < 3 {
		t.Errorf("outputs came from workers %v, want all three", r.workers)
	}
}
