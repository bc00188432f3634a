package broker

import (
	"crypto/tls"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
)

// Option configures Start. A nil option is ignored.
type Option interface{ apply(*config) }

// config is what Start is given; Start validates it before it listens.
type config struct {
	partitions int
	port       int
	seedTopics []string
	dataDir    string
	syncWrites bool
	logger     *slog.Logger

	// client are the options of the Settings the cluster hands out; Start
	// builds them with kafka.Remote, so they are validated as a real
	// cluster's are.
	client []kafka.Option
	// sasl and serverTLS are how the cluster itself is secured (see
	// WithSASL and WithClusterTLS).
	sasl      *saslUser
	serverTLS *tls.Config

	problems []string // of the options that could not be applied, in order
}

type option func(*config)

func (o option) apply(c *config) { o(c) }

// WithPartitions sets the partition count of the topics the cluster creates on
// its own (auto-created and seed topics) and of those its Settings'
// EnsureTopics creates (kafka.WithPartitions), overriding
// kafka.DefaultPartitions. It must be at least 1.
//
// goka sizes a group's table and loop topics from its input topics, so this
// is the partition count of every group built on topics created here.
func WithPartitions(n int) Option {
	client := kafka.WithPartitions(n)
	return option(func(c *config) {
		c.partitions = n
		c.client = append(c.client, client)
	})
}

// WithSaramaConfig sets the base sarama configuration of the cluster's
// Settings (kafka.WithSaramaConfig), overriding kafka.DefaultSaramaConfig. The
// option copies *cfg when it is made, so later changes to cfg have no
// effect; nil is rejected. Start it from kafka.DefaultSaramaConfig to keep
// the choices documented there.
//
// cfg.Version must be sarama.V2_3_0_0 or lower (see
// kafka.DefaultSaramaConfig). The embedded cluster accepts group session
// timeouts from 1 s, where Kafka brokers accept 6 s and up by default, so
// that tests of crashes and rebalances can be fast.
func WithSaramaConfig(cfg *sarama.Config) Option {
	client := kafka.WithSaramaConfig(cfg)
	return option(func(c *config) { c.client = append(c.client, client) })
}

// WithPort makes Start listen on 127.0.0.1:port, overriding a port chosen by
// the system. The cluster never listens on another interface.
func WithPort(port int) Option {
	return option(func(c *config) { c.port = port })
}

// WithSeedTopics makes Start create the topics, with the cluster's partition
// count (WithPartitions), before it returns. It can be given more than once;
// the topics add up.
//
// Topics can also be created later with kafka.Settings.EnsureTopics, and producers
// create the topics they write to on their own (auto-creation is on), but a
// goka processor's input topics must exist before it starts.
func WithSeedTopics(topics ...string) Option {
	return option(func(c *config) { c.seedTopics = append(c.seedTopics, topics...) })
}

// WithLogger sets where Start's cluster logs what it does on its own, such
// as removing a dead group member (see Cluster). Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) { c.logger = l })
}
