package gokaadapter_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
)

// countingStep is a callback that keeps each key's last sequence number as
// state and emits every record. It tolerates replays (a record it has
// already applied leaves the state alone) but fails on a gap, which would
// mean a lost record. Before its effects it calls remote, the simulated
// remote call.
func countingStep(output goka.Stream, remote func(ctx goka.Context, m seqMsg)) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		m := msg.(seqMsg)
		remote(ctx, m)
		prev := int64(0)
		if v := ctx.Value(); v != nil {
			prev = v.(int64)
		}
		switch {
		case int64(m.Seq) == prev+1:
			ctx.SetValue(int64(m.Seq))
		case int64(m.Seq) > prev+1:
			ctx.Fail(fmt.Errorf("key %s: record %d after state %d: records lost", m.Key, m.Seq, prev))
		}
		ctx.Emit(output, ctx.Key(), m)
	}
}

// latency waits for a random time up to max, or until the attempt is
// cancelled, which it reports as goka callbacks do, with Fail.
func latency(ctx goka.Context, maxLatency time.Duration) {
	timer := time.NewTimer(rand.N(maxLatency))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Context().Done():
		ctx.Fail(ctx.Context().Err())
	}
}

// Stop without drain: a processor is stopped while records are in flight
// (some callbacks block until cancelled, later records of their keys are
// queued, records of other keys finished but are held back by the
// watermark). Run returns within the drain timeout, the committed offsets do
// not pass any unfinished record, and a new processor of the group (new
// adapter, new storage) reprocesses what was not committed: every input is
// reflected in the output and in the state.
func TestStopWithoutDrainLosesNothing(t *testing.T) {
	const (
		group        = goka.Group("crash")
		input        = goka.Stream("crash-in")
		output       = goka.Stream("crash-out")
		keys         = 24
		perKey       = 20
		blockedSeq   = 8
		drainTimeout = 500 * time.Millisecond
	)
	// The blocked records of k0, k5, k10 and k15 return as soon as they are
	// cancelled; that of k20 keeps going for a while after cancellation and
	// then returns normally, with effects, which must be dropped.
	blockedKeys := map[string]bool{"k0": true, "k5": true, "k10": true, "k15": true, "k20": true}
	const lateKey, lateFor = "k20", 300 * time.Millisecond
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	build := func(a *gokaadapter.Adapter, cb goka.ProcessCallback) *goka.GroupGraph {
		return seqGraph(a, group, input, output, cb)
	}

	// First processor: the blocked records wait until their attempt is
	// cancelled; the others take up to 2 ms.
	var (
		mu      sync.Mutex
		blocked = map[int32]int64{} // partition -> lowest offset of a blocked record
		started int
	)
	a := adapterFor(t, s, gokaadapter.WithExecutor(
		asyncdsl.WithWorkers(16), asyncdsl.WithDrainTimeout(drainTimeout)))
	first := build(a, countingStep(output, func(ctx goka.Context, m seqMsg) {
		if blockedKeys[m.Key] && m.Seq == blockedSeq {
			mu.Lock()
			if off, ok := blocked[ctx.Partition()]; !ok || ctx.Offset() < off {
				blocked[ctx.Partition()] = ctx.Offset()
			}
			started++
			mu.Unlock()
			<-ctx.Context().Done()
			if m.Key != lateKey {
				ctx.Fail(ctx.Context().Err())
			}
			// A remote call that notices the cancellation late, still
			// within the drain timeout, and then succeeds.
			late := time.NewTimer(lateFor)
			defer late.Stop()
			<-late.C
			return
		}
		latency(ctx, 2*time.Millisecond)
	}))
	proc, err := a.NewProcessor(s.Brokers, first)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, proc)
	n := produceSequences(t, kafkatest.Client(t, s), string(input), keys, perKey)

	// Everything but the blocked records and those queued behind them on
	// their keys finishes.
	finishable := n - len(blockedKeys)*(perKey-blockedSeq+1)
	kafkatest.Consume(t, s, string(output), finishable, 30*time.Second)
	await.Until(t, 30*time.Second, "the blocked records to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return started == len(blockedKeys)
	})
	ends := endOffsets(t, adm, string(input))
	want := map[int32]int64{}
	mu.Lock()
	for p, end := range ends {
		want[p] = end
		if off, ok := blocked[p]; ok {
			want[p] = off
		}
	}
	mu.Unlock()
	// The watermark gets as far as it may: to the first blocked record.
	waitCommitted(t, adm, string(group), string(input), want, 30*time.Second)
	heldBack := 0
	for p := range ends {
		heldBack += int(ends[p] - want[p])
	}

	stopStart := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatalf("first processor: %v", err)
	}
	stopTook := time.Since(stopStart)
	// goka's shutdown (leaving the group, closing clients) comes on top of
	// the drain; it takes well under a second against the embedded broker.
	if stopTook < lateFor {
		t.Errorf("Run returned %s after cancellation, before the late callback (%s) returned", stopTook, lateFor)
	}
	if limit := drainTimeout + 2*time.Second; stopTook > limit {
		t.Errorf("Run returned %s after cancellation, want at most %s", stopTook, limit)
	}
	// Nothing was written for the unfinished records, not even for the one
	// whose callback returned normally after the cancellation.
	outEnds := endOffsets(t, adm, string(output))
	outputsFirst := 0
	for _, end := range outEnds {
		outputsFirst += int(end)
	}
	if outputsFirst != finishable {
		t.Fatalf("first processor wrote %d outputs, want %d (the finished records only)", outputsFirst, finishable)
	}
	got := committed(t, adm, string(group), string(input))
	for p, w := range want {
		if got[p] != w {
			t.Fatalf("after the stop, partition %d committed %d, want %d (first blocked record or end)", p, got[p], w)
		}
	}

	// Second processor: fresh adapter and storage, same group.
	b := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(16)))
	second := build(b, countingStep(output, func(ctx goka.Context, _ seqMsg) { latency(ctx, 2*time.Millisecond) }))
	proc2, err := b.NewProcessor(s.Brokers, second)
	if err != nil {
		t.Fatal(err)
	}
	r2 := run(t, proc2)
	// Once everything is committed, every committed record's outputs are
	// acknowledged, so the output topic is complete.
	waitCommitted(t, adm, string(group), string(input), ends, 60*time.Second)
	outputs := decodeSeqs(t, consumeToEnd(t, s, adm, string(output), 30*time.Second))
	seen := countSeqs(outputs)
	if missing := seen.missing(keys, perKey, 10); len(missing) > 0 {
		t.Fatalf("inputs without output (lost): %v", missing)
	}
	for k := 0; k < keys; k++ {
		key := "k" + strconv.Itoa(k)
		v, err := proc2.Get(key)
		if err != nil {
			t.Fatalf("state of %s: %v", key, err)
		}
		if v != int64(perKey) {
			t.Errorf("state of %s = %v, want %d", key, v, perKey)
		}
	}
	if err := r2.stop(t); err != nil {
		t.Fatalf("second processor: %v", err)
	}
	checkNoSkips(t, outputs)
	t.Logf("stop took %s (drain timeout %s); %d records held back by the watermark at the stop; %d outputs for %d inputs, %d duplicates",
		stopTook.Round(time.Millisecond), drainTimeout, heldBack, len(outputs), n, seen.duplicates())
}
