package dsl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/samber/lo"
)

// RunOption configures Start and Run. A nil option is ignored.
type RunOption interface{ applyRun(*runConfig) }

type runConfig struct {
	settings    *kafka.Settings
	brokers     []string
	remoteOpts  []kafka.Option
	tt          *tester.Tester
	storage     storage.Builder
	levelDBDir  string
	log         *slog.Logger
	gokaLog     goka.Logger // log, for goka (logger)
	processOpts []goka.ProcessorOption
	producer    Producer
}

type runOptionFunc func(*runConfig)

func (f runOptionFunc) applyRun(c *runConfig) { f(c) }

// OnCluster runs the topology against the cluster s describes: an embedded
// one (broker.Start(...).Settings()) or a real one (kafka.Remote).
func OnCluster(s kafka.Settings) RunOption {
	return runOptionFunc(func(c *runConfig) { c.settings = &s })
}

// OnBrokers runs the topology against a real cluster reached at brokers, with
// kafka.Remote's defaults changed by opts.
func OnBrokers(brokers []string, opts ...kafka.Option) RunOption {
	return runOptionFunc(func(c *runConfig) {
		c.brokers = append([]string(nil), brokers...)
		c.remoteOpts = opts
	})
}

// OnTester runs the topology on goka's tester: every group is a processor of
// tt, and Async steps run in the adapter's deterministic mode, so tt.Consume
// returns once every group (async ones included) has processed everything.
func OnTester(tt *tester.Tester) RunOption {
	return runOptionFunc(func(c *runConfig) { c.tt = tt })
}

// Producer is what the groups of a topology on a cluster write through
// (outputs, tables, loopbacks, dead letters); see WithProducer.
type Producer int

const (
	// DefaultProducers writes async groups through franz-go's client and
	// sync groups through goka's own, as if each had been set up by hand:
	// goka's producer hands each message across unbuffered channels, which
	// bounds async throughput (docs/benchmarks.md).
	DefaultProducers Producer = iota
	// KgoProducer writes every group through franz-go's client
	// (kafka.Settings.KgoProducerBuilder).
	KgoProducer
	// SaramaProducer writes every group through goka's own, on sarama
	// (kafka.Settings.ProducerBuilder): for a SASL mechanism or a client
	// setting that only sarama has.
	SaramaProducer
)

// WithProducer chooses the producer of every group on a cluster. Default:
// DefaultProducers. Both reach secured clusters with the TLS and SASL
// settings of the run's kafka.Settings.
func WithProducer(p Producer) RunOption {
	return runOptionFunc(func(c *runConfig) { c.producer = p })
}

// producerBuilder is the producer of a group on s; async says whether the
// group has Async steps.
func (c *runConfig) producerBuilder(s kafka.Settings, async bool) goka.ProducerBuilder {
	switch {
	case c.producer == KgoProducer, c.producer == DefaultProducers && async:
		return s.KgoProducerBuilder()
	default:
		return s.ProducerBuilder()
	}
}

// WithProcessorOptions adds goka options to every group's processor, after
// the builders that the cluster settings provide.
func WithProcessorOptions(opts ...goka.ProcessorOption) RunOption {
	return runOptionFunc(func(c *runConfig) { c.processOpts = append(c.processOpts, opts...) })
}

// processor is what a goka processor and a gokaadapter.Processor have in
// common.
type processor interface {
	Run(ctx context.Context) error
	WaitForReadyContext(ctx context.Context) error
}

// Running is a started topology. Wait for it with Wait.
type Running struct {
	names  []string
	procs  []processor
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		err error
	}
}

// Run runs every group of the topology until ctx is cancelled or a group
// fails, and returns the first group error (nil after a cancel).
func (t *Topology) Run(ctx context.Context, opts ...RunOption) error {
	r, err := t.Start(ctx, opts...)
	if err != nil {
		return err
	}
	return r.Wait()
}

// Start creates the topics the topology needs (on a cluster), builds one goka
// processor per group (through a gokaadapter.Adapter with its own executor
// for groups with Async steps) and runs them in the background. When ctx is
// cancelled, or a group fails, every group stops; Wait returns then.
func (t *Topology) Start(ctx context.Context, opts ...RunOption) (*Running, error) {
	var cfg runConfig
	for _, o := range opts {
		if o != nil {
			o.applyRun(&cfg)
		}
	}
	targets := 0
	for _, set := range []bool{cfg.settings != nil, cfg.brokers != nil, cfg.tt != nil} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return nil, errors.New("dsl: Start needs exactly one of OnCluster, OnBrokers and OnTester")
	}
	if cfg.producer < DefaultProducers || cfg.producer > SaramaProducer {
		return nil, fmt.Errorf("dsl: WithProducer(%d) is not one of DefaultProducers, KgoProducer and SaramaProducer", cfg.producer)
	}
	if cfg.brokers != nil {
		s, err := kafka.Remote(cfg.brokers, cfg.remoteOpts...)
		if err != nil {
			return nil, fmt.Errorf("dsl: brokers: %w", err)
		}
		cfg.settings = &s
	}
	if cfg.settings != nil {
		if err := t.ensureTopics(ctx, *cfg.settings); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	r := &Running{cancel: cancel}
	var adapters []*gokaadapter.Adapter
	for _, g := range t.groups {
		p, a, err := t.processor(g, &cfg)
		if err != nil {
			cancel()
			for _, a := range adapters {
				_ = a.Close()
			}
			return nil, &RunError{Group: g.name, Err: err}
		}
		if a != nil {
			adapters = append(adapters, a)
		}
		r.names = append(r.names, g.name)
		r.procs = append(r.procs, p)
	}
	for i, p := range r.procs {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			// An error that comes after the run was cancelled (by the
			// caller, or because another group failed first) is shutdown
			// noise, such as goka's "context closed while waiting for
			// startup tables"; the first real error wins.
			if err := p.Run(runCtx); err != nil && runCtx.Err() == nil {
				r.fail(&RunError{Group: r.names[i], Err: err})
			}
		}()
	}
	return r, nil
}

func (r *Running) fail(err error) {
	r.mu.Lock()
	if r.mu.err == nil {
		r.mu.err = err
	}
	r.mu.Unlock()
	r.cancel() // stop the other groups
}

// WaitReady waits until every group's processor has recovered its tables
// and consumes, or ctx ends.
func (r *Running) WaitReady(ctx context.Context) error {
	for i, p := range r.procs {
		if err := p.WaitForReadyContext(ctx); err != nil {
			return &RunError{Group: r.names[i], Err: err}
		}
	}
	return nil
}

// Stop cancels the run and waits for every group to stop.
func (r *Running) Stop() error {
	r.cancel()
	return r.Wait()
}

// Wait waits until every group stopped and returns the first group error.
func (r *Running) Wait() error {
	r.wg.Wait()
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.err
}

// processor builds the goka processor of g.
func (t *Topology) processor(g *group, cfg *runConfig) (processor, *gokaadapter.Adapter, error) {
	cb := g.callback(cfg.logger())
	if !g.async() {
		var opts []goka.ProcessorOption
		var brokers []string
		if cfg.tt != nil {
			opts = append(opts, goka.WithTester(cfg.tt))
		} else {
			brokers = cfg.settings.Brokers
			opts = append(opts, cfg.settings.ProcessorOptions()...)
			opts = append(opts, goka.WithStorageBuilder(gokaadapter.RebuildAheadCaches(
				cfg.storageOf(g.name), cfg.settings.TopicManagerBuilder(), brokers, cfg.logger())))
			opts = append(opts, goka.WithProducerBuilder(cfg.producerBuilder(*cfg.settings, false)))
			// Join again after a transient group error, as the adapter
			// does for async groups (gokaadapter.WithRejoin).
			cg, err := gokaadapter.RejoinConsumerGroupBuilder(cfg.settings.ConsumerGroupBuilder(), gokaadapter.Rejoin{}, cfg.slogger())
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, goka.WithConsumerGroupBuilder(cg))
		}
		opts = append(opts, goka.WithLogger(cfg.logger()))
		opts = append(opts, cfg.processOpts...)
		p, err := goka.NewProcessor(brokers, g.graph(cb), opts...)
		return p, nil, err
	}
	execOpts := append(append([]asyncdsl.Option(nil), g.pool.opts...), g.asyncOpts...)
	aopts := []gokaadapter.Option{gokaadapter.WithExecutor(execOpts...), gokaadapter.WithLogger(cfg.slogger())}
	if g.deadLetters != "" {
		aopts = append(aopts, gokaadapter.WithDeadLetterTopic(goka.Stream(g.deadLetters)))
	}
	var brokers []string
	if cfg.tt != nil {
		aopts = append(aopts, gokaadapter.WithTester(cfg.tt))
	}
	a, err := gokaadapter.New(aopts...)
	if err != nil {
		return nil, nil, err
	}
	var popts []goka.ProcessorOption
	if cfg.tt == nil {
		s := cfg.settings
		brokers = s.Brokers
		// The builders as goka options, which the adapter wraps, so that
		// one the program passes with WithProcessorOptions wins, as in a
		// sync group. The producer is the run's choice (WithProducer).
		popts = append(popts,
			goka.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
			goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()),
			goka.WithProducerBuilder(cfg.producerBuilder(*s, true)),
			goka.WithTopicManagerBuilder(s.TopicManagerBuilder()),
			goka.WithStorageBuilder(cfg.storageOf(g.name)))
	}
	popts = append(popts, goka.WithLogger(cfg.logger()))
	popts = append(popts, cfg.processOpts...)
	p, err := a.NewProcessor(brokers, g.graph(a.Async(cb)), popts...)
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	return p, a, nil
}

// ensureTopics creates the streams (inputs, intermediate topics, outputs)
// with s.Partitions partitions and the tables with goka's topic manager, so
// that every group finds its inputs and the tables it joins when it starts.
func (t *Topology) ensureTopics(ctx context.Context, s kafka.Settings) error {
	var streams, tables []string
	seen := map[string]bool{}
	for _, g := range t.groups {
		topics := append([]string{g.input}, topicsOf(g.outputs)...)
		if g.deadLetters != "" && !g.async() {
			topics = append(topics, g.deadLetters) // the adapter creates an async group's
		}
		for _, topic := range topics {
			if !seen[topic] {
				seen[topic] = true
				streams = append(streams, topic)
			}
		}
		for _, e := range append(append([]edgeTopic(nil), g.joins...), g.lookups...) {
			if !seen[e.topic] {
				seen[e.topic] = true
				tables = append(tables, e.topic)
			}
		}
		if g.table != nil && !seen[g.table.topic] {
			seen[g.table.topic] = true
			tables = append(tables, g.table.topic)
		}
	}
	if err := s.EnsureTopics(ctx, streams...); err != nil {
		return fmt.Errorf("dsl: creating topics: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	tm, err := s.TopicManagerBuilder()(s.Brokers)
	if err != nil {
		return fmt.Errorf("dsl: topic manager: %w", err)
	}
	defer tm.Close()
	for _, topic := range tables {
		if err := tm.EnsureTableExists(topic, s.Partitions); err != nil {
			return fmt.Errorf("dsl: creating table %s: %w", topic, err)
		}
	}
	return nil
}

func topicsOf(es []edgeTopic) []string {
	return lo.Map(es, func(e edgeTopic, _ int) string { return e.topic })
}

// WithLogger sets the logger of the topology: its own lines (skipped
// records under WithErrorPolicy, rebuilt caches), the adapter's of its
// async groups (gokaadapter.WithLogger) and, at info level, goka's of every
// group (goka.WithLogger). Default slog.Default(), read by Start.
func WithLogger(l *slog.Logger) RunOption {
	return runOptionFunc(func(c *runConfig) { c.log = l })
}

// slogger returns the logger of the run.
func (c *runConfig) slogger() *slog.Logger {
	if c.log == nil {
		c.log = slog.Default()
	}
	return c.log
}

// logger returns the logger of the run as goka takes one: its lines at
// info level.
func (c *runConfig) logger() goka.Logger {
	if c.gokaLog == nil {
		c.gokaLog = slog.NewLogLogger(c.slogger().Handler(), slog.LevelInfo)
	}
	return c.gokaLog
}
