package gokaadapter_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// policyCase is one processor whose callback treats the key "poison"
// specially and emits every other record.
type policyCase struct {
	t      *testing.T
	s      kafka.Settings
	adm    *kadm.Client
	group  goka.Group
	input  goka.Stream
	output goka.Stream

	poisonAt atomic.Int64 // offset of the poison record, set by its first attempt
	attempts atomic.Int32 // attempts of the poison record
	r        *running
}

// startPolicyCase runs a processor of its own group with the callback
// poison for the poison record, and the adapter options opts.
func startPolicyCase(t *testing.T, s kafka.Settings, name string, poison func(ctx goka.Context), opts ...gokaadapter.Option) *policyCase {
	t.Helper()
	pc := &policyCase{
		t: t, s: s, adm: kadm.NewClient(kafkatest.Client(t, s)),
		group:  goka.Group("policy-" + name),
		input:  goka.Stream("policy-" + name + "-in"),
		output: goka.Stream("policy-" + name + "-out"),
	}
	pc.poisonAt.Store(-1)
	kafkatest.EnsureTopics(t, s, pc.input, pc.output)
	a := adapterFor(t, s, opts...)
	cb := func(ctx goka.Context, msg any) {
		if ctx.Key() == "poison" {
			pc.poisonAt.CompareAndSwap(-1, ctx.Offset())
			pc.attempts.Add(1)
			poison(ctx)
		}
		ctx.Emit(pc.output, ctx.Key(), msg)
	}
	g := goka.DefineGroup(pc.group,
		goka.Input(pc.input, seqCodec{}, a.Async(cb)),
		goka.Output(pc.output, seqCodec{}),
	)
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatal(err)
	}
	pc.r = run(t, proc)
	return pc
}

// produceAround writes good records of keys before0..before4, the poison
// record, then good records after0..after4, all in the poison record's
// partition, and returns the poison record's partition.
func (pc *policyCase) produceAround() int32 {
	pc.t.Helper()
	p := keyPartition("poison", 4)
	var recs []*kgo.Record
	for _, k := range keysOfPartition("before", p, 4, 5) {
		recs = append(recs, seqRecord(string(pc.input), k, 1))
	}
	recs = append(recs, seqRecord(string(pc.input), "poison", 1))
	for _, k := range keysOfPartition("after", p, 4, 5) {
		recs = append(recs, seqRecord(string(pc.input), k, 1))
	}
	kafkatest.Produce(pc.t, kafkatest.Client(pc.t, pc.s), recs...)
	return p
}

// deadLetter reads the one dead letter of the group.
func (pc *policyCase) deadLetter() *kgo.Record {
	pc.t.Helper()
	recs := kafkatest.Consume(pc.t, pc.s, string(pc.group)+"-dead-letters", 1, 30*time.Second)
	if len(recs) != 1 {
		pc.t.Fatalf("%d dead letters, want 1", len(recs))
	}
	return recs[0]
}

// outputKeys returns the keys of the 10 good records' outputs.
func (pc *policyCase) outputKeys() map[string]bool {
	pc.t.Helper()
	keys := map[string]bool{}
	for _, r := range kafkatest.Consume(pc.t, pc.s, string(pc.output), 10, 30*time.Second) {
		keys[string(r.Key)] = true
	}
	return keys
}

func headerMap(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

// checkDeadLetter checks the dead letter's key, value and coordinates.
func (pc *policyCase) checkDeadLetter(dl *kgo.Record, partition int32, attempts string) map[string]string {
	pc.t.Helper()
	h := headerMap(dl)
	want := map[string]string{
		gokaadapter.HeaderTopic:          string(pc.input),
		gokaadapter.HeaderPartition:      strconv.Itoa(int(partition)),
		gokaadapter.HeaderOffset:         strconv.FormatInt(pc.poisonAt.Load(), 10),
		gokaadapter.HeaderGroup:          string(pc.group),
		gokaadapter.HeaderAttempts:       attempts,
		gokaadapter.HeaderIdempotencyKey: fmt.Sprintf("%s/%d@%d#%s", pc.input, partition, pc.poisonAt.Load(), pc.group),
	}
	for k, v := range want {
		if h[k] != v {
			pc.t.Errorf("dead letter header %s = %q, want %q", k, h[k], v)
		}
	}
	if string(dl.Key) != "poison" {
		pc.t.Errorf("dead letter key %q, want poison", dl.Key)
	}
	if wantValue := string(seqRecord("", "poison", 1).Value); string(dl.Value) != wantValue {
		pc.t.Errorf("dead letter value %q, want the record's %q", dl.Value, wantValue)
	}
	return h
}

// checkGoodOutputs checks that the 10 good records, and not the poison one,
// have outputs, and that the group committed the whole input.
func (pc *policyCase) checkGoodOutputsAndCommits() {
	pc.t.Helper()
	keys := pc.outputKeys()
	if len(keys) != 10 || keys["poison"] {
		pc.t.Errorf("outputs of %v, want the 10 good records only", keys)
	}
	waitCommitted(pc.t, pc.adm, string(pc.group), string(pc.input), endOffsets(pc.t, pc.adm, string(pc.input)), 30*time.Second)
}

// explodeInRemoteCall is the user code that panics; its name must appear in
// the dead letter's error.
func explodeInRemoteCall(key string) {
	panic(fmt.Sprintf("remote client bug for %s", key))
}

// Error policies end to end, each in a group of its own on one cluster.
func TestErrorPolicies(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	fastRetry := asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

	// An attempt that runs into its call timeout is retried; after the last
	// attempt the record goes to the dead-letter topic, with the deadline
	// error, its coordinates and the attempt count in headers.
	t.Run("timeout retried then dead-lettered", func(t *testing.T) {
		pc := startPolicyCase(t, s, "timeout", func(ctx goka.Context) {
			<-ctx.Context().Done() // a remote call that never answers in time
			ctx.Fail(fmt.Errorf("calling remote: %w", ctx.Context().Err()))
		}, gokaadapter.WithExecutor(
			asyncdsl.WithCallTimeout(100*time.Millisecond),
			asyncdsl.WithRetry(fastRetry),
			asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
		))
		p := pc.produceAround()
		h := pc.checkDeadLetter(pc.deadLetter(), p, "3")
		if !strings.Contains(h[gokaadapter.HeaderError], "deadline exceeded") {
			t.Errorf("dead letter error %q does not mention the deadline", h[gokaadapter.HeaderError])
		}
		if n := pc.attempts.Load(); n != 3 {
			t.Errorf("poison record attempted %d times, want 3", n)
		}
		pc.checkGoodOutputsAndCommits()
		if err := pc.r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
	})

	// A panic is caught, not retried, and its stack, which names the
	// panicking function, travels in the dead letter's error header.
	t.Run("panic dead-lettered with its stack", func(t *testing.T) {
		pc := startPolicyCase(t, s, "panic", func(ctx goka.Context) {
			explodeInRemoteCall(ctx.Key())
		}, gokaadapter.WithExecutor(
			asyncdsl.WithRetry(fastRetry),
			asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
		))
		p := pc.produceAround()
		h := pc.checkDeadLetter(pc.deadLetter(), p, "1")
		for _, want := range []string{"remote client bug for poison", "explodeInRemoteCall", "more frames cut"} {
			if !strings.Contains(h[gokaadapter.HeaderError], want) {
				t.Errorf("dead letter error does not contain %q:\n%s", want, h[gokaadapter.HeaderError])
			}
		}
		// The stack is cut to its top frames below the panic: the
		// recovery's frames are left out, and so are the worker's.
		for _, unwanted := range []string{"runtime/debug.Stack", "internal/panics", "asyncdsl.(*Executor).work"} {
			if strings.Contains(h[gokaadapter.HeaderError], unwanted) {
				t.Errorf("dead letter error contains %q:\n%s", unwanted, h[gokaadapter.HeaderError])
			}
		}
		if n := len(h[gokaadapter.HeaderError]); n > 1500 {
			t.Errorf("dead letter error header is %d bytes:\n%s", n, h[gokaadapter.HeaderError])
		}
		if n := pc.attempts.Load(); n != 1 {
			t.Errorf("panicking record attempted %d times, want 1", n)
		}
		pc.checkGoodOutputsAndCommits()
		if err := pc.r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
	})

	// The default policy stops the processor, as goka does on a callback
	// error: Run returns an error naming the cause and the record.
	t.Run("fail stops the processor", func(t *testing.T) {
		pc := startPolicyCase(t, s, "fail", func(ctx goka.Context) {
			ctx.Fail(errors.New("remote service rejected the order"))
		})
		p := pc.produceAround()
		err := pc.r.wait(t, 30*time.Second)
		if err == nil {
			t.Fatal("Run returned nil after a failed record")
		}
		coords := fmt.Sprintf("%s/%d@%d", pc.input, p, pc.poisonAt.Load())
		for _, want := range []string{"remote service rejected the order", coords} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Run's error does not contain %q:\n%v", want, err)
			}
		}
		// goka keeps the chain (multierror and %w all the way).
		var te *asyncdsl.TaskError
		var fe *gokaadapter.FailError
		if !errors.As(err, &te) || !errors.As(err, &fe) {
			t.Errorf("Run's error does not wrap *asyncdsl.TaskError and *gokaadapter.FailError: %v", err)
		} else if te.Record.Offset != pc.poisonAt.Load() || te.Attempts != 1 {
			t.Errorf("TaskError %+v, want the poison record after 1 attempt", te)
		}
		// Nothing at or past the failed record was committed.
		if got := committed(t, pc.adm, string(pc.group), string(pc.input))[p]; got > pc.poisonAt.Load() {
			t.Errorf("partition %d committed %d, past the failed record at %d", p, got, pc.poisonAt.Load())
		}
	})

	// Skip: the failed record's offset is committed, its effects dropped,
	// and the records after it are processed.
	t.Run("skip commits past the record", func(t *testing.T) {
		logs := &logcapture.Log{}
		pc := startPolicyCase(t, s, "skip", func(ctx goka.Context) {
			ctx.Emit(goka.Stream("policy-skip-out"), "poison", seqMsg{Key: "poison", Seq: -1}) // dropped with the record
			ctx.Fail(errors.New("remote service rejected the order"))
		}, gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError)), gokaadapter.WithLogger(logs.Logger()))
		p := pc.produceAround()
		pc.checkGoodOutputsAndCommits()
		if got := committed(t, pc.adm, string(pc.group), string(pc.input))[p]; got <= pc.poisonAt.Load() {
			t.Errorf("partition %d committed %d, not past the skipped record at %d", p, got, pc.poisonAt.Load())
		}
		// Counted and logged, with the record's coordinates and error.
		if n := pc.r.proc.Adapter().Executor().Stats().Counts.Skipped; n != 1 {
			t.Errorf("%d records counted as skipped, want 1", n)
		}
		l := logs.String()
		for _, want := range []string{"record skipped by the error policy", "topic=" + string(pc.input),
			"offset=" + strconv.FormatInt(pc.poisonAt.Load(), 10), "remote service rejected the order"} {
			if !strings.Contains(l, want) {
				t.Errorf("log does not contain %q:\n%s", want, l)
			}
		}
		if err := pc.r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
		// The output topic holds the 10 good records only.
		if n := len(consumeToEnd(t, s, pc.adm, string(pc.output), 30*time.Second)); n != 10 {
			t.Errorf("%d outputs, want 10", n)
		}
	})
}
