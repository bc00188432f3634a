package gokaadapter

import (
	"fmt"
	"log"
	"os"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// RebuildAheadCaches wraps base so that a partition's local cache that is
// ahead of its topic is emptied when goka opens it, with a line in logger
// saying why, and goka then rebuilds it from the topic, as for a new cache.
// tmb and brokers reach the topics' cluster; a nil logger is goka's default
// (the standard logger). The adapter wraps every processor's storage builder
// with it; a goka processor or view that is not async can use it as well.
//
// goka keeps a table partition's cache (LevelDB by default, under a path
// that depends on the group only) with the offset of the last record of the
// table topic it holds. If the topic is younger than the cache (the cluster
// is a new one, a restarted embedded broker, or the topic was deleted and
// created again), goka's recovery (partition_table.go, load) either fails
// with "kafka tells us there's no message in the topic, but our cache has
// one" (empty topic) or, when the topic has fewer records than the cache's
// offset, logs an error and keeps the stale cache as if it were recovered.
// Kafka Streams, when a task's checkpoint is ahead of its changelog, wipes
// the store and restores it from the changelog; this does the same.
//
// A cache is ahead when its stored offset is at or past the topic's end
// offset (high watermark): every offset a cache stores is that of a record
// the topic held (goka sets it from recovered records and from the
// acknowledgements of its own table writes), so only a topic that lost
// records is behind its cache, and then the topic is the truth. A cache
// that is behind a younger topic (the new topic already has more records
// than the old cache's offset) cannot be told from one that is merely
// behind; give each cluster its own storage path to rule that out.
//
// The check runs in Open: goka calls the builder and then Open once per
// partition and session, on the goroutine that sets the partition up,
// before it reads the stored offset (load), and nothing writes the storage
// in between. It asks the topic's end offset only when the cache stores an
// offset, so a new or in-memory cache costs nothing.
func RebuildAheadCaches(base storage.Builder, tmb goka.TopicManagerBuilder, brokers []string, logger goka.Logger) storage.Builder {
	if logger == nil {
		logger = log.New(os.Stderr, "", log.LstdFlags) // goka's default logger
	}
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := base(topic, partition)
		if err != nil {
			return nil, err
		}
		return &aheadCheckedStorage{Storage: st, topic: topic, partition: partition, tmb: tmb, brokers: brokers, log: logger}, nil
	}
}

// noStoredOffset is the default that GetOffset returns for a storage that
// stores no offset. goka uses -3 (offsetNotStored), and the offsets it
// stores are -1 or more.
const noStoredOffset = -3

// aheadCheckedStorage is a storage whose Open empties it when it is ahead
// of its topic (see RebuildAheadCaches).
type aheadCheckedStorage struct {
	storage.Storage
	topic     string
	partition int32
	tmb       goka.TopicManagerBuilder
	brokers   []string
	log       goka.Logger
}

func (s *aheadCheckedStorage) Open() error {
	if err := s.Storage.Open(); err != nil {
		return err
	}
	stored, err := s.Storage.GetOffset(noStoredOffset)
	if err != nil {
		return fmt.Errorf("gokaadapter: reading the stored offset of the cache of %s/%d: %w", s.topic, s.partition, err)
	}
	if stored < 0 {
		return nil // nothing stored: goka loads the topic from its start
	}
	end, err := s.endOffset()
	if err != nil {
		return fmt.Errorf("gokaadapter: checking the cache of %s/%d against its topic: %w", s.topic, s.partition, err)
	}
	if stored < end {
		return nil
	}
	s.log.Printf("gokaadapter: the local cache of %s/%d is ahead of its topic (cache at offset %d, topic ends at %d): the topic is younger than the cache (a new cluster, or the topic was created again); rebuilding the cache from the topic",
		s.topic, s.partition, stored, end)
	if err := s.empty(); err != nil {
		return fmt.Errorf("gokaadapter: emptying the cache of %s/%d, which is ahead of its topic: %w", s.topic, s.partition, err)
	}
	return nil
}

// endOffset returns the topic partition's end offset (high watermark).
func (s *aheadCheckedStorage) endOffset() (int64, error) {
	tm, err := s.tmb(s.brokers)
	if err != nil {
		return 0, err
	}
	end, err := tm.GetOffset(s.topic, s.partition, sarama.OffsetNewest)
	if cerr := tm.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return end, err
}

// empty deletes every key and sets the stored offset to -1, the offset
// goka stores for an empty partition, so that goka loads the topic from
// its oldest offset. Deleting while iterating is safe: a storage's Iterator
// traverses a snapshot (storage.Storage's contract).
func (s *aheadCheckedStorage) empty() error {
	it, err := s.Storage.Iterator()
	if err != nil {
		return err
	}
	defer it.Release()
	for it.Next() {
		if err := s.Storage.Delete(string(it.Key())); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return s.Storage.SetOffset(-1)
}
