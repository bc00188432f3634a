package kafka

import (
	"github.com/IBM/sarama"
)

// DefaultPartitions is the partition count of the topics EnsureTopics creates
// (Settings.Partitions) unless WithPartitions says otherwise. The embedded
// cluster (package broker) creates its topics with it too.
const DefaultPartitions = 4

// Option configures Remote. A nil option is ignored.
type Option interface{ apply(*config) }

// config is what Remote is given; Remote validates it.
type config struct {
	settings Settings
	security security
	problems []string // of the options that could not be applied, in order
}

type option func(*config)

func (o option) apply(c *config) { o(c) }

// WithPartitions sets the partition count of the topics EnsureTopics creates
// (Settings.Partitions), overriding DefaultPartitions. It must be at least 1.
//
// goka sizes a group's table and loop topics from its input topics, so this
// is the partition count of every group built on topics created here.
func WithPartitions(n int) Option {
	return option(func(c *config) { c.settings.Partitions = n })
}

// WithSaramaConfig sets the base sarama configuration (Settings.Sarama),
// overriding DefaultSaramaConfig. The option copies *cfg when it is made, so
// later changes to cfg have no effect; nil is rejected. Start it from
// DefaultSaramaConfig to keep the choices documented there.
func WithSaramaConfig(cfg *sarama.Config) Option {
	cp := copyConfig(cfg)
	return option(func(c *config) {
		if cfg == nil {
			c.problems = append(c.problems, "nil sarama config")
		}
		c.settings.Sarama = cp
	})
}

// WithReplicationFactor sets the replication factor of the topics that goka's
// topic manager and EnsureTopics create (Settings.ReplicationFactor),
// overriding the default of 1, which suits a single-broker development
// cluster. Production clusters want 3.
func WithReplicationFactor(n int) Option {
	return option(func(c *config) { c.settings.ReplicationFactor = n })
}
