//go:build unix

package gokaadapter_test

// A measurement, not a test of the adapter: it compares riffle's direct
// write-back (design (c) in DESIGN.md) with a minimal prototype of completion
// records (design (b)) on one embedded broker. It only runs with
// RIFFLE_MEASURE_WRITEBACK=1:
//
//	RIFFLE_MEASURE_WRITEBACK=1 go test -run TestMeasureWriteBack -v -timeout 20m ./goka_adapter/
//
// The numbers are written up in docs/architecture.md, section "Why direct
// write-back, not completion records".

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/broker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// measureWorkers bounds the remote calls in flight, for riffle (its
// executor's default worker count) and for the prototype alike.
const measureWorkers = 256

// wbResult is one run of the measurement.
type wbResult struct {
	design      string
	latency     time.Duration
	keys        int
	perKey      int
	records     int
	elapsed     time.Duration // first input produced to last output seen
	stepMedian  time.Duration // single key: start of record n to start of n+1
	stepP99     time.Duration
	steps       int
	throughputS float64       // records per second
	cpuPerRec   time.Duration // CPU of the whole process (broker included) per record
}

func TestMeasureWriteBack(t *testing.T) {
	if os.Getenv("RIFFLE_MEASURE_WRITEBACK") == "" {
		t.Skip("a measurement; set RIFFLE_MEASURE_WRITEBACK=1 to run it")
	}
	c := startCluster(t)
	s := c.Settings()
	t.Logf("broker: embedded (kfake), 4 partitions; sarama = broker.DefaultSaramaConfig (Producer.Flush.Frequency %s, Consumer.MaxWaitTime %s, AutoCommit.Interval %s)",
		s.SaramaConfig().Producer.Flush.Frequency, s.SaramaConfig().Consumer.MaxWaitTime, s.SaramaConfig().Consumer.Offsets.AutoCommit.Interval)

	type run struct {
		design string
		linger time.Duration // completion producer's linger, (b) only
	}
	designs := []run{
		{design: "c"},
		{design: "b", linger: 10 * time.Millisecond},
		{design: "b", linger: 0},
	}
	var results []wbResult
	n := 0
	for _, lat := range []time.Duration{0, 2 * time.Millisecond} {
		for _, d := range designs {
			n++
			name := fmt.Sprintf("%s/1key/%s/linger%s", d.design, lat, d.linger)
			t.Run(name, func(t *testing.T) {
				r := measureWriteBack(t, s, fmt.Sprintf("wb%d", n), d.design, d.linger, lat, 1, 2000)
				results = append(results, r)
			})
		}
	}
	for _, shape := range [][2]int{{100, 200}, {1000, 20}} {
		for _, d := range designs {
			n++
			lat := 2 * time.Millisecond
			name := fmt.Sprintf("%s/%dkeys/%s/linger%s", d.design, shape[0], lat, d.linger)
			t.Run(name, func(t *testing.T) {
				r := measureWriteBack(t, s, fmt.Sprintf("wb%d", n), d.design, d.linger, lat, shape[0], shape[1])
				results = append(results, r)
			})
		}
	}

	var b strings.Builder
	b.WriteString("\n| design | remote latency | keys x records | step median | step p99 | elapsed | records/s | CPU/record |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		med, p99 := "-", "-"
		if r.steps > 0 {
			med, p99 = ms(r.stepMedian), ms(r.stepP99)
		}
		fmt.Fprintf(&b, "| %s | %s | %d x %d | %s | %s | %s | %.0f | %d µs |\n",
			r.design, r.latency, r.keys, r.perKey, med, p99, r.elapsed.Round(time.Millisecond), r.throughputS, r.cpuPerRec.Microseconds())
	}
	t.Log(b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

// processCPU is the user and system CPU time the process used so far.
func processCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureWriteBack runs one design on fresh topics and returns its numbers.
// design "c" is the riffle adapter; "b" the completion-record prototype,
// whose completions are produced with the given linger.
func measureWriteBack(t *testing.T, s broker.Settings, prefix, design string, linger, latency time.Duration, keys, perKey int) wbResult {
	group := goka.Group(prefix + "-group")
	input := goka.Stream(prefix + "-in")
	output := goka.Stream(prefix + "-out")
	if err := s.EnsureTopics(t.Context(), string(input), string(output)); err != nil {
		t.Fatal(err)
	}
	rec := &stepLog{key: "k0", starts: make([]time.Time, 0, perKey)}
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }

	// remote is the remote call of every record, and its check of per-key
	// order: record seq must see the state seq-1.
	remote := func(ctx context.Context, key string, m seqMsg, prev int64) {
		rec.start(key)
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-ctx.Done():
			}
		}
		if prev != int64(m.Seq-1) {
			fail(fmt.Errorf("key %s: record %d saw state %d", key, m.Seq, prev))
		}
	}

	var proc interface{ Run(context.Context) error }
	var ready func(context.Context) error
	switch design {
	case "c":
		a := adapterFor(t, s)
		step := func(ctx goka.Context, msg any) {
			m := msg.(seqMsg)
			prev := int64(0)
			if v := ctx.Value(); v != nil {
				prev = v.(int64)
			}
			remote(ctx.Context(), ctx.Key(), m, prev)
			ctx.SetValue(int64(m.Seq))
			ctx.Emit(output, ctx.Key(), m)
		}
		g := goka.DefineGroup(group,
			goka.Input(input, seqCodec{}, a.Async(step)),
			goka.Output(output, seqCodec{}),
			goka.Persist(new(codec.Int64)),
		)
		p, err := a.NewProcessor(s.Brokers, g)
		if err != nil {
			t.Fatal(err)
		}
		proc, ready = p, p.WaitForReadyContext
	case "b":
		cl := kgoClient(t, s, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(linger))
		cp := newCompletionProto(cl, goka.Stream(string(group)+"-loop"), output, measureWorkers, remote, fail)
		g := goka.DefineGroup(group,
			goka.Input(input, seqCodec{}, cp.input),
			goka.Loop(completionCodec{}, cp.replay),
			goka.Output(output, seqCodec{}),
			goka.Persist(new(codec.Int64)),
		)
		opts := append(s.ProcessorOptions(), goka.WithStorageBuilder(storage.MemoryBuilder()))
		p, err := goka.NewProcessor(s.Brokers, g, opts...)
		if err != nil {
			t.Fatal(err)
		}
		proc, ready = p, p.WaitForReadyContext
	default:
		t.Fatalf("unknown design %q", design)
	}

	// Run the processor until the end of this run.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("processor: %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Errorf("processor did not stop")
		}
	}()
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := ready(readyCtx); err != nil {
		t.Fatalf("processor not ready: %v", err)
	}

	// The output consumer exists (and has found the topic) before the clock
	// starts.
	out := kgoClient(t, s, kgo.ConsumeTopics(string(output)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	pingCtx, pingCancel := context.WithTimeout(t.Context(), 10*time.Second)
	if err := out.Ping(pingCtx); err != nil {
		t.Fatal(err)
	}
	pingCancel()

	start, cpu0 := time.Now(), processCPU(t)
	total := produceSequences(t, kgoClient(t, s), string(input), keys, perKey)
	waitCtx, waitCancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer waitCancel()
	var msgs []seqMsg
	for len(msgs) < total {
		fs := out.PollFetches(waitCtx)
		if waitCtx.Err() != nil {
			t.Fatalf("%d of %d outputs before the deadline (error: %v)", len(msgs), total, failed.Load())
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		msgs = append(msgs, decodeSeqs(t, fs.Records())...)
	}
	elapsed, cpu := time.Since(start), processCPU(t)-cpu0
	if p := failed.Load(); p != nil {
		t.Fatal(*p)
	}
	// Check: every key's outputs in sequence, none lost or repeated, and the
	// input fully committed.
	last := map[string]int{}
	for _, m := range msgs {
		if m.Seq != last[m.Key]+1 {
			t.Fatalf("key %s: output %d after %d", m.Key, m.Seq, last[m.Key])
		}
		last[m.Key] = m.Seq
	}
	if len(msgs) != total || len(last) != keys {
		t.Fatalf("%d outputs of %d keys, want %d of %d", len(msgs), len(last), total, keys)
	}
	adm := kadm.NewClient(kgoClient(t, s))
	waitCommitted(t, adm, string(group), string(input), endOffsets(t, adm, string(input)), 30*time.Second)

	r := wbResult{
		design: design, latency: latency, keys: keys, perKey: perKey, records: total,
		elapsed: elapsed, throughputS: float64(total) / elapsed.Seconds(),
		cpuPerRec: cpu / time.Duration(total),
	}
	if design == "b" {
		r.design = fmt.Sprintf("b, completion linger %s", linger)
	}
	if steps := rec.steps(); len(steps) > 0 {
		// The steps of key k0, the only key or one of many.
		r.steps = len(steps)
		r.stepMedian = steps[len(steps)/2]
		r.stepP99 = steps[len(steps)*99/100]
	}
	t.Logf("%s: %d records (%d keys) in %s: %.0f records/s; step median %s, p99 %s",
		r.design, total, keys, elapsed.Round(time.Millisecond), r.throughputS, ms(r.stepMedian), ms(r.stepP99))
	return r
}

// stepLog records when the remote call of each record of one key started.
type stepLog struct {
	key    string
	mu     sync.Mutex
	starts []time.Time
}

func (l *stepLog) start(key string) {
	if key != l.key {
		return
	}
	now := time.Now()
	l.mu.Lock()
	l.starts = append(l.starts, now)
	l.mu.Unlock()
}

// steps returns the sorted times from one record's start to the next's.
func (l *stepLog) steps() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d []time.Duration
	for i := 1; i < len(l.starts); i++ {
		d = append(d, l.starts[i].Sub(l.starts[i-1]))
	}
	slices.Sort(d)
	return d
}

// completion is the record a worker of the prototype writes to the loop
// topic: the effects of one input record, and which record it was.
type completion struct {
	Offset int64  `json:"o"` // the input record's offset, for its deferred commit
	Value  int64  `json:"v"` // SetValue(Value)
	Emit   seqMsg `json:"e"` // Emit(output, key, Emit)
}

type completionCodec struct{}

func (completionCodec) Encode(v any) ([]byte, error) { return json.Marshal(v) }
func (completionCodec) Decode(b []byte) (any, error) {
	var c completion
	err := json.Unmarshal(b, &c)
	return c, err
}

// completionProto is design (b), as small as it can be while keeping the
// properties: per-key order (a key's next record starts only after the
// previous record's completion was replayed), commits released in delivery
// order, bounded remote calls. It does not handle revocation, errors,
// retries or shutdown with work in flight: the measurement needs none of
// them.
type completionProto struct {
	cl     *kgo.Client
	loop   goka.Stream
	output goka.Stream
	sem    chan struct{}
	remote func(ctx context.Context, key string, m seqMsg, prev int64)
	fail   func(error)

	mu    sync.Mutex
	parts map[int32]*protoPartition
}

// protoPartition is one partition's bookkeeping. Only that partition's goka
// goroutine uses it (goka delivers a partition's input and loop records on
// one goroutine).
type protoPartition struct {
	busy    map[string]bool // a record of the key is running or its completion not yet replayed
	queued  map[string][]queuedRecord
	commits []*heldCommit // deferred commits, in delivery order
	held    map[int64]*heldCommit
}

type queuedRecord struct {
	msg    seqMsg
	offset int64
}

type heldCommit struct {
	done    bool
	release func(error)
}

func newCompletionProto(cl *kgo.Client, loop, output goka.Stream, workers int, remote func(context.Context, string, seqMsg, int64), fail func(error)) *completionProto {
	return &completionProto{cl: cl, loop: loop, output: output, sem: make(chan struct{}, workers),
		remote: remote, fail: fail, parts: map[int32]*protoPartition{}}
}

func (p *completionProto) part(n int32) *protoPartition {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.parts[n]
	if pp == nil {
		pp = &protoPartition{busy: map[string]bool{}, queued: map[string][]queuedRecord{}, held: map[int64]*heldCommit{}}
		p.parts[n] = pp
	}
	return pp
}

// input is the callback of the input topic: it holds the record's commit
// and starts the record, or queues it behind its key.
func (p *completionProto) input(ctx goka.Context, msg any) {
	pp := p.part(ctx.Partition())
	hc := &heldCommit{release: ctx.DeferCommit()}
	pp.commits = append(pp.commits, hc)
	pp.held[ctx.Offset()] = hc
	key := ctx.Key()
	if pp.busy[key] {
		pp.queued[key] = append(pp.queued[key], queuedRecord{msg: msg.(seqMsg), offset: ctx.Offset()})
		return
	}
	pp.busy[key] = true
	p.start(ctx, key, msg.(seqMsg), ctx.Offset())
}

// start reads the key's state with ctx (on the partition goroutine: the
// state is current, since the key's previous completion was replayed) and
// runs the record on a worker, which writes its completion to the loop
// topic, in ctx's partition.
func (p *completionProto) start(ctx goka.Context, key string, m seqMsg, offset int64) {
	prev := int64(0)
	if v := ctx.Value(); v != nil {
		prev = v.(int64)
	}
	partition := ctx.Partition()
	cctx := ctx.Context()
	go func() {
		p.sem <- struct{}{}
		p.remote(cctx, key, m, prev)
		<-p.sem
		v, err := json.Marshal(completion{Offset: offset, Value: int64(m.Seq), Emit: m})
		if err != nil {
			p.fail(err)
			return
		}
		rec := &kgo.Record{Topic: string(p.loop), Partition: partition, Key: []byte(key), Value: v}
		p.cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
			if err != nil {
				p.fail(fmt.Errorf("produce completion: %w", err))
			}
		})
	}()
}

// replay is the loop callback: it applies a completion with the real
// goka.Context, releases the commits that are now in order, and starts the
// key's next record.
func (p *completionProto) replay(ctx goka.Context, msg any) {
	c := msg.(completion)
	ctx.SetValue(c.Value)
	ctx.Emit(p.output, ctx.Key(), c.Emit)

	pp := p.part(ctx.Partition())
	if hc := pp.held[c.Offset]; hc != nil {
		hc.done = true
		delete(pp.held, c.Offset)
	}
	for len(pp.commits) > 0 && pp.commits[0].done {
		pp.commits[0].release(nil)
		pp.commits = pp.commits[1:]
	}
	key := ctx.Key()
	if q := pp.queued[key]; len(q) > 0 {
		next := q[0]
		if len(q) == 1 {
			delete(pp.queued, key)
		} else {
			pp.queued[key] = q[1:]
		}
		p.start(ctx, key, next.msg, next.offset)
		return
	}
	delete(pp.busy, key)
}
