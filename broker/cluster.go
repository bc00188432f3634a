package broker

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// minSessionTimeout is the smallest group session timeout the embedded cluster
// accepts. Kafka brokers accept 6 s and up by default; the embedded cluster
// accepts less so that tests of crashes and rebalances can use shorter
// timeouts (through WithSaramaConfig) and finish sooner.
const minSessionTimeout = time.Second

// Cluster is an embedded Kafka-protocol cluster: franz-go's kfake, with one
// broker, listening on 127.0.0.1 and keeping its logs in memory. It is the
// default cluster of riffle's examples, tests and benchmarks.
//
// Topics are created on first use with the cluster's partition count, as a
// broker with auto.create.topics.enable does, or up front with WithSeedTopics
// or Settings.EnsureTopics. Everything is lost on Close, unless WithDataDir.
//
// Consumer group members expire as on a Kafka broker: one that dies
// without leaving (kill -9) is removed once its session timeout passes
// without a heartbeat, and one whose JoinGroup the cluster holds in a
// rebalance is not expired meanwhile. kfake alone gets both wrong at times:
// it can keep a member that died while its first join was held in a Stable
// group forever, with its partitions unconsumed, and it expires a live
// member while it holds its JoinGroup and never answers it (the client
// times out). A sweeper owned by the Cluster mends both from outside
// (removals are logged, see WithLogger); docs/reliability.md has the
// details.
//
// A Cluster is safe for concurrent use.
type Cluster struct {
	fake       *kfake.Cluster
	sweeper    *groupSweeper
	brokers    []string
	partitions int
	settings   Settings // the template of Settings; its Sarama is never handed out
}

// Start starts an embedded cluster and returns once it accepts connections.
// The options are checked before anything listens. Close releases the port
// and the cluster's goroutines.
func Start(opts ...ClusterOption) (*Cluster, error) {
	cfg := clusterConfig{partitions: DefaultPartitions}
	for _, o := range opts {
		o.applyCluster(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if cfg.partitions < 1 || cfg.partitions > math.MaxInt32 {
		return nil, invalid("partitions must be in [1, %d], got %d", math.MaxInt32, cfg.partitions)
	}
	if cfg.syncWrites && cfg.dataDir == "" {
		return nil, invalid("sync writes without a data directory")
	}
	if cfg.port < 0 || cfg.port > math.MaxUint16 {
		return nil, invalid("port must be in [0, %d], got %d", math.MaxUint16, cfg.port)
	}
	if cfg.sarama == nil {
		cfg.sarama = DefaultSaramaConfig()
	}
	sc, err := cfg.security.applyTo(cfg.sarama)
	if err != nil {
		return nil, err
	}
	cfg.sarama = sc
	if !kfakeMaxVersion.IsAtLeast(cfg.sarama.Version) {
		return nil, invalid("sarama version %s is newer than %s, the newest the embedded cluster's consumer groups work with",
			cfg.sarama.Version, kfakeMaxVersion)
	}
	if err := cfg.sarama.Validate(); err != nil {
		return nil, invalid("sarama config: %w", err)
	}

	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.partitions),
		kfake.GroupMinSessionTimeout(minSessionTimeout),
	}
	if len(cfg.seedTopics) > 0 {
		kopts = append(kopts, kfake.SeedTopics(int32(cfg.partitions), cfg.seedTopics...))
	}
	kopts = append(kopts, cfg.security.kfakeOpts()...)
	kopts = append(kopts, cfg.persistence()...)
	restarted := cfg.dataDir != "" && hasGroups(cfg.dataDir)
	if cfg.dataDir != "" {
		// kfake does not rebuild its producers' sequence state from its
		// log after a crash (producer_state.go).
		if err := rebuildProducerState(cfg.dataDir); err != nil {
			return nil, err
		}
	}
	fake, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start embedded cluster: %w", err)
	}
	if restarted {
		holdJoinsAfterRestart(fake, restartJoinGrace)
	}

	c := &Cluster{
		fake:       fake,
		brokers:    fake.ListenAddrs(),
		partitions: cfg.partitions,
	}
	c.settings = Settings{
		Brokers:           c.brokers,
		Sarama:            cfg.sarama,
		Partitions:        cfg.partitions,
		ReplicationFactor: 1,
	}
	log := cmp.Or(cfg.logger, slog.Default())
	c.sweeper = startGroupSweeper(fake, c.sweeperClient, func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) })
	return c, nil
}

// Brokers returns the cluster's address, 127.0.0.1:port, as a new slice.
func (c *Cluster) Brokers() []string { return slices.Clone(c.brokers) }

// Partitions returns the partition count of the topics the cluster creates.
func (c *Cluster) Partitions() int { return c.partitions }

// Settings returns new Settings for the cluster: its brokers, a new copy of
// the sarama config (DefaultSaramaConfig unless WithSaramaConfig), its
// partition count and a replication factor of 1. Changing them changes
// nothing in the cluster or in other Settings.
func (c *Cluster) Settings() Settings {
	s := c.settings
	s.Brokers = slices.Clone(s.Brokers)
	s.Sarama = copyConfig(s.Sarama)
	return s
}

// Kfake returns the underlying kfake cluster, for what this package does not
// wrap: fault injection with Control and ControlKey, moving partitions,
// compaction. Do not Close it; close c.
func (c *Cluster) Kfake() *kfake.Cluster { return c.fake }

// Close shuts the cluster down: it stops listening and drops its data.
// Clients still connected see their connections fail, so close processors,
// views, emitters and clients first. kfake's goroutines end shortly after
// Close returns; kfake gives no way to wait for them. Close may be called
// more than once.
func (c *Cluster) Close() {
	c.sweeper.stop() // before the cluster: it reads the cluster's groups
	c.fake.Close()
}
