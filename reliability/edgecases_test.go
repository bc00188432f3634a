//go:build reliability

package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"go.uber.org/goleak"
)

// Scenario 8's input, besides the good records: per good record, decided
// by a seeded generator in the order the records are written.
const (
	edgeStuckRate     = 0.005 // first attempt blocks for good (the worker decides, by stuckRecord)
	edgeTombstoneRate = 0.03  // a tombstone follows
	edgeBadRate       = 0.01  // an undecodable record that the dead-letter topic accepts follows
	edgeOversizedRate = 0.003 // an undecodable record larger than the dead-letter topic accepts follows

	// deadMaxBytes is the dead-letter topic's max.message.bytes: a full
	// dead letter of an oversized record is refused, a reduced one (key
	// and headers, at most about 640 bytes) is not, unless a batch shares
	// it with larger records (docs/reliability.md, problem 4).
	deadMaxBytes = 4096
	// Oversized undecodable values are oversizedMin to oversizedMax bytes,
	// random after a short prefix, so that no producer's compression
	// brings their dead letters under deadMaxBytes.
	oversizedMin, oversizedMax = 6000, 10000
	// edgeCallTimeout is the workers' call timeout: a stuck call is given
	// up on after it plus the executor's grace (a tenth of it).
	edgeCallTimeout = 500 * time.Millisecond
)

// stuckRecord mirrors the worker's stuckRecord (reliability/worker): it
// must choose the same records.
func stuckRecord(rate float64, key string, seq int) bool {
	h := fnv.New64a()
	fmt.Fprintf(h, "stuck:%s#%d", key, seq)
	return float64(h.Sum64()%10000) < rate*10000
}

// edgeExtra returns scenario 8's spec.extra: after a record whose first
// attempt will be stuck, always a tombstone of its key, so that goka's own
// mark of the tombstone (NilIgnore) arrives while the record is unfinished;
// otherwise, by chance, a tombstone, an undecodable record, or an oversized
// undecodable one.
func edgeExtra(seed uint64) func(key string, seq int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0xed9e))
	return func(key string, seq int) [][]byte {
		var vs [][]byte
		if stuckRecord(edgeStuckRate, key, seq) || rng.Float64() < edgeTombstoneRate {
			vs = append(vs, nil)
		}
		prefix := `{"k":"` + key + `","s":` + strconv.Itoa(seq) + `,oops`
		switch x := rng.Float64(); {
		case x < edgeOversizedRate:
			v := make([]byte, oversizedMin+rng.IntN(oversizedMax-oversizedMin))
			copy(v, prefix)
			for i := len(prefix); i < len(v); i++ {
				v[i] = byte(rng.Uint32())
			}
			vs = append(vs, v)
		case x < edgeOversizedRate+edgeBadRate:
			vs = append(vs, []byte(prefix))
		}
		return vs
	}
}

var (
	blockedRE  = regexp.MustCompile(`call of (k\d+#\d+) at \d+@\d+ blocks`)
	detachedRE = regexp.MustCompile(`detached stuck call`)
	droppedRE  = regexp.MustCompile(`dropped dead letter of (\d+)@(\d+): (.*)`)
	// batchRE finds, in a refusal of franz-go's producer, the size of the
	// batch the broker measured.
	batchRE   = regexp.MustCompile(`MESSAGE_TOO_LARGE.*uncompressed_bytes=(\d+)`)
	stoppedRE = regexp.MustCompile(`worker \w+: stopped: .*stuck-calls=.* dropped=\d+`)
)

// Scenario 8: tombstones, callbacks that never return and dead letters the
// broker refuses, together, with SIGKILLs, as in scenario 4. Besides the
// good records, the input has:
//
//   - tombstones (nil values), which goka drops under its default nil
//     handling (NilIgnore) without a callback and marks itself: one right
//     behind every record whose first attempt is stuck (below), and 3% of
//     the others. They must never let a commit pass an unfinished record:
//     the oracle's "nothing lost" and "commits complete" catch that;
//   - records (0.5%) whose first attempt in a process blocks until the
//     process exits, ignoring its context (the worker's -stuck-rate). The
//     executor must give up on the call at its 500 ms timeout and retry
//     the record, which then succeeds: each such record has an output,
//     written by an attempt after the first;
//   - undecodable records (1%) and undecodable records of 6 to 10 KB
//     (0.3%), larger than the dead-letter topic's max.message.bytes
//     (4 KB). Under the dead-letter policy all reach the dead-letter topic
//     with their coordinates; the large ones only reduced (without their
//     value, with riffle.reduced and riffle.value.size), and the processor
//     does not stop. A record whose reduced dead letter was refused too
//     (released Skipped, problem 4 of docs/reliability.md) must have been
//     logged by its worker; such drops are reported, not asserted.
//
// Every stuck goroutine stays until its process exits, so the workers'
// bound on stuck goroutines is raised above what one process collects.
// Four attempts leave room, besides the stuck one and its retry, for a
// call that overruns its deadline on the loaded machine.
func TestEdgeCases(t *testing.T) {
	spec := inputSpec{keys: 320, perKey: size(32, 150), duration: size(18*time.Second, 90*time.Second), extra: edgeExtra(8)}
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
	c := startBroker(t, partitions, inputT, outputT)
	c.createTopic(t, deadT, map[string]string{"max.message.bytes": strconv.Itoa(deadMaxBytes)})
	args := func(seed int) []string {
		return workerArgs(seed, "-policy", "dead-letter", "-stuck-rate", fmt.Sprint(edgeStuckRate),
			"-call-timeout", edgeCallTimeout.String(), "-attempts", "4", "-max-stuck", "10000")
	}
	ws := []*worker{c.startWorker(t, "a", args(1)...), c.startWorker(t, "b", args(2)...), c.startWorker(t, "c", args(3)...)}
	every := size(7*time.Second, 10*time.Second)
	k := startKiller(t, 8, every, ws)
	start := time.Now()
	p := c.produce(t, spec, ws, nil)
	kills := k.stop()
	c.waitCommitted(t, group, inputT, 3*time.Minute, ws...)
	took := time.Since(start)
	// Each worker holds goroutines stuck for good: SIGTERM must still end
	// its processor within the drain deadline plus a margin (generous: the
	// machine is loaded; about 1 s was measured), and the worker prints its
	// executor's counts.
	var slowestStop time.Duration
	for _, w := range ws {
		began := time.Now()
		if err := w.stop(syscall.SIGTERM, 60*time.Second); err != nil {
			t.Errorf("worker %s stopped with %v\n%s", w.id, err, tail(w.log(), 4000))
		}
		slowestStop = max(slowestStop, time.Since(began))
	}
	if limit := drain + 10*time.Second; slowestStop > limit {
		t.Errorf("a worker took %s to exit after SIGTERM, more than the drain deadline plus 10 s (%s)", slowestStop, limit)
	}

	var logs strings.Builder
	for _, w := range ws {
		logs.WriteString(w.log())
	}
	dl := checkEdgeDeadLetters(t, c, p, logs.String())

	// Stuck calls: every record chosen was blocked (its first attempt in
	// some process), and each of its outputs comes from a later attempt:
	// the executor gave up on the blocked one and retried.
	blocked := map[string]int{}
	for _, m := range blockedRE.FindAllStringSubmatch(logs.String(), -1) {
		blocked[m[1]]++
	}
	blocks := 0
	for _, n := range blocked {
		blocks += n
	}
	detached := len(detachedRE.FindAllStringIndex(logs.String(), -1))
	chosen, firstAttemptOutputs := 0, 0
	for k := range spec.keys {
		for s := 1; s <= spec.perKey; s++ {
			key := keyName(k)
			if !stuckRecord(edgeStuckRate, key, s) {
				continue
			}
			chosen++
			if blocked[fmt.Sprintf("%s#%d", key, s)] == 0 {
				t.Errorf("the call of %s#%d, chosen to be stuck, never blocked", key, s)
			}
		}
	}
	for _, rec := range c.readToEnd(t, outputT, 60*time.Second) {
		var m out
		if err := json.Unmarshal(rec.Value, &m); err != nil {
			t.Fatalf("output %d@%d: %v", rec.Partition, rec.Offset, err)
		}
		if stuckRecord(edgeStuckRate, m.K, m.S) && m.Attempts < 2 {
			firstAttemptOutputs++
			t.Errorf("output of %s#%d, whose first attempt blocks, written by attempt %d", m.K, m.S, m.Attempts)
		}
	}

	r := c.check(t, spec, nil)
	logResult(t, "edgecases", spec, fmt.Sprintf("%d tombstones, %d stuck-first-attempt records, %d undecodable (%d larger than the dead-letter topic's %d B), %d SIGKILLs (every %s)",
		len(p.tombstones), chosen, dl.bad, dl.oversized, deadMaxBytes, kills, every), r)
	t.Logf("stuck calls: %d blocked (of %d records chosen), %d detached at the call timeout; finished in %s; slowest SIGTERM to exit %s",
		blocks, chosen, detached, took.Round(time.Millisecond), slowestStop.Round(time.Millisecond))
	t.Logf("undecodable: %d dead-lettered of %d (%d more dead letters after kills): %d in full, %d reduced (%d oversized, %d refused in a batch with an oversized one; the largest %d B); %d dropped (%d oversized): their reduced dead letters refused in batches of %d to %d B, other refusals %q",
		dl.deadLettered, dl.bad, dl.twice, dl.full, dl.reduced, dl.reducedOversized, dl.reduced-dl.reducedOversized, dl.maxReduced, dl.dropped, dl.droppedOversized, dl.dropBatchMin, dl.dropBatchMax, dl.dropOther)
	for _, m := range stoppedRE.FindAllString(logs.String(), -1) {
		t.Logf("last run: %s", m)
	}
	r.assertClean(t)
	if dl.reducedOversized == 0 || dl.oversized == 0 {
		t.Errorf("%d reduced dead letters of %d oversized records: the scenario did not exercise reduction", dl.reducedOversized, dl.oversized)
	}
	if detached == 0 || chosen == 0 {
		t.Errorf("%d stuck calls detached of %d records chosen: the scenario did not exercise detaching", detached, chosen)
	}
	if len(p.tombstones) == 0 || kills == 0 {
		t.Errorf("%d tombstones, %d SIGKILLs: the scenario did not exercise them", len(p.tombstones), kills)
	}
}

// edgeDeadLetters is what checkEdgeDeadLetters counted.
type edgeDeadLetters struct {
	bad, oversized             int      // undecodable records written; those larger than deadMaxBytes
	deadLettered               int      // undecodable records with at least one dead letter
	full                       int      // dead letters written with the record's value
	reduced, reducedOversized  int      // dead letters written reduced; those of oversized records
	maxReduced                 int      // the largest reduced dead letter's key and headers, in bytes
	twice                      int      // dead letters beyond a record's first (replays after a kill)
	dropped, droppedOversized  int      // undecodable records without a dead letter, whose drop a worker logged
	dropBatchMin, dropBatchMax int      // the sizes of the batches the dropped reduced dead letters were refused in
	dropOther                  []string // refusals of dropped reduced dead letters that do not name a batch size
}

// checkEdgeDeadLetters reads the dead-letter topic and checks it against
// the undecodable records of p: every dead letter is of an undecodable
// record (none of a tombstone or a decodable record), with its key, its
// coordinates and an error that says it could not be decoded; written in
// full (value intact) only if the record fits the topic, reduced otherwise
// (no value, its size in riffle.value.size). Every undecodable record has
// a dead letter, or a worker logged that even its reduced dead letter was
// refused (released Skipped: counted, not silently lost).
func checkEdgeDeadLetters(t *testing.T, c *cluster, p *produced, logs string) edgeDeadLetters {
	t.Helper()
	res := edgeDeadLetters{bad: len(p.bad)}
	found := map[coord]int{}
	for _, d := range c.deadLetters(t) {
		key, bad := p.bad[d.from]
		if !bad {
			what := "a decodable record"
			if _, ok := p.tombstones[d.from]; ok {
				what = "a tombstone"
			}
			t.Errorf("dead letter of %s at %v: %v", what, d.from, d.headers)
			continue
		}
		found[d.from]++
		if key != string(d.rec.Key) {
			t.Errorf("dead letter of %v has key %q, the record had %q", d.from, d.rec.Key, key)
		}
		if !strings.Contains(d.headers[gokaadapter.HeaderError], "decode") {
			t.Errorf("dead letter of %v: error %q does not say it could not be decoded", d.from, d.headers[gokaadapter.HeaderError])
		}
		size := p.badSize[d.from]
		if _, reduced := d.headers[gokaadapter.HeaderReduced]; !reduced {
			res.full++
			if size > deadMaxBytes || !bytes.HasPrefix(d.rec.Value, []byte(`{"k":"`+key)) || len(d.rec.Value) != size {
				t.Errorf("dead letter of %v written in full with a value of %d bytes, the record had %d (limit %d)", d.from, len(d.rec.Value), size, deadMaxBytes)
			}
			continue
		}
		res.reduced++
		if size > deadMaxBytes {
			res.reducedOversized++
		}
		if len(d.rec.Value) != 0 || d.headers[gokaadapter.HeaderValueSize] != strconv.Itoa(size) {
			t.Errorf("reduced dead letter of %v: value of %d bytes and %s=%q, want none and %d",
				d.from, len(d.rec.Value), gokaadapter.HeaderValueSize, d.headers[gokaadapter.HeaderValueSize], size)
		}
		n := len(d.rec.Key)
		for _, h := range d.rec.Headers {
			n += len(h.Key) + len(h.Value)
		}
		res.maxReduced = max(res.maxReduced, n)
	}
	dropped := map[coord]string{}
	for _, m := range droppedRE.FindAllStringSubmatch(logs, -1) {
		part, _ := strconv.Atoi(m[1])
		off, _ := strconv.ParseInt(m[2], 10, 64)
		dropped[coord{int32(part), off}] = m[3]
	}
	silent := 0
	for at, size := range p.badSize {
		if size > deadMaxBytes {
			res.oversized++
		}
		res.twice += max(0, found[at]-1)
		if found[at] > 0 {
			res.deadLettered++
			continue
		}
		reason, ok := dropped[at]
		if !ok {
			silent++
			continue
		}
		res.dropped++
		if size > deadMaxBytes {
			res.droppedOversized++
		}
		if m := batchRE.FindStringSubmatch(reason); m != nil {
			n, _ := strconv.Atoi(m[1])
			if res.dropBatchMin == 0 || n < res.dropBatchMin {
				res.dropBatchMin = n
			}
			res.dropBatchMax = max(res.dropBatchMax, n)
		} else {
			res.dropOther = append(res.dropOther, reason)
		}
	}
	if silent > 0 {
		t.Errorf("%d undecodable records are neither in the dead-letter topic nor logged as dropped", silent)
	}
	return res
}
