package gokaadapter_test

import (
	"sync"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
)

// Instances of one group that are built at the same moment, on a cluster
// where the group's table, loop and dead-letter topics do not exist yet, all
// build: the one that loses the race to create a topic finds it created. The
// adapter is given goka's own topic manager, not broker's (which is
// race-tolerant by itself), so this checks the adapter's wrapping.
func TestInstancesStartingTogether(t *testing.T) {
	const instances = 6
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	input := goka.Stream("together-in")
	kafkatest.EnsureTopics(t, s, input)
	gokaManager := func(brokers []string) (goka.TopicManager, error) {
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication = 1 // the embedded broker has one broker
		tmc.Stream.Replication = 1
		return goka.NewTopicManager(brokers, s.SaramaConfig(), tmc)
	}

	start := make(chan struct{})
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		a, err := gokaadapter.New(
			gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
			gokaadapter.WithProducerBuilder(s.ProducerBuilder()),
			gokaadapter.WithTopicManagerBuilder(gokaManager),
			gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
			gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)),
		)
		if err != nil {
			t.Fatalf("gokaadapter.New: %v", err)
		}
		defer a.Close()
		noop := a.Async(func(goka.Context, any) {})
		g := goka.DefineGroup("together",
			goka.Input(input, new(codec.String), noop),
			goka.Loop(new(codec.String), noop),
			goka.Persist(new(codec.String)),
		)
		wg.Go(func() {
			<-start
			_, errs[i] = a.NewProcessor(s.Brokers, g)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}
