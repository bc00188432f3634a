package gokaadapter_test

import (
	"context"
	"errors"
	"hash"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
)

// counter counts the calls of builders.
type counter struct{ storage, producer, consumerGroup, topicManager atomic.Int32 }

func (c *counter) storageBuilder(b storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		c.storage.Add(1)
		return b(topic, partition)
	}
}

func (c *counter) producerBuilder(b goka.ProducerBuilder) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		c.producer.Add(1)
		return b(brokers, clientID, hasher)
	}
}

func (c *counter) consumerGroupBuilder(b goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		c.consumerGroup.Add(1)
		return b(brokers, group, clientID)
	}
}

func (c *counter) topicManagerBuilder(b goka.TopicManagerBuilder) goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		c.topicManager.Add(1)
		return b(brokers)
	}
}

// The builders a program passes to NewProcessor as goka options, one by one
// or in a bundle, are the ones the processor uses, wrapped by the adapter;
// before, the adapter replaced them with its own defaults (LevelDB, and a
// topic manager with goka's replication factor of 2, which the one-broker
// embedded cluster refuses).
func TestGokaBuilderOptionsAreUsed(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()

	// runOnce builds a processor with the executor and aopts as the
	// adapter's options and opts as goka options, and checks that it
	// processes records (state and emits through the adapter's write-back).
	runOnce := func(t *testing.T, name string, aopts []gokaadapter.Option, opts ...goka.ProcessorOption) {
		t.Helper()
		input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
		kafkatest.EnsureTopics(t, s, input, output)
		a, err := gokaadapter.New(append(aopts, gokaadapter.WithExecutor(asyncdsl.WithWorkers(8)))...)
		if err != nil {
			t.Fatal(err)
		}
		g := seqGraph(a, goka.Group(name), input, output, func(ctx goka.Context, msg any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit(output, ctx.Key(), msg)
		})
		proc, err := a.NewProcessor(s.Brokers, g, opts...)
		if err != nil {
			_ = a.Close()
			t.Fatalf("NewProcessor with goka builder options: %v", err)
		}
		r := run(t, proc)
		const keys, perKey = 5, 4
		produceSequences(t, kafkatest.Client(t, s), string(input), keys, perKey)
		checkNoSkips(t, decodeSeqs(t, kafkatest.Consume(t, s, string(output), keys*perKey, 30*time.Second)))
		if err := r.stop(t); err != nil {
			t.Fatalf("processor: %v", err)
		}
	}

	t.Run("each builder", func(t *testing.T) {
		var n counter
		runOnce(t, "gokaopts-each", nil,
			goka.WithStorageBuilder(n.storageBuilder(storage.MemoryBuilder())),
			goka.WithProducerBuilder(n.producerBuilder(s.ProducerBuilder())),
			goka.WithConsumerGroupBuilder(n.consumerGroupBuilder(s.ConsumerGroupBuilder())),
			goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()),
			goka.WithTopicManagerBuilder(n.topicManagerBuilder(s.TopicManagerBuilder())),
		)
		for name, got := range map[string]int32{
			"goka.WithStorageBuilder":       n.storage.Load(),
			"goka.WithProducerBuilder":      n.producer.Load(),
			"goka.WithConsumerGroupBuilder": n.consumerGroup.Load(),
			"goka.WithTopicManagerBuilder":  n.topicManager.Load(),
		} {
			if got == 0 {
				t.Errorf("the builder of %s was never called: the option was ignored", name)
			}
		}
	})

	// The other builders as the adapter's options, the storage as goka's:
	// before, the adapter built LevelDB storages instead.
	t.Run("storage only", func(t *testing.T) {
		var n counter
		runOnce(t, "gokaopts-storage", []gokaadapter.Option{
			gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
			gokaadapter.WithProducerBuilder(s.ProducerBuilder()),
			gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		}, goka.WithStorageBuilder(n.storageBuilder(storage.MemoryBuilder())))
		if n.storage.Load() == 0 {
			t.Error("the storage builder of goka.WithStorageBuilder was never called: the option was ignored")
		}
	})

	t.Run("settings bundle", func(t *testing.T) {
		var n counter
		opts := append(s.ProcessorOptions(), goka.WithStorageBuilder(n.storageBuilder(storage.MemoryBuilder())))
		runOnce(t, "gokaopts-bundle", nil, opts...)
		if n.storage.Load() == 0 {
			t.Error("the storage builder of goka.WithStorageBuilder was never called: the option was ignored")
		}
	})
}

// A builder given both as a goka option and as the adapter's option is an
// error that names both options, and goka's NewProcessor stops before it
// creates any topic.
func TestGokaBuilderOptionConflict(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	const name = "gokaopts-conflict"
	input, output := goka.Stream(name+"-in"), goka.Stream(name+"-out")
	kafkatest.EnsureTopics(t, s, input, output)
	a := adapterFor(t, s) // sets all four builders
	defer a.Close()
	g := seqGraph(a, name, input, output, func(goka.Context, any) {})
	_, err := a.NewProcessor(s.Brokers, g,
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithTopicManagerBuilder(s.TopicManagerBuilder()))
	if !errors.Is(err, gokaadapter.ErrBuilderConflict) {
		t.Fatalf("NewProcessor = %v, want ErrBuilderConflict", err)
	}
	var ce *gokaadapter.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("NewProcessor's error is not a *ConfigError: %v", err)
	}
	for _, want := range []string{"goka.WithStorageBuilder", "gokaadapter.WithStorageBuilder", "goka.WithTopicManagerBuilder", "gokaadapter.WithTopicManagerBuilder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "WithProducerBuilder") {
		t.Errorf("the error names a builder given once: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(kafkatest.Client(t, s)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if table := string(goka.GroupTable(name)); topics.Has(table) {
		t.Errorf("goka created the group table %s although the options were refused", table)
	}
}
