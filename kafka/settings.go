package kafka

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Settings are what goka processors, views and emitters, and franz-go clients,
// need to talk to one cluster: Remote describes a real one, and
// broker.Cluster.Settings the embedded one. Code that takes Settings runs
// against both.
//
// Settings is a plain value: copy it and set a field, and the copy describes
// another setup (copies share the Brokers slice and what Sarama points to, so
// replace those rather than change them in place, or start from
// broker.Cluster.Settings, which returns new ones). Nothing in it is global;
// in particular it never touches goka's global config (goka.ReplaceGlobalConfig).
// Every method that hands a sarama config to a client hands it a new copy of
// Sarama, because sarama configs are mutable and goka's builders write
// ClientID and Producer.Partitioner into the config they are given.
type Settings struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string

	// Sarama is the base sarama configuration of goka's clients. Nil means
	// DefaultSaramaConfig. It is never handed to a client itself: see
	// SaramaConfig.
	Sarama *sarama.Config

	// Partitions is the partition count of the topics EnsureTopics creates.
	// goka derives the partition count of a group's table and loop topics
	// from its inputs, so it is not needed there.
	Partitions int

	// ReplicationFactor is the replication factor of the topics that goka's
	// topic manager (tables and loop streams) and EnsureTopics create.
	ReplicationFactor int
}

// Remote returns the Settings of a real Kafka-protocol cluster (Apache Kafka,
// Redpanda, ...) reached at brokers. The defaults are DefaultSaramaConfig,
// DefaultPartitions and a replication factor of 1; see the options. The
// settings are validated before Remote returns, and every bad option and
// field is reported in one *ConfigError (see Validate); no connection is
// opened.
func Remote(brokers []string, opts ...Option) (Settings, error) {
	r := config{settings: Settings{
		Brokers:           slices.Clone(brokers),
		Partitions:        DefaultPartitions,
		ReplicationFactor: 1,
	}}
	for _, o := range opts {
		if o != nil {
			o.apply(&r)
		}
	}
	if r.settings.Sarama == nil {
		r.settings.Sarama = DefaultSaramaConfig()
	}
	r.settings.Sarama = r.security.applyTo(r.settings.Sarama)
	if err := invalid(append(r.problems, r.settings.problems()...)); err != nil {
		return Settings{}, err
	}
	return r.settings, nil
}

// Validate reports every field that is not usable (no brokers, a partition
// count or replication factor out of range, a sarama config that sarama
// itself rejects) in one *ConfigError, whose Err is ErrInvalidSettings.
func (s Settings) Validate() error { return invalid(s.problems()) }

// problems lists what Validate reports, one line per field.
func (s Settings) problems() []string {
	var p []string
	if len(s.Brokers) == 0 {
		p = append(p, "no broker addresses")
	}
	if slices.Contains(s.Brokers, "") {
		p = append(p, fmt.Sprintf("empty broker address in %q", s.Brokers))
	}
	if s.Partitions < 1 || s.Partitions > math.MaxInt32 {
		p = append(p, fmt.Sprintf("partitions must be in [1, %d], got %d", math.MaxInt32, s.Partitions))
	}
	if s.ReplicationFactor < 1 || s.ReplicationFactor > math.MaxInt16 {
		p = append(p, fmt.Sprintf("replication factor must be in [1, %d], got %d", math.MaxInt16, s.ReplicationFactor))
	}
	if err := s.SaramaConfig().Validate(); err != nil {
		p = append(p, "sarama config: "+err.Error())
	}
	return p
}

// SaramaConfig returns a new copy of s.Sarama, or a new DefaultSaramaConfig if
// it is nil. The caller owns the result.
func (s Settings) SaramaConfig() *sarama.Config {
	if s.Sarama == nil {
		return DefaultSaramaConfig()
	}
	return copyConfig(s.Sarama)
}

// The values DefaultSaramaConfig changes from goka.DefaultConfig, with the
// reasons in its doc comment.
const (
	sessionTimeout    = 6 * time.Second
	heartbeatInterval = 1 * time.Second
	rebalanceTimeout  = 10 * time.Second
	readTimeout       = 30 * time.Second // sarama's default; see DefaultSaramaConfig

	flushFrequency     = 10 * time.Millisecond
	autoCommitInterval = 100 * time.Millisecond
	fetchMaxWait       = 100 * time.Millisecond
)

// defaultVersion is the protocol version of DefaultSaramaConfig: the newest
// that the embedded cluster's consumer groups work with (see
// DefaultSaramaConfig).
var defaultVersion = sarama.V2_3_0_0

// DefaultSaramaConfig returns a new sarama configuration that works against
// the embedded cluster and real ones alike. It starts from goka.DefaultConfig
// (a new config, not goka's global one) and changes the following;
// docs/architecture.md ("The sarama defaults") has the measurements behind
// each value.
//
//   - Version: sarama.V2_3_0_0 (goka: V2_0_0_0). Against the embedded
//     cluster (franz-go's kfake), sarama's consumer group fails from
//     V2_4_0_0 up ("kafka: error decoding packet: invalid byteslice
//     length"): sarama misreads kfake's flexible OffsetFetch answers. Kafka
//     2.3 and later, Kafka 4 included, and Redpanda speak 2.3.
//
//   - Consumer.Offsets.Initial: sarama.OffsetOldest (goka: newest). A new
//     group reads its inputs from the start, so records produced before its
//     processor joined are not skipped. On a real cluster, a new group
//     therefore processes the whole retained history.
//
//   - Consumer.Group.Session.Timeout 6 s (sarama: 10 s), Heartbeat.Interval
//     1 s (3 s) and Rebalance.Timeout 10 s (60 s), so that a group recovers
//     quickly from a crash; Net.ReadTimeout stays at sarama's 30 s. A member
//     killed with kill -9 never leaves its group: the broker holds a new
//     member's JoinGroup until the dead one's session times out, so the
//     session timeout is the stall after a crash (6 s is the smallest Kafka
//     brokers accept by default). A live member learns of a rebalance at its
//     next heartbeat, so the heartbeat is part of every partition's stall on
//     scale-out. The rebalance timeout bounds how long a live member may
//     take to give its partitions up: riffle's drain of in-flight work must
//     fit in it. A member killed during a rebalance can hold a JoinGroup for
//     session + rebalance timeout per overlapping crash, and sarama gives up
//     on a request after Net.ReadTimeout (the processor then fails with
//     "error consuming from group consumer: ... i/o timeout"), so the read
//     timeout must stay well above session + rebalance timeout.
//
//   - Producer.Flush.Frequency: 10 ms (goka: 100 ms). A batch smaller than
//     Flush.Bytes waits this long before it is sent, and every produce hop
//     (emit, table write, loopback) waits for it at low rates. Below 10 ms,
//     ever smaller requests cost more CPU than they save latency.
//
//   - Consumer.Offsets.AutoCommit.Interval: 100 ms (sarama: 1 s) and
//     Consumer.MaxWaitTime: 100 ms (500 ms). goka marks offsets as it
//     processes and sarama commits the marks at this interval; a commit also
//     waits for a fetch on the same broker connection, which the broker
//     holds for up to MaxWaitTime while there is nothing new. Lowering both
//     makes committed offsets follow processing closely; a quiet partition
//     costs ten fetches a second instead of two.
//
// goka's other choices stay: Producer.Return.Successes and Errors and
// Consumer.Return.Errors are true (goka needs them), acks from the leader,
// snappy compression, goka's copartitioning balance strategy, 10 producer
// retries.
func DefaultSaramaConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Version = defaultVersion

	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = autoCommitInterval
	cfg.Consumer.MaxWaitTime = fetchMaxWait
	cfg.Consumer.Return.Errors = true // goka reads them; set by goka.DefaultConfig too

	cfg.Consumer.Group.Session.Timeout = sessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = heartbeatInterval
	cfg.Consumer.Group.Rebalance.Timeout = rebalanceTimeout
	cfg.Net.ReadTimeout = readTimeout

	cfg.Producer.Flush.Frequency = flushFrequency
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	return cfg
}

// copyConfig returns a copy of cfg that shares no slice with it, or nil.
// Pointers inside the config (TLS config, SASL token provider, the metric
// registry, the balance strategies) are shared, as goka shares them between
// the copies it makes of its global config.
func copyConfig(cfg *sarama.Config) *sarama.Config {
	if cfg == nil {
		return nil
	}
	cp := *cfg
	cp.Consumer.Group.Rebalance.GroupStrategies = slices.Clone(cfg.Consumer.Group.Rebalance.GroupStrategies)
	cp.Consumer.Interceptors = slices.Clone(cfg.Consumer.Interceptors)
	cp.Producer.Interceptors = slices.Clone(cfg.Producer.Interceptors)
	return &cp
}
