package gokaadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzAtLeastOnce drives the adapter with random input (keys, nil values,
// empty values, large values, undecodable values) and random behaviour of
// the callback (success, slow calls, transient failures, call timeouts,
// permanent failures, attempts that ignore their context and never return),
// under a random error policy and nil handling, stops the processor in the
// middle of the work, and runs a second one to the end. It checks:
//
//   - commit order: every offset mark that reaches sarama (below riffle's
//     commit gate) covers only records whose work was finished: their last
//     attempt returned (or was given up on), so no committed offset ever
//     passed an unfinished record;
//   - coverage: after the second run, every input offset was processed (an
//     output names it), dead-lettered (the dead-letter topic names it),
//     counted as skipped (a release hook saw it skipped), or is a tombstone
//     that goka's NilIgnore drops by design.
//
// The corpus below, one seed for each pair of error policy (skip,
// dead-letter) and nil handling (NilIgnore, NilProcess, NilDecode), runs in
// make test; `go test -run XXX -fuzz FuzzAtLeastOnce ./goka_adapter/`
// explores more.
func FuzzAtLeastOnce(f *testing.F) {
	seed := uint64(1)
	for policy := range uint8(2) {
		for nils := range uint8(3) {
			f.Add(seed, policy, nils)
			seed++
		}
	}
	f.Fuzz(func(t *testing.T, seed uint64, policy, nils uint8) {
		newFuzzRun(t, seed, policy, nils).run(t)
	})
}

// fuzzPlan is what the callback does with a record, decided by the producer
// and carried in the record's value.
type fuzzPlan string

const (
	planOK      fuzzPlan = "ok"      // returns at once
	planSlow    fuzzPlan = "slow"    // a remote call of up to 20 ms, cancellable
	planFlaky   fuzzPlan = "flaky"   // the first attempt fails, the next succeeds
	planTimeout fuzzPlan = "timeout" // the first attempt waits past its deadline
	planFail    fuzzPlan = "fail"    // every attempt fails: the error policy decides
	planHang    fuzzPlan = "hang"    // the first attempt ignores its context and never returns
)

// fuzzMsg is the value of a decodable input record. Pad makes large values.
type fuzzMsg struct {
	Key       string   `json:"k"`
	Plan      fuzzPlan `json:"p"`
	Pad       string   `json:"pad,omitempty"`
	Tombstone bool     `json:"-"` // a nil value decoded under NilDecode
}

// fuzzOut is the output of a processed record: the input it came from.
type fuzzOut struct {
	Partition int32 `json:"p"`
	Offset    int64 `json:"o"`
}

type fuzzCodec struct{}

func (fuzzCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (fuzzCodec) Decode(b []byte) (any, error) {
	if b == nil { // only under goka.NilDecode
		return fuzzMsg{Tombstone: true}, nil
	}
	var m fuzzMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("fuzzCodec: %w", err)
	}
	return m, nil
}

type fuzzOutCodec struct{}

func (fuzzOutCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (fuzzOutCodec) Decode(b []byte) (any, error) {
	var o fuzzOut
	err := json.Unmarshal(b, &o)
	return o, err
}

// inputKind is what the producer wrote, which decides the expected outcome.
type inputKind int

const (
	kindPlanned     inputKind = iota // a decodable fuzzMsg with a plan
	kindTombstone                    // a nil value
	kindEmpty                        // an empty, non-nil value (undecodable)
	kindUndecodable                  // bytes that are not JSON
)

type fuzzInput struct {
	kind inputKind
	plan fuzzPlan
	key  string
}

type tpo struct {
	partition int32
	offset    int64
}

const (
	fuzzMaxAttempts = 3
	fuzzCallTimeout = 300 * time.Millisecond
)

// fuzzRun is one scenario: its random choices and what the test saw.
type fuzzRun struct {
	seed    uint64
	rng     *rand.Rand
	policy  asyncdsl.ErrorPolicy
	nils    goka.NilHandling
	n       int // input records
	stopAt  int // successful attempts before the first processor is stopped
	group   goka.Group
	input   goka.Stream
	output  goka.Stream
	dlTopic goka.Stream

	release chan struct{} // closed at the end: hung attempts return

	mu struct {
		sync.Mutex
		inputs    map[tpo]fuzzInput
		finished  map[tpo]bool // last attempt returned, or given up on
		skipped   map[tpo]bool
		attempts  map[tpo]int // attempts of the current run
		succeeded int         // attempts that succeeded, all runs
		marks     []string    // violations of the commit order
	}
}

func newFuzzRun(t *testing.T, seed uint64, policy, nils uint8) *fuzzRun {
	r := &fuzzRun{seed: seed, rng: rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))}
	r.policy = []asyncdsl.ErrorPolicy{asyncdsl.SkipOnError, asyncdsl.DeadLetterOnError}[policy%2]
	r.nils = []goka.NilHandling{goka.NilIgnore, goka.NilProcess, goka.NilDecode}[nils%3]
	r.n = 150 + r.rng.IntN(150)
	r.stopAt = r.rng.IntN(r.n / 2)
	name := "fuzz" + strconv.FormatUint(seed, 10)
	r.group, r.input, r.output = goka.Group(name), goka.Stream(name+"-in"), goka.Stream(name+"-out")
	r.dlTopic = goka.Stream(name + "-dead")
	r.release = make(chan struct{})
	r.mu.inputs = map[tpo]fuzzInput{}
	r.mu.finished = map[tpo]bool{}
	r.mu.skipped = map[tpo]bool{}
	t.Logf("seed %d: %d records, policy %v, nil handling %d, first processor stops after %d successful attempts",
		seed, r.n, r.policy, r.nils, r.stopAt)
	return r
}

// randomInput draws one input record.
func (r *fuzzRun) randomInput() (fuzzInput, []byte) {
	key := "k" + strconv.Itoa(r.rng.IntN(12))
	switch x := r.rng.IntN(100); {
	case x < 6:
		return fuzzInput{kind: kindTombstone, key: key}, nil
	case x < 9:
		return fuzzInput{kind: kindEmpty, key: key}, []byte{}
	case x < 13:
		return fuzzInput{kind: kindUndecodable, key: key}, []byte("\xff not json " + key)
	}
	plans := []fuzzPlan{planOK, planOK, planOK, planSlow, planSlow, planFlaky, planTimeout, planFail, planHang}
	m := fuzzMsg{Key: key, Plan: plans[r.rng.IntN(len(plans))]}
	if r.rng.IntN(25) == 0 {
		m.Pad = strings.Repeat("x", 200_000+r.rng.IntN(200_000)) // large, still under the broker's limit
	}
	v, _ := json.Marshal(m)
	return fuzzInput{kind: kindPlanned, plan: m.Plan, key: key}, v
}

// callback is the user code under test. It counts its attempts itself
// (goka.Context has no attempt number).
func (r *fuzzRun) callback(ctx goka.Context, msg any) {
	at := tpo{ctx.Partition(), ctx.Offset()}
	r.mu.Lock()
	r.mu.attempts[at]++
	attempt := r.mu.attempts[at]
	r.mu.Unlock()

	m, _ := msg.(fuzzMsg) // nil under NilProcess, Tombstone under NilDecode
	switch m.Plan {
	case planSlow:
		latency(ctx, 20*time.Millisecond)
	case planFlaky:
		if attempt == 1 {
			ctx.Fail(errors.New("fuzz: transient failure"))
		}
	case planTimeout:
		if attempt == 1 {
			<-ctx.Context().Done()
			ctx.Fail(ctx.Context().Err())
		}
	case planFail:
		ctx.Fail(fmt.Errorf("fuzz: attempt %d fails", attempt))
	case planHang:
		if attempt == 1 {
			<-r.release // ignores its context
		}
	}
	ctx.Emit(r.output, ctx.Key(), fuzzOut{Partition: at.partition, Offset: at.offset})
}

// OnAttempt marks a record finished when its last attempt returned: it
// succeeded, it failed for good, or attempts are spent.
func (r *fuzzRun) OnAttempt(rec asyncdsl.Record, attempt int, _ time.Duration, err error) {
	if err == nil || attempt >= fuzzMaxAttempts || asyncdsl.IsPermanent(err) {
		r.mu.Lock()
		r.mu.finished[tpo{rec.Partition, rec.Offset}] = true
		if err == nil {
			r.mu.succeeded++
		}
		r.mu.Unlock()
	}
}

// OnRelease counts skipped records.
func (r *fuzzRun) OnRelease(rec asyncdsl.Record, o asyncdsl.Outcome, _ time.Duration) {
	if o.Status == asyncdsl.Skipped {
		r.mu.Lock()
		r.mu.skipped[tpo{rec.Partition, rec.Offset}] = true
		r.mu.Unlock()
	}
}

// checkMark is called for every offset mark that passed riffle's commit
// gate: every record of the partition below it must be finished.
func (r *fuzzRun) checkMark(topic string, partition int32, next int64) {
	if topic != string(r.input) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for at, in := range r.mu.inputs {
		if at.partition != partition || at.offset >= next || r.mu.finished[at] {
			continue
		}
		if in.kind == kindTombstone && r.nils == goka.NilIgnore {
			continue // goka drops it without a callback
		}
		r.mu.marks = append(r.mu.marks, fmt.Sprintf("mark %d of partition %d passed unfinished offset %d (%+v)", next, partition, at.offset, in))
	}
}

func (r *fuzzRun) run(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, r.input, r.output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	cl := kafkatest.Client(t, s, kgo.ProducerBatchMaxBytes(1<<20))
	t.Cleanup(func() { close(r.release) }) // before the goroutine leak check

	// The input: written before the first processor starts, so that it
	// has a backlog to be stopped in the middle of.
	for i := 0; i < r.n; i++ {
		in, value := r.randomInput()
		res := cl.ProduceSync(t.Context(), &kgo.Record{Topic: string(r.input), Key: []byte(in.key), Value: value})
		rec, err := res.First()
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
		r.mu.inputs[tpo{rec.Partition, rec.Offset}] = in
	}

	start := func() *running {
		r.mu.Lock()
		r.mu.attempts = map[tpo]int{}
		r.mu.Unlock()
		a := adapterFor(t, s,
			gokaadapter.WithConsumerGroupBuilder(markChecker(s.ConsumerGroupBuilder(), r.checkMark)),
			gokaadapter.WithDeadLetterTopic(r.dlTopic),
			gokaadapter.WithExecutor(
				asyncdsl.WithWorkers(16),
				asyncdsl.WithCallTimeout(fuzzCallTimeout),
				asyncdsl.WithDrainTimeout(fuzzCallTimeout),
				asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: fuzzMaxAttempts, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
				asyncdsl.WithErrorPolicy(r.policy),
				asyncdsl.WithSeed(int64(r.seed)),
				asyncdsl.WithHook(r),
				// Hung attempts stay stuck until the test ends: more
				// of them than the default bound, which would stop
				// the processor by design (TestStuckAttemptsOverLimitFail).
				asyncdsl.WithMaxStuck(r.n),
			),
		)
		g := goka.DefineGroup(r.group,
			a.Input(r.input, fuzzCodec{}, r.callback),
			goka.Output(r.output, fuzzOutCodec{}),
		)
		proc, err := a.NewProcessor(s.Brokers, g, goka.WithNilHandling(r.nils))
		if err != nil {
			t.Fatal(err)
		}
		return run(t, proc)
	}

	// First processor: stopped after some outputs, with work in flight.
	first := start()
	await.Until(t, 60*time.Second, "the first successful attempts", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.mu.succeeded >= r.stopAt
	})
	if err := first.stop(t); err != nil {
		t.Fatalf("first processor: %v", err)
	}

	// Second processor: runs until the group committed the whole input.
	second := start()
	waitCommitted(t, adm, string(r.group), string(r.input), endOffsets(t, adm, string(r.input)), 120*time.Second)
	if err := second.stop(t); err != nil {
		t.Fatalf("second processor: %v", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.mu.marks {
		t.Error(v)
	}
	processed := map[tpo]bool{}
	for _, rec := range consumeToEnd(t, s, adm, string(r.output), 30*time.Second) {
		var o fuzzOut
		if err := json.Unmarshal(rec.Value, &o); err != nil {
			t.Fatalf("output %q: %v", rec.Value, err)
		}
		processed[tpo{o.Partition, o.Offset}] = true
	}
	deadLettered := map[tpo]bool{}
	if r.policy == asyncdsl.DeadLetterOnError {
		for _, rec := range consumeToEnd(t, s, adm, string(r.dlTopic), 30*time.Second) {
			at, ok := deadLetterOrigin(rec)
			if !ok {
				t.Fatalf("dead letter without its origin: %v", rec.Headers)
			}
			deadLettered[at] = true
		}
	}
	var missing []string
	for at, in := range r.mu.inputs {
		switch {
		case processed[at], deadLettered[at], r.mu.skipped[at]:
		case in.kind == kindTombstone && r.nils == goka.NilIgnore:
		default:
			missing = append(missing, fmt.Sprintf("%d@%d %+v", at.partition, at.offset, in))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d inputs neither processed, dead-lettered nor skipped: %v", len(missing), len(r.mu.inputs), missing)
	}
}

// deadLetterOrigin reads the input coordinates from a dead letter's headers.
func deadLetterOrigin(rec *kgo.Record) (tpo, bool) {
	var at tpo
	var okP, okO bool
	for _, h := range rec.Headers {
		switch h.Key {
		case gokaadapter.HeaderPartition:
			p, err := strconv.ParseInt(string(h.Value), 10, 32)
			at.partition, okP = int32(p), err == nil
		case gokaadapter.HeaderOffset:
			o, err := strconv.ParseInt(string(h.Value), 10, 64)
			at.offset, okO = o, err == nil
		}
	}
	return at, okP && okO
}

// markChecker wraps a consumer group builder so that check sees every
// offset mark a session passes to sarama. The adapter wraps this builder
// with its commit gate, so check sees the marks that passed the gate: the
// ones that get committed.
func markChecker(base goka.ConsumerGroupBuilder, check func(topic string, partition int32, next int64)) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := base(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return &checkedGroup{ConsumerGroup: cg, check: check}, nil
	}
}

type checkedGroup struct {
	sarama.ConsumerGroup
	check func(string, int32, int64)
}

func (g *checkedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &checkedHandler{inner: h, check: g.check})
}

type checkedHandler struct {
	inner sarama.ConsumerGroupHandler
	check func(string, int32, int64)
}

func (h *checkedHandler) Setup(s sarama.ConsumerGroupSession) error {
	return h.inner.Setup(&checkedSession{s, h.check})
}
func (h *checkedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(&checkedSession{s, h.check})
}
func (h *checkedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	return h.inner.ConsumeClaim(&checkedSession{s, h.check}, c)
}

type checkedSession struct {
	sarama.ConsumerGroupSession
	check func(string, int32, int64)
}

func (s *checkedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.check(topic, partition, offset)
	s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
}

func (s *checkedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.check(msg.Topic, msg.Partition, msg.Offset+1)
	s.ConsumerGroupSession.MarkMessage(msg, metadata)
}
