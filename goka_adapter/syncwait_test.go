package gokaadapter_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A callback that stays synchronous, in a group whose other input is async,
// waits until its key has no async record in flight before it reads state
// or emits: it sees the state after every earlier async record of its key,
// and its emit follows theirs.
func TestSyncCallbackWaitsForAsyncWorkOnItsKey(t *testing.T) {
	const (
		group      = goka.Group("syncwait")
		asyncIn    = goka.Stream("syncwait-async")
		syncIn     = goka.Stream("syncwait-sync")
		output     = goka.Stream("syncwait-out")
		perKey     = 5
		partitions = 4
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, asyncIn, syncIn, output)
	// One key per partition: a waiting sync callback blocks its partition,
	// so with one key each, every sync callback arrives while its key's
	// async records are still held.
	var keys []string
	for p := int32(0); p < partitions; p++ {
		keys = append(keys, keysOfPartition("key", p, partitions, 1)...)
	}

	gate := make(chan struct{})
	syncEntered := make(chan string, len(keys))
	a := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(16)))
	increment := func(ctx goka.Context, _ any) {
		select { // a remote call that answers once the test lets it
		case <-gate:
		case <-ctx.Context().Done():
			ctx.Fail(ctx.Context().Err())
		}
		latency(ctx, 5*time.Millisecond)
		n := int64(0)
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.SetValue(n + 1)
		ctx.Emit(output, ctx.Key(), fmt.Sprintf("async %d", n+1))
	}
	report := func(ctx goka.Context, _ any) {
		syncEntered <- ctx.Key()
		n := int64(0)
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.Emit(output, ctx.Key(), fmt.Sprintf("sync %d", n))
	}
	g := goka.DefineGroup(group,
		goka.Input(asyncIn, new(codec.String), a.Async(increment)),
		goka.Input(syncIn, new(codec.String), report), // not wrapped: stays synchronous
		goka.Output(output, new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, proc)
	cl := kafkatest.Client(t, s)

	var recs []*kgo.Record
	for i := 0; i < perKey; i++ {
		for _, k := range keys {
			recs = append(recs, &kgo.Record{Topic: string(asyncIn), Key: []byte(k), Value: []byte("inc")})
		}
	}
	kafkatest.Produce(t, cl, recs...)
	// The async records were all delivered (their sync successors are
	// produced only now, so goka delivers those after them).
	await.Until(t, 30*time.Second, "the async records to be submitted", func() bool {
		return a.Executor().Stats().Pending == len(recs)
	})
	recs = recs[:0]
	for _, k := range keys {
		recs = append(recs, &kgo.Record{Topic: string(syncIn), Key: []byte(k), Value: []byte("report")})
	}
	kafkatest.Produce(t, cl, recs...)
	for range keys {
		select {
		case <-syncEntered:
		case <-time.After(30 * time.Second):
			t.Fatal("the sync callbacks did not run")
		}
	}
	close(gate)

	outs := kafkatest.Consume(t, s, string(output), len(keys)*(perKey+1), 30*time.Second)
	byKey := map[string][]string{}
	for _, o := range outs {
		byKey[string(o.Key)] = append(byKey[string(o.Key)], string(o.Value))
	}
	for _, k := range keys {
		var want []string
		for i := 1; i <= perKey; i++ {
			want = append(want, fmt.Sprintf("async %d", i))
		}
		want = append(want, fmt.Sprintf("sync %d", perKey))
		if fmt.Sprint(byKey[k]) != fmt.Sprint(want) {
			t.Errorf("key %s: outputs %q, want %q", k, byKey[k], want)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("processor: %v", err)
	}
}
