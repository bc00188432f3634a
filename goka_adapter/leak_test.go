package gokaadapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

// When Processor.Run returns, the goroutines of the processor and of its
// executor (workers, assignment watchers) are gone, also when records were
// in flight at the stop and had to be abandoned.
func TestRunLeavesNoGoroutines(t *testing.T) {
	const (
		group  = goka.Group("leak")
		input  = goka.Stream("leak-in")
		output = goka.Stream("leak-out")
		keys   = 20
		perKey = 10
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	// Everything that exists now (the cluster, the test's own goroutines)
	// may outlive the processor. What starts after this must be gone at the
	// end. The test's clients are therefore closed explicitly below.
	before := goleak.IgnoreCurrent()

	cl, err := kgo.NewClient(s.KgoOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)

	// Half of the keys block at their fifth record until the stop cancels
	// them; so at the stop there are running, queued and held-back records.
	a := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(8), asyncdsl.WithDrainTimeout(500*time.Millisecond)))
	started := make(chan struct{}, keys)
	cb := func(ctx goka.Context, msg any) {
		m := msg.(seqMsg)
		if m.Seq == 5 && keyPartition(m.Key, 4)%2 == 0 {
			started <- struct{}{}
			<-ctx.Context().Done()
			ctx.Fail(ctx.Context().Err())
		}
		latency(ctx, time.Millisecond)
		ctx.SetValue(int64(m.Seq))
		ctx.Emit(output, ctx.Key(), m)
	}
	proc := newSeqProcessor(t, a, s, group, input, output, cb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := proc.WaitForReadyContext(readyCtx); err != nil {
		t.Fatalf("processor not ready: %v", err)
	}
	produceSequences(t, cl, string(input), keys, perKey)
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("no record blocked")
	}
	if st := a.Executor().Stats(); st.Pending == 0 {
		t.Fatalf("nothing in flight before the stop: %+v", st)
	}
	_ = committed(t, adm, string(group), string(input)) // exercise the admin client too
	cl.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("processor: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("processor did not stop")
	}
	goleak.VerifyNone(t, leakcheck.Ignore(before)...)
}
