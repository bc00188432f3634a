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
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestInvalidOptions(t *testing.T) {
	newer := DefaultSaramaConfig()
	newer.Version = sarama.V2_4_0_0
	badSarama := DefaultSaramaConfig()
	badSarama.Net.ReadTimeout = 0
	brokers := []string{"127.0.0.1:9092"}

	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"Start partitions 0", func() error { _, err := Start(WithPartitions(0)); return err }},
		{"Start port -1", func() error { _, err := Start(WithPort(-1)); return err }},
		{"Start nil sarama", func() error { _, err := Start(WithSaramaConfig(nil)); return err }},
		{"Start sarama newer than kfake", func() error { _, err := Start(WithSaramaConfig(newer)); return err }},
		{"Start sarama invalid", func() error { _, err := Start(WithSaramaConfig(badSarama)); return err }},
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
	if !kfakeMaxVersion.IsAtLeast(cfg.Version) {
		t.Errorf("Version %v is newer than %v", cfg.Version, kfakeMaxVersion)
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
		t.Fatal("changing one Settings changed another")
	}
	if got := a.SaramaConfig().ClientID; got != "changed" {
		t.Fatalf("SaramaConfig().ClientID = %q, want a copy of Sarama", got)
	}
	if (Settings{}).SaramaConfig() == nil {
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
		t.Fatalf("Settings() = %+v", s)
	}

	// Topics that a producer writes to are created on first use, with the
	// cluster's partition count, as are the seed topics.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := newKgoClient(t, s)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "auto", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce to a new topic: %v", err)
	}
	emit(t, s, "auto-goka", []string{"k"}, "v")
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

func TestEnsureTopics(t *testing.T) {
	c := startCluster(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for range 2 { // the second call finds every topic and changes nothing
		if err := s.EnsureTopics(ctx, "a", "b", "a"); err != nil {
			t.Fatalf("EnsureTopics: %v", err)
		}
	}
	if err := s.EnsureTopics(ctx); err != nil {
		t.Fatalf("EnsureTopics of nothing: %v", err)
	}
	if err := s.EnsureTopics(ctx, "c", ""); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("EnsureTopics with an empty name: %v, want ErrInvalidSettings", err)
	}

	two := s
	two.Partitions = 2
	var mismatch *TopicMismatchError
	if err := two.EnsureTopics(ctx, "a"); !errors.As(err, &mismatch) ||
		*mismatch != (TopicMismatchError{Topic: "a", Partitions: 2, Existing: DefaultPartitions}) {
		t.Fatalf("EnsureTopics of a topic with other partitions: %v", err)
	}
	if err := two.EnsureTopics(ctx, "d"); err != nil {
		t.Fatalf("EnsureTopics with 2 partitions: %v", err)
	}
	details, err := kadm.NewClient(newKgoClient(t, s)).ListTopics(ctx, "a", "b", "d")
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"a": DefaultPartitions, "b": DefaultPartitions, "d": 2} {
		if n := len(details[topic].Partitions); n != want {
			t.Errorf("topic %s has %d partitions, want %d", topic, n, want)
		}
	}

	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := s.EnsureTopics(cancelled, "e"); !errors.Is(err, context.Canceled) {
		t.Fatalf("EnsureTopics with a cancelled context: %v", err)
	}
}

// TestTwoClusters runs two embedded clusters with different settings, and
// the same group and topic names, in one process: nothing of one shows in the
// other. On the first, two groups share one slice of processor options, which
// goka's own *BuilderWithConfig builders could not do without a data race.
func TestTwoClusters(t *testing.T) {
	cfgB := DefaultSaramaConfig()
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
		processors []*runningProcessor
	}
	runs := []*run{{c: a, records: 30}, {c: b, records: 50}}
	for _, r := range runs {
		s := r.c.Settings()
		if err := s.EnsureTopics(ctx, "in", "out-1", "out-2"); err != nil {
			t.Fatalf("EnsureTopics: %v", err)
		}
		shared := s.ProcessorOptions()
		for i := 1; i <= 2; i++ {
			g := counterGroup(goka.Group(fmt.Sprintf("group-%d", i)), "in", goka.Stream(fmt.Sprintf("out-%d", i)))
			r.processors = append(r.processors, startProcessorWith(t, s.Brokers, g, shared))
		}
	}
	for _, r := range runs {
		for _, p := range r.processors {
			if err := p.WaitForReadyContext(ctx); err != nil {
				t.Fatalf("WaitForReady: %v", err)
			}
		}
		emit(t, r.c.Settings(), "in", keys(r.records), "v")
	}
	for _, r := range runs {
		s := r.c.Settings()
		for i, p := range r.processors {
			recs, err := consume(ctx, t, s, fmt.Sprintf("out-%d", i+1), r.records)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if int(rec.Partition) >= r.c.Partitions() {
					t.Errorf("record in partition %d of a cluster with %d", rec.Partition, r.c.Partitions())
				}
			}
			for _, k := range keys(r.records) {
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
		ends, err := kadm.NewClient(newKgoClient(t, s)).ListEndOffsets(ctx, "in", "out-1")
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
	cfg := DefaultSaramaConfig()
	cfg.Consumer.Group.Session.Timeout = time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	c := startCluster(t, WithSaramaConfig(cfg), WithSeedTopics("in"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := startProcessor(t, c.Settings(), counterGroup("short-session", "in", "out"))
	if err := p.WaitForReadyContext(ctx); err != nil {
		t.Fatalf("WaitForReady: %v", err)
	}
	if err := p.failed(); err != nil {
		t.Fatal(err)
	}
}
