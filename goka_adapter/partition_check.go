package gokaadapter

import (
	"context"
	"hash"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka"
)

// partitionCheck finds the input records of one (topic, partition) whose
// key hashes, with the adapter's hasher, to another partition: records
// written by a producer that does not partition as goka does (Java clients
// and Kafka Streams use murmur2, kcat and librdkafka CRC32 by default).
// goka keeps a key's state in the partition its hasher picks, so such a
// record reads and writes state that its key's other records never see.
// The check counts them (Adapter.Mispartitioned, the
// riffle.record.mispartitioned metric) and logs the first of each partition;
// WithStrictPartitioning sends them to the error policy instead of
// processing them.
//
// Ownership: only dispatch uses a check, on goka's partition goroutine of
// its partition. goka runs one such goroutine per partition at a time, and
// the goroutine of one generation returns before the next generation's
// Setup, so the hasher, its buffer and logged need no lock. count is read
// by stats from any goroutine.
type partitionCheck struct {
	// partitions is the topic's partition count, 0 if unknown (then
	// nothing is checked).
	partitions int32
	hasher     hash.Hash32 // reused, as sarama's partitioner does
	buf        []byte      // the key's bytes, reused
	logged     bool        // a mis-partitioned record was logged
	count      atomic.Int64
}

// expected returns the partition that goka puts key in, and whether that is
// known. Keys that the hash does not place are not checked: an empty key
// (goka cannot tell it from a missing one, which producers place at random).
func (c *partitionCheck) expected(key string) (int32, bool) {
	if c.partitions == 0 || key == "" {
		return 0, false
	}
	// A reused hasher and buffer cost no allocation per record; the
	// partition arithmetic is keyPartition's (sarama's hash partitioner).
	c.buf = append(c.buf[:0], key...)
	c.hasher.Reset()
	_, _ = c.hasher.Write(c.buf)
	p := int32(c.hasher.Sum32())
	if p < 0 {
		p = -p
	}
	return p % c.partitions, true
}

// checkPartition checks r's partition. It returns the partition the key
// belongs to and true if r is mis-partitioned and strict mode is on (the
// record then goes to the error policy); it counts and logs every
// mis-partitioned record.
func (a *Adapter) checkPartition(gp *gatedPartition, r *recordMeta) (int32, bool) {
	want, ok := gp.check.expected(r.Key)
	if !ok || want == r.Partition {
		return 0, false
	}
	gp.check.count.Add(1)
	a.cfg.tracing.CountMispartitioned(string(r.group), r.Topic, r.Partition)
	if !gp.check.logged {
		gp.check.logged = true
		what := "processed; its key's state is in the expected partition"
		if a.cfg.strictPartitioning {
			what = "sent to the error policy (strict partitioning)"
		}
		a.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn,
			"gokaadapter: input record in a partition its key does not hash to: its producer does not partition as goka does (see gokaadapter.WithHasher); later such records of the partition are only counted",
			slog.String("topic", r.Topic),
			slog.Int("partition", int(r.Partition)),
			slog.Int64("offset", r.Offset),
			slog.String("key", r.Key),
			slog.Int("expected_partition", int(want)),
			slog.Int("partitions", int(gp.check.partitions)),
			slog.String("record", what))
	}
	return want, a.cfg.strictPartitioning
}

// Mispartitioned returns how many records of (topic, partition) came from
// that partition although their key hashes, with the adapter's hasher, to
// another one. It counts async records since the adapter was created.
func (a *Adapter) Mispartitioned(topic string, partition int32) int64 {
	if gp := a.gate.lookup(topic, partition); gp != nil {
		return gp.check.count.Load()
	}
	return 0
}

// newGatedPartition is the state of a partition that dispatch sees for the
// first time.
func (a *Adapter) newGatedPartition(graph *goka.GroupGraph, topic string) *gatedPartition {
	gp := &gatedPartition{topic: topic, marked: marksTopic(graph, topic)}
	if gp.marked {
		gp.check.partitions = a.partitionCounts.get(topic)
		gp.check.hasher = a.cfg.hasher()
	}
	return gp
}

// marksTopic reports whether goka marks the offsets of topic's records:
// those of the graph's input and loop streams.
func marksTopic(graph *goka.GroupGraph, topic string) bool {
	for _, e := range graph.InputStreams() {
		if e.Topic() == topic {
			return true
		}
	}
	l := graph.LoopStream()
	return l != nil && l.Topic() == topic
}

// partitionCounts remembers the partition counts that goka's topic manager
// reported. goka.NewProcessor asks it for every input topic (to check that
// they are co-partitioned) and keeps that count for the processor's life,
// so the adapter learns the same count at no cost, before any record.
// Topics it was not asked about (the loop topic, which goka creates with
// the inputs' count and writes itself) are not checked.
type partitionCounts struct {
	current atomic.Pointer[map[string]int32]
	mu      sync.Mutex // serialises writers
}

func newPartitionCounts() *partitionCounts {
	c := &partitionCounts{}
	c.current.Store(&map[string]int32{})
	return c
}

func (c *partitionCounts) get(topic string) int32 { return (*c.current.Load())[topic] }

func (c *partitionCounts) set(topic string, n int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.current.Load()
	if old[topic] == n {
		return
	}
	next := maps.Clone(old)
	next[topic] = n
	c.current.Store(&next)
}

// wrap returns a topic manager builder whose managers report the partition
// counts they read.
func (c *partitionCounts) wrap(base goka.TopicManagerBuilder) goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		tm, err := base(brokers)
		if err != nil {
			return nil, err
		}
		return &countingTopicManager{TopicManager: tm, counts: c}, nil
	}
}

type countingTopicManager struct {
	goka.TopicManager
	counts *partitionCounts
}

func (m *countingTopicManager) Partitions(topic string) ([]int32, error) {
	ps, err := m.TopicManager.Partitions(topic)
	if err == nil && len(ps) > 0 {
		m.counts.set(topic, int32(len(ps)))
	}
	return ps, err
}
