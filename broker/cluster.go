package broker

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// minSessionTimeout is the smallest group session timeout the embedded cluster
// accepts. Kafka brokers accept 6 s and up by default; the embedded cluster
// accepts less so that tests of crashes and rebalances can use shorter
// timeouts (through WithSaramaConfig) and finish sooner.
const minSessionTimeout = time.Second

// listenHost is the only address the cluster listens on.
const listenHost = "127.0.0.1"

// kfakeMaxVersion is the newest protocol version kfake's consumer groups work
// with (see kafka.DefaultSaramaConfig, which uses it): from V2_4_0_0 up,
// sarama misreads kfake's flexible OffsetFetch answers.
var kfakeMaxVersion = sarama.V2_3_0_0

// Cluster is an embedded Kafka-protocol cluster: franz-go's kfake, with one
// broker, listening on 127.0.0.1 and keeping its logs in memory. It is the
// default cluster of riffle's examples, tests and benchmarks.
//
// Topics are created on first use with the cluster's partition count, as a
// broker with auto.create.topics.enable does, or up front with WithSeedTopics
// or kafka.Settings.EnsureTopics. Everything is lost on Close, unless WithDataDir.
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
	settings   kafka.Settings // the template of Settings; its Sarama is never handed out
}

// Start starts an embedded cluster and returns once it accepts connections.
// The options are checked before anything listens; every bad one is
// reported in one *ConfigError (see ErrInvalidOption). Close releases the
// port and the cluster's goroutines.
func Start(opts ...Option) (*Cluster, error) {
	cfg := config{partitions: kafka.DefaultPartitions}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	problems := cfg.problems
	if cfg.syncWrites && cfg.dataDir == "" {
		problems = append(problems, "sync writes without a data directory")
	}
	if cfg.port < 0 || cfg.port > math.MaxUint16 {
		problems = append(problems, fmt.Sprintf("port must be in [0, %d], got %d", math.MaxUint16, cfg.port))
	}
	// The client settings are built, and so validated (the partition count
	// among them), before the cluster listens; until it does, their broker
	// is the address it will listen on, with port 0 when the system picks
	// it.
	settings, clientErr := kafka.Remote([]string{net.JoinHostPort(listenHost, strconv.Itoa(cfg.port))}, cfg.client...)
	if clientErr == nil && !kfakeMaxVersion.IsAtLeast(settings.Sarama.Version) {
		problems = append(problems, fmt.Sprintf("sarama version %s is newer than %s, the newest the embedded cluster's consumer groups work with",
			settings.Sarama.Version, kfakeMaxVersion))
	}
	if err := invalid(problems, clientErr); err != nil {
		return nil, err
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
	kopts = append(kopts, cfg.securityOpts()...)
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
	settings.Brokers = c.brokers
	c.settings = settings
	log := cmp.Or(cfg.logger, slog.Default())
	c.sweeper = startGroupSweeper(fake, c.sweeperClient, func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) })
	return c, nil
}

// Brokers returns the cluster's address, 127.0.0.1:port, as a new slice.
func (c *Cluster) Brokers() []string { return slices.Clone(c.brokers) }

// Partitions returns the partition count of the topics the cluster creates.
func (c *Cluster) Partitions() int { return c.partitions }

// Settings returns new client settings for the cluster: its brokers, a new
// copy of the sarama config (kafka.DefaultSaramaConfig unless
// WithSaramaConfig, with the security of WithSASL and WithClusterTLS), its
// partition count and a replication factor of 1. Changing them changes
// nothing in the cluster or in other Settings.
func (c *Cluster) Settings() kafka.Settings {
	s := c.settings
	s.Brokers = slices.Clone(s.Brokers)
	s.Sarama = s.SaramaConfig() // a new copy
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
