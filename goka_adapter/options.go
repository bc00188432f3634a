package gokaadapter

import (
	"hash"
	"log/slog"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// config is the adapter's configuration, filled by New.
type config struct {
	executor []asyncdsl.Option

	// builders are the base builders given as the adapter's options, nil
	// where none was. The same builders may come as goka options to
	// NewProcessor instead (goka_options.go); NewProcessor resolves them.
	builders gokaBuilders
	hasher   func() hash.Hash32

	strictPartitioning bool

	tracing *tracing.Tracing
	logger  *slog.Logger

	rejoin   Rejoin // see WithRejoin
	noRejoin bool

	tester          *tester.Tester
	deterministic   bool
	deadLetterTopic goka.Stream
}

// Option configures an Adapter. A nil option is ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithExecutor passes options to the executor: workers, queue bounds, call
// timeout, retries, error policy, drain timeout. See package asyncdsl.
func WithExecutor(opts ...asyncdsl.Option) Option {
	return optionFunc(func(c *config) { c.executor = append(c.executor, opts...) })
}

// WithConsumerGroupBuilder sets the consumer group builder the adapter wraps.
// Default goka.DefaultConsumerGroupBuilder. A goka.WithConsumerGroupBuilder
// given to NewProcessor does the same; giving both is an error
// (ErrBuilderConflict). The same holds for the other builder options below.
func WithConsumerGroupBuilder(b goka.ConsumerGroupBuilder) Option {
	return optionFunc(func(c *config) { c.builders.consumerGroup = b })
}

// WithProducerBuilder sets the producer builder the adapter wraps. Default
// goka.DefaultProducerBuilder; or goka.WithProducerBuilder given to
// NewProcessor.
func WithProducerBuilder(b goka.ProducerBuilder) Option {
	return optionFunc(func(c *config) { c.builders.producer = b })
}

// WithStorageBuilder sets the storage builder the adapter wraps. Default:
// goka's default, LevelDB under goka.DefaultProcessorStoragePath(group); or
// goka.WithStorageBuilder given to NewProcessor. The storage must be safe
// for concurrent readers; the adapter serialises writes. Whatever the
// builder, a partition's cache whose stored offset is ahead of its table
// topic is emptied and rebuilt from the topic (stale_cache.go).
func WithStorageBuilder(b storage.Builder) Option {
	return optionFunc(func(c *config) { c.builders.storage = b })
}

// WithTopicManagerBuilder sets the topic manager builder, used by goka and by
// the adapter to create the dead-letter topic and to check local caches
// against their topics. Default goka.DefaultTopicManagerBuilder; or
// goka.WithTopicManagerBuilder given to NewProcessor.
func WithTopicManagerBuilder(b goka.TopicManagerBuilder) Option {
	return optionFunc(func(c *config) { c.builders.topicManager = b })
}

// WithHasher sets the hasher used to find a lookup key's partition and to
// check that each input record's key belongs to the partition it came from
// (see WithStrictPartitioning). It must be the hasher the processor uses
// (goka.WithHasher). Default goka.DefaultHasher, sarama's FNV-1a; for
// inputs written by Java clients or Kafka Streams, use Murmur2Hasher on
// both.
func WithHasher(h func() hash.Hash32) Option { return optionFunc(func(c *config) { c.hasher = h }) }

// WithStrictPartitioning sends an input record whose key the hasher (see
// WithHasher) puts in another partition than the one it came from to the
// error policy, as a *MispartitionedError, instead of processing it. Such a
// record was written by a producer that does not partition as goka does;
// processed, it reads and writes state that the other records of its key
// never see. Default off: such records are processed, counted
// (Adapter.Mispartitioned, the riffle.record.mispartitioned metric) and the
// first of each partition is logged.
func WithStrictPartitioning() Option {
	return optionFunc(func(c *config) { c.strictPartitioning = true })
}

// WithDeadLetterTopic sets the topic that records go to under
// asyncdsl.DeadLetterOnError. Default "<group>-dead-letters". The adapter
// creates it when the processor is built.
func WithDeadLetterTopic(topic goka.Stream) Option {
	return optionFunc(func(c *config) { c.deadLetterTopic = topic })
}

// WithDeterministic makes every async callback wait, on goka's partition
// goroutine, until its record is released. Records then complete one after
// the other, in delivery order: the mode for unit tests.
func WithDeterministic() Option { return optionFunc(func(c *config) { c.deterministic = true }) }

// WithTester runs the processor under goka's tester: the tester's builders
// become the base builders, goka.WithTester is applied, and the deterministic
// mode is on, so that tt.Consume returns after the async work is done.
func WithTester(tt *tester.Tester) Option {
	return optionFunc(func(c *config) {
		c.tester = tt
		c.deterministic = true
		c.builders = gokaBuilders{
			storage:       tt.StorageBuilder(),
			producer:      tt.ProducerBuilder(),
			consumerGroup: tt.ConsumerGroupBuilder(),
			topicManager:  tt.TopicManagerBuilder(),
		}
	})
}

// WithTracing turns on OpenTelemetry spans and metrics for the adapter's
// async records (see package tracing): one consumer span per record that
// continues the producer's trace from the traceparent header, the waits for
// the key and for a worker, the write-back, traceparent injected into
// emitted records, and the executor's gauges. Default: off, and then the
// adapter does no tracing work at all. A nil t is the same as off.
func WithTracing(t *tracing.Tracing) Option { return optionFunc(func(c *config) { c.tracing = t }) }

// WithLogger sets the logger of the adapter's lines about single records:
// a record skipped by the error policy, a dead letter written without the
// record's value because the full one was refused, a record skipped
// because even that was refused, and the first mis-partitioned record of a
// partition (see WithStrictPartitioning); and what it does on its own, such as
// joining the group again after a transient error (WithRejoin). Per (topic,
// partition) and kind, the first record is logged, and later ones are summed up in one line at most once a
// minute, so that a topic full of bad records cannot flood the log (every
// one is counted in the executor's Stats and, with tracing, in the
// metrics). Default slog.Default(), read by New; the adapter never changes
// a global logger.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }
