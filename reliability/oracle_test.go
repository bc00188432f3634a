//go:build reliability

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Topic and group names; every test has a broker of its own.
const (
	group      = "rel"
	inputT     = "rel-in"
	outputT    = "rel-out"
	deadT      = "rel-dead"
	tableT     = "rel-table"
	partitions = 6
)

// in and out mirror the worker's records.
type in struct {
	K string `json:"k"`
	S int    `json:"s"`
}

type out struct {
	K        string `json:"k"`
	S        int    `json:"s"`
	Prev     int64  `json:"prev"`
	Attempts int    `json:"a"`
	Worker   string `json:"w"`
	Late     bool   `json:"late"`
	Overran  bool   `json:"over"`
}

// coord is a record's place in a topic.
type coord struct {
	Partition int32
	Offset    int64
}

// inputSpec is the input of a scenario: keys k000.. with sequences
// 1..perKey, written round robin (seq 1 of every key, then seq 2, ...) at an
// even rate over duration. With badEvery > 0, an undecodable record with
// the same key follows every badEvery-th good record. With extra, the
// records whose values it returns for a good record follow that record,
// with the same key: a nil value is a tombstone.
type inputSpec struct {
	keys, perKey int
	duration     time.Duration
	badEvery     int
	extra        func(key string, seq int) [][]byte
}

func (s inputSpec) total() int { return s.keys * s.perKey }

func keyName(k int) string { return fmt.Sprintf("k%03d", k) }

// produced is what the producer wrote, with the coordinates of every record.
type produced struct {
	mu         sync.Mutex
	good       map[string]coord // "key#seq" -> coordinates
	bad        map[coord]string // coordinates -> key of undecodable records
	badSize    map[coord]int    // coordinates -> value size of undecodable records
	tombstones map[coord]string // coordinates -> key of tombstones
	errs       []error
}

// produce writes spec's records at an even pace and returns when they are
// all acknowledged. Between batches it fails the test if a worker exited by
// itself, and it calls progress(i) with the number of records written.
func (c *cluster) produce(t *testing.T, spec inputSpec, ws []*worker, progress func(written int)) *produced {
	t.Helper()
	p := &produced{good: map[string]coord{}, bad: map[coord]string{}, badSize: map[coord]int{}, tombstones: map[coord]string{}}
	var recs []*kgo.Record
	n := 0
	for s := 1; s <= spec.perKey; s++ {
		for k := 0; k < spec.keys; k++ {
			key := keyName(k)
			v, _ := json.Marshal(in{K: key, S: s})
			recs = append(recs, &kgo.Record{Topic: inputT, Key: []byte(key), Value: v})
			n++
			if spec.badEvery > 0 && n%spec.badEvery == 0 {
				recs = append(recs, &kgo.Record{Topic: inputT, Key: []byte(key),
					Value: []byte(`{"k":"` + key + `","s":` + strconv.Itoa(s) + `,oops`)})
			}
			if spec.extra != nil {
				for _, v := range spec.extra(key, s) {
					recs = append(recs, &kgo.Record{Topic: inputT, Key: []byte(key), Value: v})
				}
			}
		}
	}
	const every = 20 * time.Millisecond
	batches := max(1, int(spec.duration/every))
	per := (len(recs) + batches - 1) / batches
	tick := time.NewTicker(every) // the producer's pace
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 0; i < len(recs); i += per {
		<-tick.C
		failIfExited(t, ws...)
		for _, r := range recs[i:min(i+per, len(recs))] {
			wg.Add(1)
			c.client.Produce(t.Context(), r, func(r *kgo.Record, err error) {
				defer wg.Done()
				p.mu.Lock()
				defer p.mu.Unlock()
				if err != nil {
					p.errs = append(p.errs, err)
					return
				}
				at := coord{r.Partition, r.Offset}
				if r.Value == nil {
					p.tombstones[at] = string(r.Key)
					return
				}
				var m in
				if json.Unmarshal(r.Value, &m) != nil {
					p.bad[at] = string(r.Key)
					p.badSize[at] = len(r.Value)
					return
				}
				p.good[fmt.Sprintf("%s#%d", m.K, m.S)] = coord{r.Partition, r.Offset}
			})
		}
		if progress != nil {
			progress(min(i+per, len(recs)))
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.client.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	wg.Wait()
	if len(p.errs) > 0 {
		t.Fatalf("produce: %d errors, first %v", len(p.errs), p.errs[0])
	}
	return p
}

// result is what the oracle measured.
type result struct {
	inputs      int
	outputs     int
	lost        int // inputs neither in the output nor dead-lettered
	reordered   int // keys whose output skipped ahead or applied a record on a gap
	duplicates  int // outputs beyond the first per input
	late        int // outputs of attempts that were cancelled (abandoned work written anyway)
	overran     int // outputs of attempts that returned after their call deadline, before the executor gave up on them
	stateWrong  int // keys whose final table value is not the expected one
	longest     time.Duration
	longestPart int32
	attempts    map[int]int // successful records by the attempts of their writer
	workers     map[string]int
	problems    []string
}

func (r *result) problem(format string, args ...any) {
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

func (r *result) String() string {
	return fmt.Sprintf("inputs=%d outputs=%d lost=%d reordered-keys=%d duplicates=%d late=%d overran=%d state-wrong=%d longest-stall=%s (partition %d)",
		r.inputs, r.outputs, r.lost, r.reordered, r.duplicates, r.late, r.overran, r.stateWrong, r.longest.Round(time.Millisecond), r.longestPart)
}

// check reads the output and table topics to their ends and checks them
// against spec. skipped holds the "key#seq" of records that legitimately
// have no output (dead-lettered). Call it once the committed offsets reached
// the input's end: every committed record's writes are acknowledged then.
func (c *cluster) check(t *testing.T, spec inputSpec, skipped map[string]bool) *result {
	t.Helper()
	r := &result{inputs: spec.total(), attempts: map[int]int{}, workers: map[string]int{}}
	recs := c.readToEnd(t, outputT, 60*time.Second)
	r.outputs = len(recs)
	seen := map[string]map[int]int{}
	last := map[string]int{}
	badKeys := map[string]bool{}
	byPart := map[int32][]time.Time{}
	// noGap reports whether every seq in (from, to) is skipped legitimately.
	noGap := func(key string, from, to int) bool {
		for s := from + 1; s < to; s++ {
			if !skipped[fmt.Sprintf("%s#%d", key, s)] {
				return false
			}
		}
		return true
	}
	for _, rec := range recs {
		var m out
		if err := json.Unmarshal(rec.Value, &m); err != nil {
			t.Fatalf("output %d@%d: %v", rec.Partition, rec.Offset, err)
		}
		if seen[m.K] == nil {
			seen[m.K] = map[int]int{}
		}
		seen[m.K][m.S]++
		r.attempts[m.Attempts]++
		r.workers[m.Worker]++
		if m.Overran {
			r.overran++
		}
		if m.Late {
			r.late++
			r.problem("output of a cancelled attempt written: %+v at %d@%d", m, rec.Partition, rec.Offset)
		}
		if m.S > last[m.K]+1 && !noGap(m.K, last[m.K], m.S) {
			badKeys[m.K] = true
			r.problem("key %s: output seq %d right after %d (skipped ahead) at %d@%d", m.K, m.S, last[m.K], rec.Partition, rec.Offset)
		}
		if m.Prev < int64(m.S-1) && !noGap(m.K, int(m.Prev), m.S) {
			badKeys[m.K] = true
			r.problem("key %s: seq %d applied on state %d (a record was lost) at %d@%d", m.K, m.S, m.Prev, rec.Partition, rec.Offset)
		}
		last[m.K] = m.S
		byPart[rec.Partition] = append(byPart[rec.Partition], rec.Timestamp)
	}
	r.reordered = len(badKeys)
	for p, ts := range byPart {
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap > r.longest {
				r.longest, r.longestPart = gap, p
			}
		}
	}
	want := map[string]int64{}
	for k := 0; k < spec.keys; k++ {
		key := keyName(k)
		for s := 1; s <= spec.perKey; s++ {
			id := fmt.Sprintf("%s#%d", key, s)
			if skipped[id] {
				continue
			}
			want[key] = int64(s)
			n := seen[key][s]
			if n == 0 {
				r.lost++
				r.problem("lost: %s", id)
			}
			r.duplicates += max(0, n-1)
		}
	}
	// The group table: the last value per key must be the last sequence
	// number that was not dead-lettered.
	state := map[string]int64{}
	for _, rec := range c.readToEnd(t, tableT, 60*time.Second) {
		v, err := strconv.ParseInt(string(rec.Value), 10, 64)
		if err != nil {
			t.Fatalf("table %d@%d: %v", rec.Partition, rec.Offset, err)
		}
		state[string(rec.Key)] = v
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if state[k] != want[k] {
			r.stateWrong++
			r.problem("state of %s = %d, want %d", k, state[k], want[k])
		}
	}
	return r
}

// assertClean fails the test on any broken invariant.
func (r *result) assertClean(t *testing.T) {
	t.Helper()
	if r.lost > 0 || r.reordered > 0 || r.late > 0 || r.stateWrong > 0 || len(r.problems) > 0 {
		t.Errorf("invariants broken: %s", r)
		for _, p := range r.problems {
			t.Errorf("  %s", p)
		}
	}
}
