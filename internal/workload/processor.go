package workload

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// processor is what Run needs of a sync or an async processor.
type processor struct {
	run      func(context.Context) error
	ready    func(context.Context) error
	inFlight func() (running, pending int)
	calls    *callTimer
}

// callTimer sums the durations of the callback's runs: in Sync mode around
// the callback on goka's partition goroutine, in Async mode per executor
// attempt (asyncdsl.AttemptHook), which wraps the same callback.
type callTimer struct {
	n, total atomic.Int64
}

func (c *callTimer) add(d time.Duration) {
	c.n.Add(1)
	c.total.Add(int64(d))
}

// mean is the mean duration, 0 if nothing ran.
func (c *callTimer) mean() time.Duration {
	n := c.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(c.total.Load() / n)
}

// OnAttempt implements asyncdsl.AttemptHook.
func (c *callTimer) OnAttempt(_ asyncdsl.Record, _ int, took time.Duration, _ error) { c.add(took) }

// newSyncProcessor builds plain goka's processor: the callback as it is,
// goka.NewProcessor with the cluster's builders and in-memory storage.
func newSyncProcessor(cfg Config, n names, cb goka.ProcessCallback) (*processor, error) {
	var running atomic.Int64
	calls := new(callTimer)
	counted := func(ctx goka.Context, msg any) {
		running.Add(1)
		start := time.Now()
		cb(ctx, msg)
		calls.add(time.Since(start))
		running.Add(-1)
	}
	opts := append(cfg.Settings.ProcessorOptions(),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithLogger(cfg.Logger),
	)
	if cfg.Producer != nil {
		opts = append(opts, goka.WithProducerBuilder(cfg.Producer))
	}
	p, err := goka.NewProcessor(cfg.Settings.Brokers, graph(n, counted, cfg.Task.Persist), opts...)
	if err != nil {
		return nil, fmt.Errorf("workload: sync processor: %w", err)
	}
	return &processor{
		run:   p.Run,
		ready: p.WaitForReadyContext,
		inFlight: func() (int, int) {
			r := int(running.Load())
			return r, r
		},
		calls: calls,
	}, nil
}

// newAsyncProcessor builds riffle's processor: the same callback wrapped by
// Adapter.Async, built with Adapter.NewProcessor. The builders are the
// adapter's options; the producer is franz-go's unless cfg.Producer says
// otherwise.
func newAsyncProcessor(cfg Config, n names, cb goka.ProcessCallback) (*processor, error) {
	calls := new(callTimer)
	exec := []asyncdsl.Option{asyncdsl.WithHook(calls)}
	if cfg.Workers > 0 {
		exec = append(exec, asyncdsl.WithWorkers(cfg.Workers))
	}
	exec = append(exec, cfg.Executor...)
	s := cfg.Settings
	producer := cfg.Producer
	if producer == nil {
		producer = s.KgoProducerBuilder()
	}
	a, err := gokaadapter.New(
		gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(producer),
		gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
		gokaadapter.WithExecutor(exec...),
	)
	if err != nil {
		return nil, fmt.Errorf("workload: async adapter: %w", err)
	}
	g := graph(n, a.Async(cb), cfg.Task.Persist)
	// The consumer builder goka's tables use; the other builders are the
	// adapter's options above (giving one both ways is an error).
	opts := []goka.ProcessorOption{goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()), goka.WithLogger(cfg.Logger)}
	p, err := a.NewProcessor(s.Brokers, g, opts...)
	if err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("workload: async processor: %w", err)
	}
	exe := a.Executor()
	return &processor{
		run:   p.Run,
		ready: p.WaitForReadyContext,
		inFlight: func() (int, int) {
			st := exe.Stats()
			return st.Running, st.Pending
		},
		calls: calls,
	}, nil
}
