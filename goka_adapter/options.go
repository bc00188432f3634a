package gokaadapter

import (
	"hash"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// config is the adapter's configuration, filled by New.
type config struct {
	executor []asyncdsl.Option

	// Base builders, wrapped by the adapter. goka's options are opaque, so
	// builders that a program passes to goka.NewProcessor today move here.
	consumerGroup goka.ConsumerGroupBuilder
	producer      goka.ProducerBuilder
	storage       storage.Builder
	topicManager  goka.TopicManagerBuilder
	hasher        func() hash.Hash32

	tracing *tracing.Tracing
	logger  goka.Logger

	rejoin   Rejoin // see WithRejoin
	noRejoin bool

	tester          *tester.Tester
	deterministic   bool
	deadLetterTopic goka.Stream
}

// Option configures an Adapter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithExecutor passes options to the executor: workers, queue bounds, call
// timeout, retries, error policy, drain timeout. See package asyncdsl.
func WithExecutor(opts ...asyncdsl.Option) Option {
	return optionFunc(func(c *config) { c.executor = append(c.executor, opts...) })
}

// WithConsumerGroupBuilder sets the consumer group builder the adapter wraps.
// Default goka.DefaultConsumerGroupBuilder. Pass it here rather than as a
// goka option: a goka.WithConsumerGroupBuilder given to NewProcessor would be
// replaced by the adapter's wrapper.
func WithConsumerGroupBuilder(b goka.ConsumerGroupBuilder) Option {
	return optionFunc(func(c *config) { c.consumerGroup = b })
}

// WithProducerBuilder sets the producer builder the adapter wraps. Default
// goka.DefaultProducerBuilder. Same rule as WithConsumerGroupBuilder.
func WithProducerBuilder(b goka.ProducerBuilder) Option {
	return optionFunc(func(c *config) { c.producer = b })
}

// WithStorageBuilder sets the storage builder the adapter wraps. Default:
// goka's default, LevelDB under goka.DefaultProcessorStoragePath(group). The
// storage must be safe for concurrent readers; the adapter serialises writes.
func WithStorageBuilder(b storage.Builder) Option {
	return optionFunc(func(c *config) { c.storage = b })
}

// WithTopicManagerBuilder sets the topic manager builder, used by goka and by
// the adapter to create the dead-letter topic. Default
// goka.DefaultTopicManagerBuilder.
func WithTopicManagerBuilder(b goka.TopicManagerBuilder) Option {
	return optionFunc(func(c *config) { c.topicManager = b })
}

// WithHasher sets the hasher used to find a lookup key's partition. It must
// be the hasher the processor uses (goka.WithHasher). Default
// goka.DefaultHasher.
func WithHasher(h func() hash.Hash32) Option { return optionFunc(func(c *config) { c.hasher = h }) }

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
		c.consumerGroup = tt.ConsumerGroupBuilder()
		c.producer = tt.ProducerBuilder()
		c.storage = tt.StorageBuilder()
		c.topicManager = tt.TopicManagerBuilder()
	})
}

// WithTracing turns on OpenTelemetry spans and metrics for the adapter's
// async records (see package tracing): one consumer span per record that
// continues the producer's trace from the traceparent header, the waits for
// the key and for a worker, the write-back, traceparent injected into
// emitted records, and the executor's gauges. Default: off, and then the
// adapter does no tracing work at all. A nil t is the same as off.
func WithTracing(t *tracing.Tracing) Option { return optionFunc(func(c *config) { c.tracing = t }) }

// WithLogger sets where the adapter logs what it does on its own, such as
// joining the group again after a transient error (WithRejoin). Default
// goka.DefaultLogger(), the standard library's logger on stderr, as goka's
// own. Pass the logger given to goka.WithLogger to have both in one place.
func WithLogger(l goka.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }
