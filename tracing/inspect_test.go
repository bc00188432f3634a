package tracing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// newExecutor returns an executor reporting to tr, closed by the test.
func newExecutor(t *testing.T, tr *tracing.Tracing, opts ...asyncdsl.Option) *asyncdsl.Executor {
	t.Helper()
	e, err := asyncdsl.New(append(opts, asyncdsl.WithHook(tr.Hook()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// submit submits a traced task of record r.
func submit(t *testing.T, e *asyncdsl.Executor, tr *tracing.Tracing, r asyncdsl.Record, attempt func(context.Context, int) (asyncdsl.Apply, error)) {
	t.Helper()
	rec := tr.StartRecord(tracing.Message{Group: "g", Coordinates: r.Coordinates})
	r.Trace = rec
	err := e.Submit(context.Background(), asyncdsl.Task{
		Record: r, Ctx: context.Background(),
		Work: &asyncdsl.WorkFuncs{AttemptFunc: func(ctx context.Context, n int) (asyncdsl.Apply, error) {
			return attempt(rec.AttemptContext(ctx, n), n)
		},
			DeadLetterFunc: func(context.Context, error) (asyncdsl.Apply, error) {
				return rec.DeadLetter(func(done func(error)) { done(nil) }), nil
			},
			ReleaseFunc: func(asyncdsl.Outcome) {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Retries and the dead letter of a record that always fails: counted, and
// visible on its span.
func TestDeadLetterMetricsAndSpan(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	e := newExecutor(t, tr, asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
		asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	submit(t, e, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 0, Offset: 5, Key: "k"}}, func(ctx context.Context, _ int) (asyncdsl.Apply, error) {
		return nil, tracing.Call(ctx, "lookup", func(context.Context) error { return errUnavailable })
	})
	s := tel.waitEnded(t, "process in", 1)[0]
	if s.Status().Code != codes.Error {
		t.Errorf("dead-lettered record's status %v, want error", s.Status())
	}
	wantAttrs(t, s, attribute.String("riffle.outcome", "dead-lettered"), attribute.Int("riffle.attempts", 3))
	if n := len(tel.ended("lookup")); n != 3 {
		t.Errorf("%d call spans, want one per attempt (3)", n)
	}
	if n := len(tel.ended("dead letter")); n != 1 {
		t.Errorf("%d dead letter spans, want 1", n)
	}
	rm := tel.collect(t)
	if n := sumInt(t, rm, tracing.MetricRetries); n != 2 {
		t.Errorf("retries %d, want 2", n)
	}
	if n := sumInt(t, rm, tracing.MetricDeadLetters, attribute.String("messaging.destination.name", "in")); n != 1 {
		t.Errorf("dead letters %d, want 1", n)
	}
}

// The gauges and the inspection handler while a record blocks its key and
// holds back its partition's commit.
func TestInspectionOfAStuckPartition(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	e := newExecutor(t, tr, asyncdsl.WithWorkers(4))
	reg, err := tr.ObserveExecutor(e, "g")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()

	hold := make(chan struct{})
	started := make(chan struct{})
	submit(t, e, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 1, Offset: 10, Key: "hot"}}, func(ctx context.Context, _ int) (asyncdsl.Apply, error) {
		close(started)
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return nil, nil
	})
	ok := func(context.Context, int) (asyncdsl.Apply, error) { return nil, nil }
	submit(t, e, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 1, Offset: 11, Key: "hot"}}, ok)
	submit(t, e, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 1, Offset: 12, Key: "cold"}}, ok)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the hot record did not start")
	}
	await.Until(t, 10*time.Second, "the cold record to finish", func() bool {
		p := e.Stats().Partitions
		return len(p) == 1 && p[0].HeldBack == 1
	})

	srv := httptest.NewServer(tracing.Handler(e))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?keys=5")
	if err != nil {
		t.Fatal(err)
	}
	var in tracing.Inspection
	err = json.NewDecoder(resp.Body).Decode(&in)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Partitions) != 1 {
		t.Fatalf("inspection %+v", in)
	}
	p := in.Partitions[0]
	if p.WatermarkHead == nil || p.WatermarkHead.Offset != 10 || p.WatermarkHead.Key != "hot" || p.WatermarkHead.Attempts != 1 || p.WatermarkHead.AgeMs <= 0 {
		t.Errorf("watermark head %+v", p.WatermarkHead)
	}
	if p.CommitLag != 3 || p.HeldBack != 1 || p.Queued != 1 || p.Running != 1 {
		t.Errorf("partition %+v", p)
	}
	if len(p.BlockedKeys) != 1 || p.BlockedKeys[0].Key != "hot" || p.BlockedKeys[0].Unreleased != 2 || p.BlockedKeys[0].HeadState != "running" {
		t.Errorf("blocked keys %+v", p.BlockedKeys)
	}
	if resp, err := http.Post(srv.URL, "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	rm := tel.collect(t)
	part := []attribute.KeyValue{attribute.String("messaging.destination.name", "in"), attribute.String("messaging.destination.partition.id", "1")}
	for name, want := range map[string]int64{
		tracing.MetricInFlight: 3, tracing.MetricRunning: 1, tracing.MetricQueued: 1, tracing.MetricHeldBack: 1,
		tracing.MetricCommitLag: 3, tracing.MetricLongestKeyQueue: 2,
	} {
		match := part
		if name == tracing.MetricInFlight || name == tracing.MetricRunning {
			match = []attribute.KeyValue{attribute.String("messaging.consumer.group.name", "g")}
		}
		if got := sumInt(t, rm, name, match...); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	close(hold)
	if err := e.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A call that ignores its context past its call timeout: the gauges, the
// counters and the inspection report the goroutine stuck in user code
// while it blocks, and its discarded result once it returns.
func TestStuckCallsReported(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	e := newExecutor(t, tr, asyncdsl.WithCallTimeout(50*time.Millisecond), asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError))
	reg, err := tr.ObserveExecutor(e, "g")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	hold := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(unblock) // before the executor's Close: no goroutine outlives the test
	submit(t, e, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 0, Offset: 1, Key: "k"}}, func(context.Context, int) (asyncdsl.Apply, error) {
		<-hold // ignores its context
		return nil, nil
	})
	s := tel.waitEnded(t, "process in", 1)[0]
	wantAttrs(t, s, attribute.String("riffle.outcome", "skipped"))

	group := attribute.String("messaging.consumer.group.name", "g")
	check := func(stuck, detached, discarded int64) {
		t.Helper()
		in := tracing.Inspect(e, 0)
		if int64(in.StuckCalls) != stuck || in.DetachedCalls != detached || in.DiscardedResults != discarded {
			t.Errorf("inspection stuck %d, detached %d, discarded %d; want %d, %d, %d",
				in.StuckCalls, in.DetachedCalls, in.DiscardedResults, stuck, detached, discarded)
		}
		rm := tel.collect(t)
		for name, want := range map[string]int64{
			tracing.MetricStuck: stuck, tracing.MetricDetached: detached, tracing.MetricDiscarded: discarded,
		} {
			if got := sumInt(t, rm, name, group); got != want {
				t.Errorf("%s = %d, want %d", name, got, want)
			}
		}
	}
	check(1, 1, 0)
	unblock()
	await.Until(t, 10*time.Second, "the stuck call to return", func() bool { return e.Stats().Stuck == 0 })
	check(0, 1, 1)
}

// mispartitionSource is a StatsSource that counts mis-partitioned records,
// as a *gokaadapter.Adapter does.
type mispartitionSource struct {
	stats  asyncdsl.Stats
	counts map[int32]int64
}

func (m mispartitionSource) StatsTopKeys(int) asyncdsl.Stats { return m.stats }
func (m mispartitionSource) Mispartitioned(topic string, p int32) int64 {
	if topic != "orders" {
		return 0
	}
	return m.counts[p]
}

// Inspect adds the counts of a MispartitionSource to its partitions, and
// CountMispartitioned feeds riffle.record.mispartitioned per partition (a
// nil Tracing ignores it).
func TestMispartitionedInspectionAndMetric(t *testing.T) {
	src := mispartitionSource{
		stats: asyncdsl.Stats{Partitions: []asyncdsl.PartitionStats{
			{Topic: "orders", Partition: 0, HeadOffset: -1, TailOffset: -1},
			{Topic: "orders", Partition: 1, HeadOffset: -1, TailOffset: -1},
		}},
		counts: map[int32]int64{1: 3},
	}
	in := tracing.Inspect(src, 0)
	if got := []int64{in.Partitions[0].Mispartitioned, in.Partitions[1].Mispartitioned}; got[0] != 0 || got[1] != 3 {
		t.Fatalf("inspection counts %v, want [0 3]", got)
	}
	b, _ := json.Marshal(in.Partitions[1])
	if !json.Valid(b) || !strings.Contains(string(b), `"mispartitioned":3`) {
		t.Errorf("JSON of the partition lacks its count: %s", b)
	}

	tel := newTelemetry(t)
	tr := tel.tracing(t)
	for range 3 {
		tr.CountMispartitioned("g", "orders", 1)
	}
	tr.CountMispartitioned("g", "orders", 2)
	var off *tracing.Tracing
	off.CountMispartitioned("g", "orders", 1)
	rm := tel.collect(t)
	partition := attribute.Key("messaging.destination.partition.id")
	if n := sumInt(t, rm, tracing.MetricMispartitioned, partition.String("1")); n != 3 {
		t.Errorf("%s of partition 1 = %d, want 3", tracing.MetricMispartitioned, n)
	}
	if n := sumInt(t, rm, tracing.MetricMispartitioned); n != 4 {
		t.Errorf("%s = %d, want 4", tracing.MetricMispartitioned, n)
	}
}
