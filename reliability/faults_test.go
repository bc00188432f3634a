//go:build reliability

package reliability

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// deadLetter is a record of the dead-letter topic, with the headers the
// adapter adds.
type deadLetter struct {
	rec     *kgo.Record
	headers map[string]string
	from    coord // riffle.partition, riffle.offset
}

func (c *cluster) deadLetters(t *testing.T) []deadLetter {
	t.Helper()
	var out []deadLetter
	for _, r := range c.readToEnd(t, deadT, 60*time.Second) {
		d := deadLetter{rec: r, headers: map[string]string{}}
		for _, h := range r.Headers {
			d.headers[h.Key] = string(h.Value)
		}
		p, err1 := strconv.Atoi(d.headers[gokaadapter.HeaderPartition])
		o, err2 := strconv.ParseInt(d.headers[gokaadapter.HeaderOffset], 10, 64)
		if err1 != nil || err2 != nil || d.headers[gokaadapter.HeaderTopic] != inputT || d.headers[gokaadapter.HeaderError] == "" {
			t.Errorf("dead letter %d@%d without its coordinates or error: %v", r.Partition, r.Offset, d.headers)
		}
		d.from = coord{int32(p), o}
		out = append(out, d)
	}
	return out
}

// Scenario 3: the remote call fails transiently on 20% of calls and never
// answers on 1% (until the 300 ms call timeout). Up to 3 attempts, then the
// record is dead-lettered. Every record is processed or dead-lettered with
// the reason in headers, nothing else is lost, and the attempts match the
// policy.
func TestRemoteFaults(t *testing.T) {
	const (
		errorRate, timeoutRate = 0.20, 0.01
		maxAttempts            = 3
	)
	spec := inputSpec{keys: 320, perKey: size(32, 150), duration: size(15*time.Second, 60*time.Second)}
	c := setup(t)
	args := func(seed int) []string {
		return workerArgs(seed, "-error-rate", fmt.Sprint(errorRate), "-timeout-rate", fmt.Sprint(timeoutRate),
			"-attempts", fmt.Sprint(maxAttempts), "-call-timeout", "300ms", "-policy", "dead-letter")
	}
	ws := []*worker{c.startWorker(t, "a", args(1)...), c.startWorker(t, "b", args(2)...)}
	p := c.produce(t, spec, ws, nil)
	c.waitCommitted(t, group, inputT, 2*time.Minute, ws...)

	skipped := map[string]bool{}
	reasons := map[string]int{}
	for _, d := range c.deadLetters(t) {
		var m in
		if err := json.Unmarshal(d.rec.Value, &m); err != nil {
			t.Errorf("dead letter %d@%d: value %q: %v", d.rec.Partition, d.rec.Offset, d.rec.Value, err)
			continue
		}
		id := fmt.Sprintf("%s#%d", m.K, m.S)
		skipped[id] = true
		if want := p.good[id]; d.from != want {
			t.Errorf("dead letter of %s names %v, the record is at %v", id, d.from, want)
		}
		if a := d.headers[gokaadapter.HeaderAttempts]; a != strconv.Itoa(maxAttempts) {
			t.Errorf("dead letter of %s after %s attempts, want %d: %v", id, a, maxAttempts, d.headers)
		}
		reasons[reasonClass(d.headers[gokaadapter.HeaderError])]++
	}
	r := c.check(t, spec, skipped)
	retried := len(skipped)
	for a, n := range r.attempts {
		if a > maxAttempts {
			t.Errorf("%d outputs after %d attempts, more than the policy's %d", n, a, maxAttempts)
		}
		if a > 1 {
			retried += n
		}
	}
	n := float64(spec.total())
	q := errorRate + timeoutRate
	logResult(t, "faults", spec, fmt.Sprintf("%.0f%% transient errors, %.0f%% timeouts; %d attempts then dead letter", errorRate*100, timeoutRate*100, maxAttempts), r)
	t.Logf("dead-lettered %d (expected about %.0f), by reason %v; records retried at least once %d (expected about %.0f)",
		len(skipped), n*q*q*q, reasons, retried, n*q)
	r.assertClean(t)
	// Loose binomial bounds (several standard deviations): the attempts
	// follow the policy and the injected rates.
	if lo, hi := n*q*q*q/3, n*q*q*q*3; float64(len(skipped)) < lo || float64(len(skipped)) > hi {
		t.Errorf("dead-lettered %d records, want between %.0f and %.0f", len(skipped), lo, hi)
	}
	if lo, hi := n*q*0.8, n*q*1.2; float64(retried) < lo || float64(retried) > hi {
		t.Errorf("%d records needed a retry, want between %.0f and %.0f", retried, lo, hi)
	}
}

var reasonRE = regexp.MustCompile(`(?i)(transient|deadline exceeded|context canceled|timeout)`)

// reasonClass shortens a dead letter's error header to its kind.
func reasonClass(s string) string {
	if m := reasonRE.FindString(s); m != "" {
		return strings.ToLower(m)
	}
	return s
}

// Scenario 4: 2% of the records cannot be decoded. They reach the
// dead-letter topic with the error and their coordinates; everything else
// is processed as in scenario 1, with SIGKILLs.
func TestBadInput(t *testing.T) {
	spec := inputSpec{keys: 320, perKey: size(32, 150), duration: size(18*time.Second, 90*time.Second), badEvery: 50}
	c := setup(t)
	args := func(seed int) []string { return workerArgs(seed, "-policy", "dead-letter") }
	ws := []*worker{c.startWorker(t, "a", args(1)...), c.startWorker(t, "b", args(2)...), c.startWorker(t, "c", args(3)...)}
	k := startKiller(t, 7, size(7*time.Second, 10*time.Second), ws)
	p := c.produce(t, spec, ws, nil)
	kills := k.stop()
	c.waitCommitted(t, group, inputT, 3*time.Minute, ws...)

	found := map[coord]int{}
	for _, d := range c.deadLetters(t) {
		key, bad := p.bad[d.from]
		switch {
		case !bad:
			t.Errorf("dead letter of a decodable record at %v: %v", d.from, d.headers)
		case key != string(d.rec.Key):
			t.Errorf("dead letter of %v has key %q, the record had %q", d.from, d.rec.Key, key)
		case !strings.Contains(d.headers[gokaadapter.HeaderError], "decode"):
			t.Errorf("dead letter of %v: error %q does not say it could not be decoded", d.from, d.headers[gokaadapter.HeaderError])
		}
		found[d.from]++
	}
	missing, dupDead := 0, 0
	for at := range p.bad {
		if found[at] == 0 {
			missing++
		}
		dupDead += max(0, found[at]-1)
	}
	r := c.check(t, spec, nil)
	logResult(t, "badinput", spec, fmt.Sprintf("%d undecodable records (2%%), %d SIGKILLs", len(p.bad), kills), r)
	t.Logf("undecodable records dead-lettered: %d of %d (%d dead-lettered twice after a kill)", len(p.bad)-missing, len(p.bad), dupDead)
	if missing > 0 {
		t.Errorf("%d undecodable records are not in the dead-letter topic", missing)
	}
	r.assertClean(t)
}

var lateRE = regexp.MustCompile(`late-slow-calls=(\d+)`)

// Scenario 5: 1% of the calls take 3 s and ignore cancellation, far beyond
// the 500 ms drain deadline. The partitions are revoked twice while such
// calls run (a second process joins, then the first one leaves). The
// abandoned work is not committed (the new owner processes it: nothing is
// lost) and its late effects are never written.
func TestSlowDrain(t *testing.T) {
	spec := inputSpec{keys: 320, perKey: size(32, 100), duration: size(20*time.Second, 60*time.Second)}
	c := setup(t)
	a := c.startWorker(t, "a", workerArgs(1, "-slow", "3s", "-slow-rate", "0.01", "-drain", "500ms")...)
	var b *worker
	total := spec.total()
	stopped := false
	var stopTook time.Duration
	c.produce(t, spec, []*worker{a}, func(written int) {
		switch {
		case b == nil && written >= total/3:
			b = c.startWorker(t, "b", workerArgs(2, "-drain", "500ms")...)
		case !stopped && written >= 2*total/3:
			stopped = true
			start := time.Now()
			if err := a.stop(syscall.SIGTERM, 60*time.Second); err != nil {
				t.Errorf("worker a stopped with %v\n%s", err, tail(a.log(), 4000))
			}
			stopTook = time.Since(start)
		}
	})
	c.waitCommitted(t, group, inputT, 2*time.Minute, b)
	r := c.check(t, spec, nil)
	late := 0
	for _, m := range lateRE.FindAllStringSubmatch(a.log(), -1) {
		n, _ := strconv.Atoi(m[1])
		late += n
	}
	logResult(t, "slowdrain", spec, "1% of calls 3 s ignoring cancellation, drain 500 ms, 2 revocations", r)
	t.Logf("worker a: %d slow calls returned after their partition was revoked; SIGTERM to exit took %s", late, stopTook.Round(time.Millisecond))
	r.assertClean(t)
	if late == 0 {
		t.Errorf("no slow call outlived a revocation: the scenario did not exercise abandonment")
	}
	if r.workers["b"] == 0 {
		t.Errorf("the new owner wrote no outputs")
	}
}
