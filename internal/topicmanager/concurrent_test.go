package topicmanager_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/topicmanager"
)

// TestConcurrentEnsures starts, at one moment, many goka topic managers that
// each ensure the same new table on the embedded broker: the startup of as
// many instances of one group. Through RaceTolerant, every ensure succeeds;
// with goka's manager alone, those that lose the create race fail.
func TestConcurrentEnsures(t *testing.T) {
	const managers, rounds = 8, 5
	c := clustertest.Start(t, broker.WithPartitions(4)) // closed after the managers: cleanups run last first
	s := c.Settings()
	plain := func(brokers []string) (goka.TopicManager, error) {
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication = 1
		tmc.Stream.Replication = 1
		return goka.NewTopicManager(brokers, s.SaramaConfig(), tmc)
	}
	build := topicmanager.RaceTolerant(plain)

	for round := range rounds {
		table := fmt.Sprintf("group-%d-table", round)
		tms := make([]goka.TopicManager, managers)
		for i := range tms {
			tm, err := build(c.Brokers())
			if err != nil {
				t.Fatalf("building topic manager: %v", err)
			}
			t.Cleanup(func() { _ = tm.Close() })
			tms[i] = tm
		}
		start := make(chan struct{})
		errs := make([]error, managers)
		var wg sync.WaitGroup
		for i, tm := range tms {
			wg.Go(func() {
				<-start
				errs[i] = tm.EnsureTableExists(table, 4)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, manager %d: %v", round, i, err)
			}
		}
		parts, err := tms[0].Partitions(table)
		if err != nil || len(parts) != 4 {
			t.Errorf("round %d: table has partitions %v (%v), want 4", round, parts, err)
		}
	}
}
