package broker

import (
	"math"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Settings are what goka processors, views and emitters, and franz-go clients,
// need to talk to one cluster: Cluster.Settings describes an embedded cluster,
// Remote a real one. Code that takes Settings runs against both.
//
// Settings is a plain value: copy it and set a field, and the copy describes
// another setup (copies share the Brokers slice and what Sarama points to, so
// replace those rather than change them in place, or start from
// Cluster.Settings, which returns new ones). Nothing in it is global; in
// particular it never touches goka's global config (goka.ReplaceGlobalConfig).
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
// settings are validated before Remote returns; no connection is opened.
func Remote(brokers []string, opts ...RemoteOption) (Settings, error) {
	r := remoteConfig{settings: Settings{
		Brokers:           slices.Clone(brokers),
		Partitions:        DefaultPartitions,
		ReplicationFactor: 1,
	}}
	for _, o := range opts {
		o.applyRemote(&r)
	}
	if r.err != nil {
		return Settings{}, r.err
	}
	if r.settings.Sarama == nil {
		r.settings.Sarama = DefaultSaramaConfig()
	}
	sc, err := r.security.applyTo(r.settings.Sarama)
	if err != nil {
		return Settings{}, err
	}
	r.settings.Sarama = sc
	if err := r.settings.Validate(); err != nil {
		return Settings{}, err
	}
	return r.settings, nil
}

// Validate reports, wrapping ErrInvalidSettings, the first field that is not
// usable: no brokers, a partition count or replication factor out of range, or
// a sarama config that sarama itself rejects.
func (s Settings) Validate() error {
	if len(s.Brokers) == 0 {
		return invalid("no broker addresses")
	}
	for _, b := range s.Brokers {
		if b == "" {
			return invalid("empty broker address in %q", s.Brokers)
		}
	}
	if s.Partitions < 1 || s.Partitions > math.MaxInt32 {
		return invalid("partitions must be in [1, %d], got %d", math.MaxInt32, s.Partitions)
	}
	if s.ReplicationFactor < 1 || s.ReplicationFactor > math.MaxInt16 {
		return invalid("replication factor must be in [1, %d], got %d", math.MaxInt16, s.ReplicationFactor)
	}
	if err := s.SaramaConfig().Validate(); err != nil {
		return invalid("sarama config: %w", err)
	}
	return nil
}

// SaramaConfig returns a new copy of s.Sarama, or a new DefaultSaramaConfig if
// it is nil. The caller owns the result.
func (s Settings) SaramaConfig() *sarama.Config {
	if s.Sarama == nil {
		return DefaultSaramaConfig()
	}
	return copyConfig(s.Sarama)
}

// kfakeMaxVersion is the newest protocol version kfake's consumer groups work
// with; see DefaultSaramaConfig.
var kfakeMaxVersion = sarama.V2_3_0_0

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

// DefaultSaramaConfig returns a new sarama configuration that works against
// the embedded cluster and real ones alike. It starts from goka.DefaultConfig
// (a new config, not goka's global one) and changes the following. The
// timings quoted were measured on a 2-core machine against the embedded
// cluster, with a goka processor that writes its table and emits one record
// per input record.
//
//   - Version: sarama.V2_3_0_0 (goka: V2_0_0_0). Against kfake, goka's
//     consumer group fails from V2_4_0_0 up (checked with 2.4 and 3.0) with
//     "kafka: error decoding packet: invalid byteslice length": from 2.4 on,
//     sarama uses flexible versions of the group requests and misreads one of
//     kfake's answers (an OffsetFetch response with null metadata). Kafka 2.3
//     and later, Kafka 4 included (it dropped versions before 2.1), and
//     Redpanda speak 2.3.
//
//   - Consumer.Offsets.Initial: sarama.OffsetOldest (goka: newest). A new
//     group reads its inputs from the start, so records produced before its
//     processor joined are not skipped. On a real cluster, a new group
//     therefore processes the whole retained history.
//
//   - Consumer.Group.Session.Timeout 6 s (sarama: 10 s), Heartbeat.Interval
//     1 s (3 s) and Rebalance.Timeout 10 s (60 s), for restarts after a crash;
//     Net.ReadTimeout stays at sarama's 30 s. A live member learns of a
//     rebalance at its next heartbeat, so the heartbeat is part of every
//     partition's stall on scale-out (the reliability suite measured 6.4 to
//     7.6 s with 2 s). A member killed with kill -9 never
//     leaves its group. When a new member joins, the broker holds its
//     JoinGroup until every old member has joined again, or was removed
//     because its session timed out, or the group's rebalance timeout (the
//     largest of its members') passed. For a dead member that is its session
//     timeout: a processor restarted after a kill -9 was consuming again 6.0 s
//     after the kill (10 s with sarama's defaults). For a live member that is
//     slow to give its partitions up (goka waits for outstanding deferred
//     commits first) it is the rebalance timeout. sarama waits for the
//     JoinGroup response no longer than Net.ReadTimeout, then the processor
//     fails with "error consuming from group consumer: ... i/o timeout".
//     A member killed *during* a rebalance is removed only when its session
//     times out, and the removal restarts the join wait, for up to the
//     rebalance timeout again: a JoinGroup can be held for session + rebalance
//     timeout (16 s) per overlapping crash. Net.ReadTimeout must exceed that:
//     the reliability suite saw a surviving member fail with 15 s, and with
//     21 s, under a kill every 6 s (two crashes overlapping one rebalance),
//     so it keeps sarama's 30 s. With a session timeout of 6 s, a read timeout of
//     3 s failed after a kill -9, and with a rebalance timeout of 2 s behind a
//     member holding a deferred commit, a read timeout of 2 s failed where
//     3 s worked. 6 s is the smallest session timeout Kafka brokers accept by
//     default (group.min.session.timeout.ms). Rebalance.Timeout also bounds
//     how long a member may take to give up its partitions: riffle's drain of
//     in-flight work must fit in it.
//
//   - Producer.Flush.Frequency: 10 ms (goka: 100 ms). A batch smaller than
//     Flush.Bytes (64 KiB) waits this long before it is sent: every produce
//     hop (emit, table write, loopback) waits for it at low rates. Emitter to
//     processor to output, 1000 records took 207 ms at 100 ms, 28 ms at 10 ms,
//     18 ms at 5 ms, 15 ms at 1 ms and 12 ms with no wait at all (Frequency
//     and Bytes 0). At 2000 records/s, the median latency was 146, 16, 9, 3
//     and 0.4 ms, and the whole process (emitter, processor, cluster,
//     consumer) spent 86, 135, 170, 290 and 400 µs of CPU per record: below
//     10 ms, ever smaller requests cost more CPU than they save latency. In
//     bursts of 100k records the byte limit flushes first and the frequency
//     made no difference.
//
//   - Consumer.Offsets.AutoCommit.Interval: 100 ms (sarama: 1 s) and
//     Consumer.MaxWaitTime: 100 ms (500 ms). goka marks offsets as it
//     processes and sarama commits the marks at this interval. sarama holds a
//     broker connection for a whole request, so a commit also waits for a
//     fetch on the same connection, which the broker holds for up to
//     MaxWaitTime while there is nothing new. The committed offsets covered
//     1000 processed records 1020 ms after the first was emitted with
//     sarama's values, 520 ms with the interval alone lowered, and 118 ms
//     with both. A quiet partition costs ten fetches a second instead of two.
//
// goka's other choices stay: Producer.Return.Successes and Errors and
// Consumer.Return.Errors are true (goka needs them), acks from the leader,
// snappy compression, goka's copartitioning balance strategy, 10 producer
// retries.
func DefaultSaramaConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Version = kfakeMaxVersion

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
