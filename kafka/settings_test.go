package kafka

import (
	"context"
	"errors"
	"testing"

	"github.com/IBM/sarama"
)

func TestInvalidOptions(t *testing.T) {
	badSarama := DefaultSaramaConfig()
	badSarama.Net.ReadTimeout = 0
	brokers := []string{"127.0.0.1:9092"}

	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"Remote no brokers", func() error { _, err := Remote(nil); return err }},
		{"Remote empty broker", func() error { _, err := Remote([]string{""}); return err }},
		{"Remote partitions -1", func() error { _, err := Remote(brokers, WithPartitions(-1)); return err }},
		{"Remote replication 0", func() error { _, err := Remote(brokers, WithReplicationFactor(0)); return err }},
		{"Remote replication too large", func() error { _, err := Remote(brokers, WithReplicationFactor(1<<15)); return err }},
		{"Remote nil sarama", func() error { _, err := Remote(brokers, WithSaramaConfig(nil)); return err }},
		{"Remote sarama invalid", func() error { _, err := Remote(brokers, WithSaramaConfig(badSarama)); return err }},
		{"zero Settings", func() error { return Settings{}.Validate() }},
		{"EnsureTopics of zero Settings", func() error { return Settings{}.EnsureTopics(context.Background(), "t") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, ErrInvalidSettings) {
				t.Fatalf("got %v, want ErrInvalidSettings", err)
			}
		})
	}
}

// Remote reports every bad option and field at once, in one *ConfigError
// whose Err is ErrInvalidSettings: the options in their order, then the
// fields.
func TestInvalidSettingsAllAtOnce(t *testing.T) {
	_, err := Remote(nil, WithSaramaConfig(nil), WithPartitions(0), WithSASL(sarama.SASLTypeGSSAPI, "u", "secret"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Package != "kafka" || !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("Remote = %v (%T), want a kafka *ConfigError wrapping ErrInvalidSettings", err, err)
	}
	want := `kafka: invalid settings: nil sarama config; SASL mechanism "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; ` +
		`no broker addresses; partitions must be in [1, 2147483647], got 0`
	if err.Error() != want {
		t.Errorf("Remote:\n got %s\nwant %s", err, want)
	}

	err = Settings{Brokers: []string{""}}.EnsureTopics(context.Background(), "t", "")
	if !errors.As(err, &ce) || len(ce.Problems) != 4 {
		t.Fatalf("EnsureTopics = %v, want 4 problems: broker, partitions, replication factor, topic", err)
	}
}

func TestRemote(t *testing.T) {
	cfg := DefaultSaramaConfig()
	cfg.ClientID = "mine"
	brokers := []string{"kafka-1:9092", "kafka-2:9092"}
	s, err := Remote(brokers, WithPartitions(12), WithReplicationFactor(3), WithSaramaConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	brokers[0] = "changed"
	cfg.ClientID = "changed"
	if s.Brokers[0] != "kafka-1:9092" || s.Partitions != 12 || s.ReplicationFactor != 3 || s.Sarama.ClientID != "mine" {
		t.Fatalf("Remote = %+v (client ID %q): options not applied, or inputs not copied", s, s.Sarama.ClientID)
	}
	s, err = Remote(brokers[1:])
	if err != nil {
		t.Fatal(err)
	}
	if s.Partitions != DefaultPartitions || s.ReplicationFactor != 1 || s.Sarama == nil || s.Sarama.Version != sarama.V2_3_0_0 {
		t.Fatalf("Remote defaults = %+v", s)
	}
}

func TestDefaultSaramaConfig(t *testing.T) {
	cfg := DefaultSaramaConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := cfg.Consumer.Group
	if cfg.Net.ReadTimeout <= g.Session.Timeout+g.Rebalance.Timeout {
		t.Errorf("Net.ReadTimeout %v must exceed Session.Timeout %v + Rebalance.Timeout %v: a JoinGroup may wait that long when a member dies during a rebalance", cfg.Net.ReadTimeout, g.Session.Timeout, g.Rebalance.Timeout)
	}
	if g.Heartbeat.Interval*3 > g.Session.Timeout {
		t.Errorf("Heartbeat.Interval %v is more than a third of Session.Timeout %v", g.Heartbeat.Interval, g.Session.Timeout)
	}
	if !cfg.Producer.Return.Successes || !cfg.Producer.Return.Errors || !cfg.Consumer.Return.Errors {
		t.Error("goka needs Producer.Return.Successes and Errors, and Consumer.Return.Errors")
	}
	if cfg.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Error("Consumer.Offsets.Initial is not OffsetOldest")
	}
	if DefaultSaramaConfig() == cfg {
		t.Error("DefaultSaramaConfig returned the same config twice")
	}
}

// A nil Option is ignored, as in every riffle package.
func TestRemoteIgnoresNilOptions(t *testing.T) {
	s, err := Remote([]string{"127.0.0.1:9092"}, nil, WithPartitions(3), nil)
	if err != nil || s.Partitions != 3 {
		t.Fatalf("Remote with nil options = %+v, %v", s, err)
	}
}
