// Command worker is one processor process of the reliability suite (package
// reliability). It runs one member of a goka group whose single callback is
// async (gokaadapter.Adapter.Input):
//
//   - it calls a simulated remote service of random latency, which may fail
//     or time out (stores.Injector, seeded), and calls ctx.Fail on an error,
//     so that the executor's retry and error policy apply;
//   - optionally, a share of calls is slow and ignores cancellation (-slow),
//     to outlast the drain deadline on revocation;
//   - optionally, a share of records has a first attempt that blocks for
//     good, ignoring its context (-stuck-rate): the executor must give up
//     on it at the call timeout and retry the record;
//   - its state per key is the last sequence number applied;
//   - it emits one output record {key, seq, attempts, worker, ...} per
//     successful attempt.
//
// The test process starts, kills and restarts workers and checks the output,
// the group table and the committed offsets against an oracle. The worker
// keeps goka's default nil handling (goka.NilIgnore): tombstones in the
// input reach no callback. It prints "ready" on stdout once its processor
// is ready, stops cleanly on SIGINT or SIGTERM (exit 0) and exits 1 if the
// processor fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/riffle-streams/riffle/stores"
	"github.com/twmb/franz-go/pkg/kgo"
)

// config is the worker's command line.
type config struct {
	brokers     string
	id          string
	group       string
	input       string
	output      string
	deadLetter  string
	partitions  int
	seed        uint64
	jitter      time.Duration
	errorRate   float64
	timeoutRate float64
	attempts    int
	backoff     time.Duration
	callTimeout time.Duration
	drain       time.Duration
	workers     int
	policy      string
	slow        time.Duration
	slowRate    float64
	stuckRate   float64
	maxStuck    int
	readTimeout time.Duration
	kgoLog      bool
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&c.brokers, "brokers", os.Getenv("RIFFLE_BROKERS"), "comma-separated broker addresses (default $RIFFLE_BROKERS)")
	fs.StringVar(&c.id, "id", "w", "worker name, written into every output")
	fs.StringVar(&c.group, "group", "rel", "goka group")
	fs.StringVar(&c.input, "input", "rel-in", "input topic")
	fs.StringVar(&c.output, "output", "rel-out", "output topic")
	fs.StringVar(&c.deadLetter, "dead-letter", "rel-dead", "dead-letter topic")
	fs.IntVar(&c.partitions, "partitions", 6, "partition count of the topics")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the remote call's latency and faults")
	fs.DurationVar(&c.jitter, "latency", 2*time.Millisecond, "remote call latency, uniform in [0, latency)")
	fs.Float64Var(&c.errorRate, "error-rate", 0, "share of remote calls that fail transiently")
	fs.Float64Var(&c.timeoutRate, "timeout-rate", 0, "share of remote calls that never answer (until the call timeout)")
	fs.IntVar(&c.attempts, "attempts", 1, "attempts per record (asyncdsl.Retry.MaxAttempts)")
	fs.DurationVar(&c.backoff, "backoff", 5*time.Millisecond, "initial retry backoff")
	fs.DurationVar(&c.callTimeout, "call-timeout", 5*time.Second, "per-attempt timeout")
	fs.DurationVar(&c.drain, "drain", asyncdsl.DefaultDrainTimeout, "drain timeout on revocation and close")
	fs.IntVar(&c.workers, "workers", 64, "executor workers")
	fs.StringVar(&c.policy, "policy", "fail", "error policy: fail, skip or dead-letter")
	fs.DurationVar(&c.slow, "slow", 0, "duration of slow calls, which ignore cancellation")
	fs.Float64Var(&c.slowRate, "slow-rate", 0, "share of records whose call is slow (chosen by key and seq)")
	fs.Float64Var(&c.stuckRate, "stuck-rate", 0, "share of records whose first attempt in this process blocks until the process exits, ignoring its context (chosen by key and seq)")
	fs.IntVar(&c.maxStuck, "max-stuck", 0, "goroutines that may be stuck in user code at once (asyncdsl.WithMaxStuck); 0 keeps the executor's default")
	fs.DurationVar(&c.readTimeout, "read-timeout", 0, "sarama Net.ReadTimeout; 0 keeps kafka.DefaultSaramaConfig's")
	fs.BoolVar(&c.kgoLog, "kgo-log", false, "log the franz-go producer's messages (info level) to stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.brokers == "" {
		return c, errors.New("no brokers: give -brokers or $RIFFLE_BROKERS")
	}
	return c, nil
}

func main() {
	cfg, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", cfg.id, err)
		os.Exit(1)
	}
}

// In is an input record: the Seq-th record of key K (Seq from 1).
type In struct {
	K string `json:"k"`
	S int    `json:"s"`
}

// Out is an output record: the effect of one applied input.
type Out struct {
	K        string `json:"k"`
	S        int    `json:"s"`
	Prev     int64  `json:"prev"` // the state before the record
	Attempts int    `json:"a"`    // attempts this worker made
	Worker   string `json:"w"`    // worker that applied it
	// Late: the attempt's context was cancelled (its partition revoked,
	// or the processor closing) before the effects; the executor must drop
	// them. Overran: its call deadline had passed instead: the call
	// returned late, but before the executor gave up on it, so its result
	// stands. A context reports the first of the two only, so an attempt
	// that overran its deadline and was then revoked is marked Overran.
	Late    bool `json:"late,omitempty"`
	Overran bool `json:"over,omitempty"`
}

type inCodec struct{}

func (inCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (inCodec) Decode(b []byte) (any, error) {
	var m In
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("worker: decode input: %w", err)
	}
	if m.K == "" || m.S < 1 {
		return nil, fmt.Errorf("worker: decode input: no key or sequence in %q", b)
	}
	return m, nil
}

type outCodec struct{}

func (outCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (outCodec) Decode(b []byte) (any, error) {
	var m Out
	err := json.Unmarshal(b, &m)
	return m, err
}

// attemptCounter counts the attempts of each record this process made.
// Attempts of one record run one after the other, on any worker goroutine.
type attemptCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *attemptCounter) inc(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n[key]++
	return a.n[key]
}

// reset forgets every count, at a new assignment: a record replayed after a
// rebalance (in this process or another) starts a new delivery, and its
// attempts count again from 1, as the executor's retry policy does.
func (a *attemptCounter) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.n)
}

func (a *attemptCounter) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.n, key)
}

// slowRecord decides, from key and seq only, whether a record's call is
// slow, so that every owner of the record agrees.
func slowRecord(rate float64, key string, seq int) bool {
	if rate <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", key, seq)
	return float64(h.Sum64()%10000) < rate*10000
}

// stuckRecord decides, from key and seq only, whether a record's first
// attempt blocks for good, so that every owner of the record and the test
// (reliability's stuckRecord, which must stay the same) agree. Its hash
// input differs from slowRecord's, so the two choices are independent.
func stuckRecord(rate float64, key string, seq int) bool {
	if rate <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "stuck:%s#%d", key, seq)
	return float64(h.Sum64()%10000) < rate*10000
}

// eventLog writes a line for every attempt that the executor gave up on at
// its call timeout (a *asyncdsl.StuckCallError) and for every record whose
// dead letter was refused even in its reduced form (released Skipped), for
// the test to count: a killed process prints no summary, and the adapter
// logs only the first of each partition. It is an asyncdsl.AttemptHook and
// ReleaseHook, called on executor goroutines; the write to stderr is short
// and never blocks on the executor.
type eventLog struct{ id string }

func (l eventLog) OnAttempt(r asyncdsl.Record, attempt int, took time.Duration, err error) {
	var stuck *asyncdsl.StuckCallError
	if errors.As(err, &stuck) {
		fmt.Fprintf(os.Stderr, "worker %s: detached stuck call %d@%d attempt %d after %s (stuck %d)\n",
			l.id, r.Partition, r.Offset, attempt, took.Round(time.Millisecond), stuck.Stuck)
	}
}

func (l eventLog) OnRelease(r asyncdsl.Record, o asyncdsl.Outcome, _ time.Duration) {
	var refused *asyncdsl.DeadLetterRefusedError
	if o.Status == asyncdsl.Skipped && errors.As(o.Err, &refused) {
		fmt.Fprintf(os.Stderr, "worker %s: dropped dead letter of %d@%d: %v\n", l.id, r.Partition, r.Offset, refused.Refusal)
	}
}

func run(ctx context.Context, cfg config) error {
	sc := kafka.DefaultSaramaConfig()
	if cfg.readTimeout > 0 {
		sc.Net.ReadTimeout = cfg.readTimeout
	}
	s, err := kafka.Remote(strings.Split(cfg.brokers, ","), kafka.WithPartitions(cfg.partitions), kafka.WithSaramaConfig(sc))
	if err != nil {
		return err
	}
	inj, err := stores.NewInjector(stores.Faults{
		Jitter:      cfg.jitter,
		ErrorRate:   cfg.errorRate,
		TimeoutRate: cfg.timeoutRate,
		Seed:        cfg.seed,
	})
	if err != nil {
		return err
	}
	var kgoOpts []kgo.Opt
	if cfg.kgoLog {
		kgoOpts = append(kgoOpts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, func() string {
			return time.Now().Format("15:04:05.000 ")
		})))
	}
	policy := asyncdsl.FailOnError
	switch cfg.policy {
	case "fail":
	case "skip":
		policy = asyncdsl.SkipOnError
	case "dead-letter":
		policy = asyncdsl.DeadLetterOnError
	default:
		return fmt.Errorf("unknown policy %q", cfg.policy)
	}
	a, err := gokaadapter.New(
		gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(s.KgoProducerBuilder(kgoOpts...)),
		gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
		gokaadapter.WithDeadLetterTopic(goka.Stream(cfg.deadLetter)),
		gokaadapter.WithExecutor(
			asyncdsl.WithWorkers(cfg.workers),
			asyncdsl.WithCallTimeout(cfg.callTimeout),
			asyncdsl.WithDrainTimeout(cfg.drain),
			asyncdsl.WithErrorPolicy(policy),
			asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: cfg.attempts, InitialBackoff: cfg.backoff, MaxBackoff: 100 * time.Millisecond}),
			asyncdsl.WithSeed(int64(cfg.seed)),
			asyncdsl.WithMaxStuck(cfg.maxStuck),
			asyncdsl.WithHook(eventLog{id: cfg.id}),
		),
	)
	if err != nil {
		return err
	}
	output := goka.Stream(cfg.output)
	counts := &attemptCounter{n: map[string]int{}}
	var late atomic.Int64  // slow calls that returned after their attempt was cancelled
	var stuck atomic.Int64 // calls blocked for good
	// hang is never closed: a stuck call waits on it until the process
	// exits. The executor detaches such a call at its call timeout and never
	// applies its result, so nothing the call holds is touched afterwards.
	hang := make(chan struct{})
	cb := func(ctx goka.Context, msg any) {
		m := msg.(In)
		rec := fmt.Sprintf("%d@%d", ctx.Partition(), ctx.Offset())
		n := counts.inc(rec)
		if n == 1 && stuckRecord(cfg.stuckRate, m.K, m.S) {
			// A call that ignores its context and never returns, on the
			// record's first attempt in this process only, so that the
			// retry after the executor gave up on it succeeds and the
			// record has an output. The line lets the test check that
			// the records it expects stuck were.
			stuck.Add(1)
			fmt.Fprintf(os.Stderr, "worker %s: call of %s#%d at %s blocks, ignoring its context\n", cfg.id, m.K, m.S, rec)
			<-hang
		}
		if slowRecord(cfg.slowRate, m.K, m.S) {
			// A remote call that ignores cancellation and outlasts the
			// drain deadline; its effects must be dropped if the partition
			// was revoked meanwhile.
			t := time.NewTimer(cfg.slow)
			<-t.C
			if ctx.Context().Err() != nil {
				late.Add(1)
			}
		} else if err := inj.Inject(ctx.Context(), "call", m.K); err != nil {
			ctx.Fail(err)
		}
		prev := int64(0)
		if v := ctx.Value(); v != nil {
			prev = v.(int64)
		}
		// A replay (seq <= prev) leaves the state alone; a gap would mean
		// a lost record: the state still moves on, and the output shows
		// the gap (Prev) to the oracle.
		if int64(m.S) > prev {
			ctx.SetValue(int64(m.S))
		}
		err := ctx.Context().Err()
		ctx.Emit(output, ctx.Key(), Out{K: m.K, S: m.S, Prev: prev, Attempts: n, Worker: cfg.id,
			Late: errors.Is(err, context.Canceled), Overran: errors.Is(err, context.DeadlineExceeded)})
		counts.forget(rec)
	}
	g := goka.DefineGroup(goka.Group(cfg.group),
		a.Input(goka.Stream(cfg.input), inCodec{}, cb),
		goka.Output(output, outCodec{}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := a.NewProcessor(s.Brokers, g, goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()),
		goka.WithRebalanceCallback(func(goka.Assignment) { counts.reset() }))
	if err != nil {
		_ = a.Close()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	go func() {
		if proc.WaitForReadyContext(runCtx) == nil {
			fmt.Println("ready")
		}
	}()
	err = <-done
	// One machine-readable line for the test: calls made, slow calls that
	// outlived their attempt's cancellation, stuck calls and what the
	// executor did with them and with refused dead letters.
	st := a.Executor().Stats()
	fmt.Fprintf(os.Stderr, "worker %s: stopped: late-slow-calls=%d stuck-calls=%d detached=%d still-stuck=%d dead-lettered=%d reduced=%d dropped=%d injector=%+v\n",
		cfg.id, late.Load(), stuck.Load(), st.Detached, st.Stuck, st.Counts.DeadLettered, st.Counts.DeadLettersReduced, st.Counts.DeadLettersDropped, inj.Stats())
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
