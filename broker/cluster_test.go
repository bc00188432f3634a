package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestInvalidOptions(t *testing.T) {
	newer := kafka.DefaultSaramaConfig()
	newer.Version = sarama.V2_4_0_0
	badSarama := kafka.DefaultSaramaConfig()
	badSarama.Net.ReadTimeout = 0

	for _, tc := range []struct {
		name   string
		opts   []Option
		client bool // a client setting: the error wraps kafka.ErrInvalidSettings too
	}{
		{"partitions 0", []Option{WithPartitions(0)}, true},
		{"port -1", []Option{WithPort(-1)}, false},
		{"nil sarama", []Option{WithSaramaConfig(nil)}, true},
		{"sarama newer than kfake", []Option{WithSaramaConfig(newer)}, false},
		{"sarama invalid", []Option{WithSaramaConfig(badSarama)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(tc.opts...)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("got %v, want ErrInvalidOption", err)
			}
			if tc.client && !errors.Is(err, kafka.ErrInvalidSettings) {
				t.Fatalf("got %v, want kafka.ErrInvalidSettings too", err)
			}
		})
	}
}

// Start reports every bad option at once, the client settings' included, in
// one broker *ConfigError that wraps kafka's.
func TestInvalidOptionsAllAtOnce(t *testing.T) {
	_, err := Start(WithDataDir(""), WithPort(-1), WithPartitions(0))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Package != "broker" {
		t.Fatalf("Start = %v (%T), want a broker *ConfigError", err, err)
	}
	if !errors.Is(err, ErrInvalidOption) || !errors.Is(err, kafka.ErrInvalidSettings) {
		t.Fatalf("Start = %v, want ErrInvalidOption and kafka.ErrInvalidSettings", err)
	}
	want := "broker: invalid option: empty data directory; port must be in [0, 65535], got -1; " +
		"client settings: partitions must be in [1, 2147483647], got 0"
	if err.Error() != want {
		t.Errorf("Start:\n got %s\nwant %s", err, want)
	}
	var inner *kafka.ConfigError
	if !errors.As(ce.Err, &inner) || inner.Package != "kafka" {
		t.Errorf("the cause of %v is not kafka's ConfigError", err)
	}
}

// The embedded cluster refuses the protocol versions its consumer groups
// do not work with; kafka.DefaultSaramaConfig must not ask for one.
func TestDefaultSaramaConfigWorksWithKfake(t *testing.T) {
	if v := kafka.DefaultSaramaConfig().Version; !kfakeMaxVersion.IsAtLeast(v) {
		t.Errorf("kafka.DefaultSaramaConfig().Version %v is newer than %v", v, kfakeMaxVersion)
	}
}

// A restarted cluster holds joins for the default session timeout (see
// holdJoinsAfterRestart).
func TestRestartJoinGraceIsSessionTimeout(t *testing.T) {
	if st := kafka.DefaultSaramaConfig().Consumer.Group.Session.Timeout; restartJoinGrace != st {
		t.Errorf("restartJoinGrace %v, want the default session timeout %v", restartJoinGrace, st)
	}
}

// TestSettingsAreCopies checks that nothing handed out shares mutable state:
// each Settings and each sarama config is a new copy.
func TestSettingsAreCopies(t *testing.T) {
	c := startCluster(t)
	a, b := c.Settings(), c.Settings()
	x, y := a.SaramaConfig(), a.SaramaConfig()
	if a.Sarama == b.Sarama || x == a.Sarama || x == y {
		t.Fatal("sarama configs are shared")
	}
	a.Sarama.ClientID = "changed"
	a.Brokers[0] = "changed"
	if b.Sarama.ClientID == "changed" || c.Settings().Sarama.ClientID == "changed" || c.Brokers()[0] == "changed" {
		t.Fatal("changing one kafka.Settings changed another")
	}
	if got := a.SaramaConfig().ClientID; got != "changed" {
		t.Fatalf("SaramaConfig().ClientID = %q, want a copy of Sarama", got)
	}
	if (kafka.Settings{}).SaramaConfig() == nil {
		t.Fatal("SaramaConfig of nil Sarama is nil")
	}
}

func TestStartOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	c := startCluster(t, WithPort(port), WithPartitions(6), WithSeedTopics("seed-1"), WithSeedTopics("seed-2"))
	if want := "127.0.0.1:" + strconv.Itoa(port); len(c.Brokers()) != 1 || c.Brokers()[0] != want {
		t.Fatalf("Brokers() = %v, want [%s]", c.Brokers(), want)
	}
	s := c.Settings()
	if s.Partitions != 6 || s.ReplicationFactor != 1 || c.Partitions() != 6 {
		t.Fatalf("kafka.Settings() = %+v", s)
	}

	// Topics that a producer writes to are created on first use, with the
	// cluster's partition count, as are the seed topics.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := kafkatest.Client(t, s)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "auto", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce to a new topic: %v", err)
	}
	kafkatest.Emit(t, s, "auto-goka", []string{"k"}, "v")
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"seed-1", "seed-2", "auto", "auto-goka"} {
		if n := len(details[topic].Partitions); n != 6 {
			t.Errorf("topic %s has %d partitions, want 6", topic, n)
		}
	}
}

// TestTwoClusters runs two embedded clusters with different settings, and
// the same group and topic names, in one process: nothing of one shows in the
// other. On the first, two groups share one slice of processor options, which
// goka's own *BuilderWithConfig builders could not do without a data race.
func TestTwoClusters(t *testing.T) {
	cfgB := kafka.DefaultSaramaConfig()
	cfgB.Producer.Flush.Frequency = time.Millisecond
	cfgB.ClientID = "cluster-b"
	a := startCluster(t, WithPartitions(3))
	b := startCluster(t, WithPartitions(5), WithSaramaConfig(cfgB))
	if a.Brokers()[0] == b.Brokers()[0] {
		t.Fatal("two clusters on one address")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type run struct {
		c          *Cluster
		records    int
		processors []*kafkatest.RunningProcessor
	}
	runs := []*run{{c: a, records: 30}, {c: b, records: 50}}
	for _, r := range runs {
		s := r.c.Settings()
		if err := s.EnsureTopics(ctx, "in", "out-1", "out-2"); err != nil {
			t.Fatalf("EnsureTopics: %v", err)
		}
		shared := s.ProcessorOptions()
		for i := 1; i <= 2; i++ {
			g := kafkatest.CounterGroup(goka.Group(fmt.Sprintf("group-%d", i)), "in", goka.Stream(fmt.Sprintf("out-%d", i)))
			r.processors = append(r.processors, kafkatest.StartProcessorWith(t, s.Brokers, g, shared))
		}
	}
	for _, r := range runs {
		for _, p := range r.processors {
			if err := p.WaitForReadyContext(ctx); err != nil {
				t.Fatalf("WaitForReady: %v", err)
			}
		}
		kafkatest.Emit(t, r.c.Settings(), "in", kafkatest.Keys(r.records), "v")
	}
	for _, r := range runs {
		s := r.c.Settings()
		for i, p := range r.processors {
			recs, err := kafkatest.ConsumeContext(ctx, s, fmt.Sprintf("out-%d", i+1), r.records)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if int(rec.Partition) >= r.c.Partitions() {
					t.Errorf("record in partition %d of a cluster with %d", rec.Partition, r.c.Partitions())
				}
			}
			for _, k := range kafkatest.Keys(r.records) {
				await.Until(t, 5*time.Second, "the count of "+k, func() bool {
					v, err := p.Get(k)
					return err == nil && v != nil && v.(int64) == 1
				})
			}
			if r.c == a {
				if v, err := p.Get(fmt.Sprintf("key-%d", runs[1].records-1)); err != nil || v != nil {
					t.Errorf("a key emitted to the other cluster only: %v, %v", v, err)
				}
			}
		}
		ends, err := kadm.NewClient(kafkatest.Client(t, s)).ListEndOffsets(ctx, "in", "out-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{"in", "out-1"} {
			var total int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Topic == topic {
					total += o.Offset
				}
			})
			if total != int64(r.records) {
				t.Errorf("%v: topic %s has %d records, want %d", r.c.Brokers(), topic, total, r.records)
			}
		}
	}
}

// TestShortSessionTimeout checks that the embedded cluster accepts session
// timeouts below Kafka's default minimum of 6 s, for fast crash tests.
func TestShortSessionTimeout(t *testing.T) {
	cfg := kafka.DefaultSaramaConfig()
	cfg.Consumer.Group.Session.Timeout = time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	c := startCluster(t, WithSaramaConfig(cfg), WithSeedTopics("in"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := kafkatest.StartProcessor(t, c.Settings(), kafkatest.CounterGroup("short-session", "in", "out"))
	if err := p.WaitForReadyContext(ctx); err != nil {
		t.Fatalf("WaitForReady: %v", err)
	}
	if err := p.Failed(); err != nil {
		t.Fatal(err)
	}
}

// A nil Option is ignored, as in every riffle package.
func TestStartIgnoresNilOptions(t *testing.T) {
	c := startCluster(t, nil, WithPartitions(2), nil)
	if c.Partitions() != 2 {
		t.Fatalf("Partitions() = %d, want 2", c.Partitions())
	}
}
