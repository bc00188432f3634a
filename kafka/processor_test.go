package kafka_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
)

// roundTripTimes are the durations one round trip measured.
type roundTripTimes struct {
	ready     time.Duration // from Run to WaitForReady
	first     time.Duration // from WaitForReady to the callback of a record emitted then
	processed time.Duration // from the first emit to the last output record read
	committed time.Duration // from the first emit until the committed offsets cover the input
	emitted   time.Duration // from the first emit until the emitter had every ack
	callbacks time.Duration // from the first emit to the last callback
}

// roundTrip runs a kafkatest.CounterGroup processor with s (and opts after s's
// options), emits records records over keys keys into its input with a goka
// emitter, and checks that the output topic gets every record, the table
// every count, and the committed offsets every input.
func roundTrip(t *testing.T, s kafka.Settings, name string, records, keys int, opts ...goka.ProcessorOption) roundTripTimes {
	t.Helper()
	var (
		group  = goka.Group(name)
		input  = goka.Stream(name + "-input")
		output = goka.Stream(name + "-output")
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The output topic is created up front too: a franz-go consumer of a
	// topic that does not exist yet looks for it again only every 250 ms or
	// so, which would be measured as processing time.
	if err := s.EnsureTopics(ctx, string(input), string(output)); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}

	var times roundTripTimes
	start := time.Now()
	var (
		callbacks    atomic.Int64
		lastCallback atomic.Int64
	)
	p := kafkatest.StartProcessor(t, s, kafkatest.CounterGroup(group, input, output), append(opts, goka.WithContextWrapper(func(c goka.Context) goka.Context {
		lastCallback.Store(time.Now().UnixNano())
		callbacks.Add(1)
		return c
	}))...)
	if err := p.WaitForReadyContext(ctx); err != nil {
		t.Fatalf("WaitForReady: %v", err)
	}
	times.ready = time.Since(start)

	em, err := goka.NewEmitter(s.Brokers, input, new(codec.String), s.EmitterOptions()...)
	if err != nil {
		t.Fatalf("NewEmitter: %v", err)
	}
	finished := false
	defer func() {
		if !finished {
			_ = em.Finish() // a failed test's emitter must not outlive it
		}
	}()

	// Consume the output concurrently, so that the time the last record
	// arrives is not skewed by the emitting.
	type consumed struct {
		n   int
		at  time.Time
		err error
	}
	out := make(chan consumed, 1)
	go func() {
		recs, err := kafkatest.ConsumeContext(ctx, s, string(output), records+1)
		out <- consumed{len(recs), time.Now(), err}
	}()

	// The first record after WaitForReady waits for sarama: a new partition
	// subscription is fetched only after partitionConsumersBatchTimeout
	// (100 ms). Measure that apart from the steady state.
	start = time.Now()
	if _, err := em.Emit("warm-up", "warm-up"); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	await.Until(t, 5*time.Second, "the warm-up record", func() bool { return callbacks.Load() == 1 })
	times.first = time.Since(start)

	start = time.Now()
	for i := range records {
		if _, err := em.Emit(fmt.Sprintf("key-%d", i%keys), fmt.Sprintf("value-%d", i)); err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
	finished = true
	if err := em.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	times.emitted = time.Since(start)
	got := <-out
	times.callbacks = time.Unix(0, lastCallback.Load()).Sub(start)
	if got.err != nil {
		t.Fatalf("output: %v", got.err)
	}
	times.processed = got.at.Sub(start)

	want := int64(records / keys)
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		await.Until(t, 5*time.Second, "table value of "+key, func() bool {
			v, err := p.Get(key)
			return err == nil && v != nil && v.(int64) == want
		})
	}

	adm := kadm.NewClient(kafkatest.Client(t, s))
	await.Until(t, 10*time.Second, "committed offsets", func() bool {
		ok, err := committedCovers(ctx, adm, string(group), string(input))
		if err != nil {
			t.Fatalf("committed offsets: %v", err)
		}
		return ok
	})
	times.committed = time.Since(start)
	return times
}

func TestProcessorRoundTrip(t *testing.T) {
	const records, keys = 1000, 100
	c := clustertest.Start(t)
	times := roundTrip(t, c.Settings(), "round-trip", records, keys)
	t.Logf("processor ready in %v, first record processed %v after that; then %d records: emitted in %v, "+
		"called back in %v, read from the output in %v, committed in %v",
		times.ready, times.first, records, times.emitted, times.callbacks, times.processed, times.committed)
}
