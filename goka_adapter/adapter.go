package gokaadapter

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"go.opentelemetry.io/otel/metric"
)

// Adapter runs wrapped goka callbacks of one processor on an executor.
//
// Create one per processor: it holds that processor's storages, producer and
// commit gate. Wrap callbacks with Async or Input before defining the group,
// then build the processor with NewProcessor.
type Adapter struct {
	cfg      config
	executor *asyncdsl.Executor

	storages *storageRegistry
	producer producerCapture
	emitter  *emitter
	gate     *commitGate
	keys     *keyTracker
	stops    *stops     // failure.go
	log      *recordLog // record_log.go

	partitionCounts *partitionCounts // of the input topics, for the partition check
	rejoin          *rejoiner        // nil with WithoutRejoin

	wrapped atomic.Int32 // callbacks wrapped by Async or Input

	// bound is published once by NewProcessor and never changes after: every
	// record's dispatch reads it, so it is an atomic pointer, not a field
	// under mu.
	bound atomic.Pointer[binding]

	mu struct {
		sync.Mutex
		// metrics is the registration of the executor's gauges, set by
		// NewProcessor when tracing is on, undone by Close.
		metrics metric.Registration
	}
	closeOnce sync.Once
	closeErr  error
}

// New validates the configuration and starts the executor. Close it when
// the processor is done (Processor.Run does).
func New(opts ...Option) (*Adapter, error) {
	cfg := config{rejoin: defaultRejoin}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if problems := cfg.rejoin.validate(); len(problems) > 0 {
		return nil, &ConfigError{Package: "gokaadapter", Problems: problems}
	}
	if cfg.hasher == nil {
		cfg.hasher = goka.DefaultHasher()
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	execOpts := cfg.executor
	if cfg.tracing != nil {
		execOpts = append(execOpts[:len(execOpts):len(execOpts)], asyncdsl.WithHook(cfg.tracing.Hook()))
	}
	exec, err := asyncdsl.New(execOpts...)
	if err != nil {
		return nil, &ConfigError{Package: "gokaadapter", Problems: []string{"executor"}, Err: err}
	}
	a := &Adapter{
		cfg:             cfg,
		executor:        exec,
		storages:        newStorageRegistry(),
		emitter:         newEmitter(),
		gate:            newCommitGate(),
		keys:            newKeyTracker(),
		stops:           newStops(),
		log:             newRecordLog(cfg.logger),
		partitionCounts: newPartitionCounts(),
	}
	if !cfg.noRejoin {
		a.rejoin = &rejoiner{policy: cfg.rejoin, logger: cfg.logger}
	}
	return a, nil
}

// Executor returns the adapter's executor, for stats and inspection.
func (a *Adapter) Executor() *asyncdsl.Executor { return a.executor }

// StatsTopKeys is the executor's StatsTopKeys. With Mispartitioned it makes
// the adapter a tracing.MispartitionSource: tracing.Inspect and
// tracing.Handler given the adapter list the mis-partitioned counts too.
func (a *Adapter) StatsTopKeys(topKeys int) asyncdsl.Stats { return a.executor.StatsTopKeys(topKeys) }

// RejoinStats returns how often the processor joined its group again after
// a transient error (see WithRejoin). It is zero with WithoutRejoin.
func (a *Adapter) RejoinStats() RejoinStats {
	if a.rejoin == nil {
		return RejoinStats{}
	}
	return a.rejoin.stats()
}

// Async wraps a goka callback so that it runs on the adapter's executor.
// The callback's code does not change.
//
// Records that goka cannot decode still stop the processor, as in goka; use
// Input instead to route them through the error policy.
//
// Use each returned callback as the callback of one edge of the processor's
// graph (goka.Input or goka.Loop), not from within another callback: when
// every edge's callback is wrapped, NewProcessor leaves out the guard that
// makes synchronous callbacks wait for async work (see hasSyncCallbacks),
// and it can only tell by counting.
func (a *Adapter) Async(cb goka.ProcessCallback) goka.ProcessCallback {
	a.wrapped.Add(1)
	return func(ctx goka.Context, msg any) { a.dispatch(ctx, msg, cb) }
}

// Input is goka.Input with the callback wrapped by Async and the codec
// wrapped so that a record it cannot decode becomes a *DecodeError handled
// by the error policy (fail, skip or dead-letter) instead of stopping the
// processor outright.
func (a *Adapter) Input(topic goka.Stream, c goka.Codec, cb goka.ProcessCallback) goka.Edge {
	return goka.Input(topic, TolerantCodec(c), a.Async(cb))
}

// NewProcessor builds the goka processor for graph. opts are the goka
// options the program passed to goka.NewProcessor so far, all of them: the
// builders among them (goka.WithStorageBuilder, WithProducerBuilder,
// WithConsumerGroupBuilder, WithTopicManagerBuilder, or a bundle that sets
// them, such as kafka.Settings.ProcessorOptions or goka.WithTester) are
// wrapped by the adapter like the builders of its own options. A builder
// given both as a goka option and as the adapter's option is an error
// wrapping ErrBuilderConflict.
func (a *Adapter) NewProcessor(brokers []string, graph *goka.GroupGraph, opts ...goka.ProcessorOption) (*Processor, error) {
	if graph == nil {
		return nil, &ConfigError{Package: "gokaadapter", Problems: []string{"graph is nil"}}
	}
	if err := graph.Validate(); err != nil {
		return nil, &ConfigError{Package: "gokaadapter", Problems: []string{"invalid group graph"}, Err: err}
	}
	if a.wrapped.Load() == 0 {
		return nil, ErrNoAsyncCallback
	}
	if !a.bound.CompareAndSwap(nil, &binding{graph: graph, guarded: a.hasSyncCallbacks(graph)}) {
		return nil, ErrAdapterInUse
	}

	if t := a.cfg.tracing; t != nil {
		reg, err := t.ObserveExecutor(a.executor, string(graph.Group()))
		if err != nil {
			return nil, &ConfigError{Package: "gokaadapter", Problems: []string{"registering the executor's metrics"}, Err: err}
		}
		a.mu.Lock()
		a.mu.metrics = reg
		a.mu.Unlock()
	}

	po, err := a.processorOptions(brokers, graph, opts, reflect.TypeFor[goka.ProcessorOption]())
	if err != nil {
		return nil, err
	}
	proc, err := goka.NewProcessor(brokers, graph, po.opts...)
	if po.err != nil {
		return nil, po.err
	}
	if err != nil {
		return nil, fmt.Errorf("gokaadapter: building processor for group %s: %w", graph.Group(), err)
	}
	return &Processor{Processor: proc, adapter: a}, nil
}

// binding is what NewProcessor fixes about the adapter's processor.
type binding struct {
	graph *goka.GroupGraph
	// guarded is whether the processor has the sync-callback guard
	// (hasSyncCallbacks). Without it nothing waits for a key, so dispatch
	// does not count records in keys.
	guarded bool
}

// graph returns the graph of the processor, or nil before NewProcessor, and
// whether the processor guards sync callbacks.
func (a *Adapter) graph() (graph *goka.GroupGraph, guarded bool) {
	b := a.bound.Load()
	if b == nil {
		return nil, false
	}
	return b.graph, b.guarded
}

// Close abandons unfinished work, stops the executor and waits for its
// goroutines. Processor.Run calls it when goka's processor has stopped.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		err := a.executor.Close()
		if err != nil && !errors.Is(err, asyncdsl.ErrClosed) {
			a.closeErr = err
		}
		// After the executor: its drain waits for writes the emitter
		// still has to send.
		a.emitter.close()
		a.log.flush() // every record was released
		a.mu.Lock()
		reg := a.mu.metrics
		a.mu.metrics = nil
		a.mu.Unlock()
		if reg != nil {
			if err := reg.Unregister(); err != nil && a.closeErr == nil {
				a.closeErr = fmt.Errorf("gokaadapter: unregistering the executor's metrics: %w", err)
			}
		}
	})
	return a.closeErr
}
