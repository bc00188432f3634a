package kafka

import (
	"hash"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/internal/topicmanager"
)

// The builders below take a snapshot of s.Sarama when they are made and give
// every client they build a new copy of that snapshot. goka's own
// *BuilderWithConfig builders write ClientID (and the producer's partitioner)
// into the one config they close over, each time they are called; shared
// between two processors, that is a data race and one processor's client ID
// ends up on the other's clients. Here each call gets its own config, so one
// set of options can serve any number of processors, views and emitters.
//
// Each builder dials the brokers goka passes it (those given to
// goka.NewProcessor, NewView or NewEmitter), or s.Brokers when goka passes
// none. A builder whose client the cluster does not let in returns an error
// wrapping ErrAuthenticationFailed.

// ProcessorOptions returns the goka options that make a processor use s: its
// consumer group, consumer, producer and topic manager builders. Append
// options of your own after them; a later option of the same kind wins.
func (s Settings) ProcessorOptions() []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()),
		goka.WithProducerBuilder(s.ProducerBuilder()),
		goka.WithTopicManagerBuilder(s.TopicManagerBuilder()),
	}
}

// ViewOptions returns the goka options that make a view use s: its consumer
// and topic manager builders.
func (s Settings) ViewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewConsumerSaramaBuilder(s.ConsumerBuilder()),
		goka.WithViewTopicManagerBuilder(s.TopicManagerBuilder()),
	}
}

// EmitterOptions returns the goka options that make an emitter use s: its
// producer and topic manager builders.
func (s Settings) EmitterOptions() []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterProducerBuilder(s.ProducerBuilder()),
		goka.WithEmitterTopicManagerBuilder(s.TopicManagerBuilder()),
	}
}

// ConsumerGroupBuilder returns a goka consumer group builder for s, the one
// ProcessorOptions uses. It is exported so that it can be wrapped.
func (s Settings) ConsumerGroupBuilder() goka.ConsumerGroupBuilder {
	base := s.SaramaConfig()
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		g, err := goka.ConsumerGroupBuilderWithConfig(copyConfig(base))(s.brokersOr(brokers), group, clientID)
		return g, s.saramaAuthError(err)
	}
}

// ConsumerBuilder returns a goka builder of sarama consumers (used for tables,
// views and lookups) for s, the one ProcessorOptions and ViewOptions use.
func (s Settings) ConsumerBuilder() goka.SaramaConsumerBuilder {
	base := s.SaramaConfig()
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		c, err := goka.SaramaConsumerBuilderWithConfig(copyConfig(base))(s.brokersOr(brokers), clientID)
		return c, s.saramaAuthError(err)
	}
}

// ProducerBuilder returns a goka producer builder for s, the one
// ProcessorOptions and EmitterOptions use. It partitions with the hasher goka
// passes it, as goka's own builders do. It is exported so that it can be
// wrapped.
func (s Settings) ProducerBuilder() goka.ProducerBuilder {
	base := s.SaramaConfig()
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		p, err := goka.ProducerBuilderWithConfig(copyConfig(base))(s.brokersOr(brokers), clientID, hasher)
		return p, s.saramaAuthError(err)
	}
}

// TopicManagerBuilder returns a goka topic manager builder for s. The topic
// manager creates group tables and loop streams with s.ReplicationFactor (1
// on the embedded cluster, which has one broker; goka's default of 2 would
// fail there) and with the partition count of the group's inputs. Processors
// that start together do not fail on each other's topic creation (see
// internal/topicmanager).
func (s Settings) TopicManagerBuilder() goka.TopicManagerBuilder {
	base := s.SaramaConfig()
	base.ClientID = "goka-topic-manager"
	rf := s.ReplicationFactor
	return topicmanager.RaceTolerant(func(brokers []string) (goka.TopicManager, error) {
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication = rf
		tmc.Stream.Replication = rf
		tm, err := goka.NewTopicManager(s.brokersOr(brokers), copyConfig(base), tmc)
		return tm, s.saramaAuthError(err)
	})
}

func (s Settings) brokersOr(brokers []string) []string {
	if len(brokers) > 0 {
		return brokers
	}
	return s.Brokers
}
