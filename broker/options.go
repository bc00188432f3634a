package broker

import (
	"cmp"
	"log/slog"

	"github.com/IBM/sarama"
)

// DefaultPartitions is the partition count of topics that Start's cluster
// creates on its own (auto-created and seed topics) and that EnsureTopics
// creates, unless WithPartitions says otherwise.
const DefaultPartitions = 4

// ClusterOption configures Start.
type ClusterOption interface{ applyCluster(*clusterConfig) }

// RemoteOption configures Remote.
type RemoteOption interface{ applyRemote(*remoteConfig) }

// Option configures both Start and Remote.
type Option interface {
	ClusterOption
	RemoteOption
}

// clusterConfig is what Start is given; Start validates it before it listens.
type clusterConfig struct {
	partitions int
	port       int
	seedTopics []string
	sarama     *sarama.Config
	security   security
	dataDir    string
	syncWrites bool
	logger     *slog.Logger
	err        error // the first option that could not be applied
}

// remoteConfig is what Remote is given; Remote validates it.
type remoteConfig struct {
	settings Settings
	security security
	err      error // the first option that could not be applied
}

// option is an Option: one function for each of the configs it applies to.
type option struct {
	cluster func(*clusterConfig)
	remote  func(*remoteConfig)
}

func (o option) applyCluster(c *clusterConfig) { o.cluster(c) }
func (o option) applyRemote(r *remoteConfig)   { o.remote(r) }

type clusterOption func(*clusterConfig)

func (o clusterOption) applyCluster(c *clusterConfig) { o(c) }

type remoteOption func(*remoteConfig)

func (o remoteOption) applyRemote(r *remoteConfig) { o(r) }

// WithPartitions sets the partition count of the topics the cluster creates on
// its own and of those EnsureTopics creates (Settings.Partitions), overriding
// DefaultPartitions. It must be at least 1.
//
// goka sizes a group's table and loop topics from its input topics, so this
// is the partition count of every group built on topics created here.
func WithPartitions(n int) Option {
	return option{
		cluster: func(c *clusterConfig) { c.partitions = n },
		remote:  func(r *remoteConfig) { r.settings.Partitions = n },
	}
}

// WithSaramaConfig sets the base sarama configuration (Settings.Sarama),
// overriding DefaultSaramaConfig. The option copies *cfg when it is made, so
// later changes to cfg have no effect; nil is rejected. Start it from
// DefaultSaramaConfig to keep the choices documented there.
//
// Against Start's cluster, cfg.Version must be sarama.V2_3_0_0 or lower (see
// DefaultSaramaConfig). The embedded cluster accepts group session timeouts
// from 1 s, where Kafka brokers accept 6 s and up by default, so that tests
// of crashes and rebalances can be fast.
func WithSaramaConfig(cfg *sarama.Config) Option {
	cp := copyConfig(cfg)
	var err error
	if cfg == nil {
		err = invalid("nil sarama config")
	}
	return option{
		cluster: func(c *clusterConfig) { c.sarama, c.err = cp, cmp.Or(c.err, err) },
		remote:  func(r *remoteConfig) { r.settings.Sarama, r.err = cp, cmp.Or(r.err, err) },
	}
}

// WithReplicationFactor sets the replication factor of the topics that goka's
// topic manager and EnsureTopics create on a real cluster
// (Settings.ReplicationFactor), overriding the default of 1, which suits a
// single-broker development cluster. Production clusters want 3.
//
// There is no such option for Start: its cluster has one broker, so the
// factor is always 1.
func WithReplicationFactor(n int) RemoteOption {
	return remoteOption(func(r *remoteConfig) { r.settings.ReplicationFactor = n })
}

// WithPort makes Start listen on 127.0.0.1:port, overriding a port chosen by
// the system. The cluster never listens on another interface.
func WithPort(port int) ClusterOption {
	return clusterOption(func(c *clusterConfig) { c.port = port })
}

// WithSeedTopics makes Start create the topics, with the cluster's partition
// count (WithPartitions), before it returns. It can be given more than once;
// the topics add up.
//
// Topics can also be created later with Settings.EnsureTopics, and producers
// create the topics they write to on their own (auto-creation is on), but a
// goka processor's input topics must exist before it starts.
func WithSeedTopics(topics ...string) ClusterOption {
	return clusterOption(func(c *clusterConfig) { c.seedTopics = append(c.seedTopics, topics...) })
}

// WithLogger sets where Start's cluster logs what it does on its own, such
// as removing a dead group member (see Cluster). Default slog.Default().
func WithLogger(l *slog.Logger) ClusterOption {
	return clusterOption(func(c *clusterConfig) { c.logger = l })
}
