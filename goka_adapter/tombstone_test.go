package gokaadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tombstoneCodec is seqCodec that decodes a nil value (a tombstone) as the
// zero seqMsg, as goka.NilDecode asks of a codec.
type tombstoneCodec struct{ seqCodec }

func (c tombstoneCodec) Decode(b []byte) (any, error) {
	if b == nil {
		return seqMsg{}, nil
	}
	return c.seqCodec.Decode(b)
}

// A tombstone (a record with a nil value) behind a slow async record of the
// same partition, under each of goka's nil handlings. With NilIgnore goka
// marks the tombstone's offset itself, without calling the callback, while
// the slow record still runs; sarama's marks only move forward, so that mark
// must not reach the session before the slow record is released. The
// processor is stopped during the slow call (drain timeout 500 ms): the
// committed offset must not pass the slow record, and a new processor of
// the group processes it, and everything after it, again.
func TestTombstoneBehindSlowRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode goka.NilHandling
	}{
		{"NilIgnore", goka.NilIgnore},
		{"NilProcess", goka.NilProcess},
		{"NilDecode", goka.NilDecode},
	} {
		t.Run(tc.name, func(t *testing.T) { testTombstoneBehindSlowRecord(t, tc.mode) })
	}
}

func testTombstoneBehindSlowRecord(t *testing.T, mode goka.NilHandling) {
	const (
		partitions   = 4
		p            = int32(2)
		drainTimeout = 500 * time.Millisecond
	)
	name := fmt.Sprintf("tombstone-%d", mode)
	group, input, output := goka.Group(name), goka.Stream(name+"-in"), goka.Stream(name+"-out")
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	// Three keys of partition p: the slow record, the tombstone, and a
	// fast record behind both.
	keys := keysOfPartition("ts", p, partitions, 3)
	slowKey, deadKey, fastKey := keys[0], keys[1], keys[2]

	// seen counts the callbacks per key and run; a nil msg (NilProcess) or
	// the zero seqMsg (NilDecode) is the tombstone.
	type call struct {
		run int
		key string
	}
	var (
		mu   sync.Mutex
		seen = map[call]int{}
	)
	note := func(run int, key string) {
		mu.Lock()
		defer mu.Unlock()
		seen[call{run, key}]++
	}
	count := func(run int, key string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[call{run, key}]
	}
	graph := func(a *gokaadapter.Adapter, cb goka.ProcessCallback) *goka.GroupGraph {
		return goka.DefineGroup(group,
			goka.Input(input, tombstoneCodec{}, a.Async(cb)),
			goka.Output(output, seqCodec{}),
			goka.Persist(new(codec.Int64)),
		)
	}
	apply := func(ctx goka.Context, msg any) {
		if m, ok := msg.(seqMsg); ok && m.Key != "" {
			ctx.SetValue(int64(m.Seq))
			ctx.Emit(output, ctx.Key(), m)
			return
		}
		ctx.Delete() // the tombstone
	}

	// First run: the slow record blocks until its attempt is cancelled.
	slowStarted := make(chan struct{})
	fastDone := make(chan struct{})
	a := adapterFor(t, s, gokaadapter.WithExecutor(
		asyncdsl.WithWorkers(8), asyncdsl.WithDrainTimeout(drainTimeout)))
	proc, err := a.NewProcessor(s.Brokers, graph(a, func(ctx goka.Context, msg any) {
		note(1, ctx.Key())
		switch ctx.Key() {
		case slowKey:
			close(slowStarted)
			<-ctx.Context().Done()
			ctx.Fail(ctx.Context().Err())
		case fastKey:
			defer close(fastDone)
		}
		apply(ctx, msg)
	}), goka.WithNilHandling(mode))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, proc)
	cl := kafkatest.Client(t, s)
	kafkatest.Produce(t, cl,
		seqRecord(string(input), slowKey, 1),
		&kgo.Record{Topic: string(input), Key: []byte(deadKey)}, // Value nil: a tombstone
		seqRecord(string(input), fastKey, 1),
	)
	waitClosed(t, slowStarted, "the slow record to start")
	// goka handles a partition's records one after the other, so once the
	// fast record (behind the tombstone) ran, goka is past the tombstone,
	// marks included. Stopping the processor commits what was marked.
	waitClosed(t, fastDone, "the record behind the tombstone to finish")
	ends := endOffsets(t, adm, string(input))
	slowOffset := ends[p] - 3
	if err := r.stop(t); err != nil {
		t.Fatalf("first processor: %v", err)
	}
	if got, ok := committed(t, adm, string(group), string(input))[p]; ok && got > slowOffset {
		t.Fatalf("after the stop during the slow call, partition %d committed %d, past the slow record at %d: it is lost", p, got, slowOffset)
	}

	// Second run: a new processor of the group reprocesses from the slow
	// record on.
	b := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(8)))
	proc2, err := b.NewProcessor(s.Brokers, graph(b, func(ctx goka.Context, msg any) {
		note(2, ctx.Key())
		apply(ctx, msg)
	}), goka.WithNilHandling(mode))
	if err != nil {
		t.Fatal(err)
	}
	r2 := run(t, proc2)
	waitCommitted(t, adm, string(group), string(input), map[int32]int64{p: ends[p]}, 60*time.Second)
	if n := count(2, slowKey); n != 1 {
		t.Errorf("second run processed the slow record %d times, want 1", n)
	}
	if n := count(2, fastKey); n != 1 {
		t.Errorf("second run processed the record behind the tombstone %d times, want 1", n)
	}
	if mode != goka.NilIgnore && count(2, deadKey) != 1 {
		t.Errorf("second run processed the tombstone %d times, want 1", count(2, deadKey))
	}
	for _, k := range []string{slowKey, fastKey} {
		v, err := proc2.Get(k)
		if err != nil || v != int64(1) {
			t.Errorf("state of %s = %v (%v), want 1", k, v, err)
		}
	}
	if err := r2.stop(t); err != nil {
		t.Fatalf("second processor: %v", err)
	}
	outputs := decodeSeqs(t, consumeToEnd(t, s, adm, string(output), 30*time.Second))
	got := map[string]int{}
	for _, m := range outputs {
		got[m.Key]++
	}
	if got[slowKey] != 1 || got[fastKey] < 1 {
		raw, _ := json.Marshal(outputs)
		t.Fatalf("outputs %s: want the slow record once and the fast one at least once", raw)
	}
}

// waitClosed waits until ch is closed.
func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Under goka's tester (deterministic mode) tombstones are handled under
// every nil handling: NilIgnore's own mark passes the commit gate (nothing
// is held while goka delivers the tombstone), NilProcess and NilDecode
// reach the async callback, and tt.Consume returns each time.
func TestTesterTombstones(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      goka.NilHandling
		wantCalls int // callbacks for 2 records and a tombstone
		wantState any // of the tombstone's key, after it
	}{
		{"NilIgnore", goka.NilIgnore, 2, int64(1)},
		{"NilProcess", goka.NilProcess, 3, nil},
		{"NilDecode", goka.NilDecode, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			group := goka.Group("tester-tombstone-" + tc.name)
			calls := 0
			a, err := gokaadapter.New(gokaadapter.WithTester(tt))
			if err != nil {
				t.Fatal(err)
			}
			graph := goka.DefineGroup(group,
				goka.Input("tombstone-in", tombstoneCodec{}, a.Async(func(ctx goka.Context, msg any) {
					calls++ // the deterministic mode runs one record at a time
					if m, ok := msg.(seqMsg); ok && m.Key != "" {
						ctx.SetValue(int64(m.Seq))
						return
					}
					ctx.Delete()
				})),
				goka.Persist(new(codec.Int64)),
			)
			proc, err := a.NewProcessor(nil, graph, goka.WithNilHandling(tc.mode))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- proc.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			tt.Consume("tombstone-in", "a", seqMsg{Key: "a", Seq: 1})
			tt.Consume("tombstone-in", "a", nil)
			tt.Consume("tombstone-in", "b", seqMsg{Key: "b", Seq: 1})
			if calls != tc.wantCalls {
				t.Errorf("callbacks: %d, want %d", calls, tc.wantCalls)
			}
			if v, err := proc.Get("a"); err != nil || v != tc.wantState {
				t.Errorf("state of a = %v (%v), want %v", v, err, tc.wantState)
			}
			if v, err := proc.Get("b"); err != nil || v != int64(1) {
				t.Errorf("state of b = %v (%v), want 1", v, err)
			}
		})
	}
}
