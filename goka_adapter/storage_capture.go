package gokaadapter

import (
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
)

// storageRegistry remembers the storage goka built for each (topic,
// partition): the group table, join tables and lookup tables all go through
// the processor's storage builder.
//
// goka calls the builder at every session setup, so a partition's entry is
// replaced when it is assigned again. That is safe for write-back: goka builds
// the new storage only after the previous session's Cleanup, which waits for
// every deferred commit of the old assignment, and the executor releases those
// only after it stopped applying the old assignment's effects.
//
// Concurrency: every record reads the registry (its state reads and writes),
// and only session setups write it, so readers load an immutable snapshot
// through an atomic pointer, without a lock whose reader count would bounce
// between cores; writers copy the snapshot under mu and publish the copy.
type storageRegistry struct {
	current atomic.Pointer[storageSnapshot]
	mu      sync.Mutex // serialises writers
}

// storageSnapshot is one immutable state of the registry.
type storageSnapshot struct {
	byPartition map[topicPartition]*lockedStorage
	partitions  map[string]int // topic → partitions with a storage
}

func newStorageRegistry() *storageRegistry {
	r := &storageRegistry{}
	r.current.Store(&storageSnapshot{
		byPartition: map[topicPartition]*lockedStorage{},
		partitions:  map[string]int{},
	})
	return r
}

// wrap returns a storage builder that records every storage it builds.
func (r *storageRegistry) wrap(base storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := base(topic, partition)
		if err != nil {
			return nil, err
		}
		locked := &lockedStorage{Storage: st}
		r.mu.Lock()
		defer r.mu.Unlock()
		old := r.current.Load()
		next := &storageSnapshot{
			byPartition: maps.Clone(old.byPartition),
			partitions:  maps.Clone(old.partitions),
		}
		tp := topicPartition{topic, partition}
		if _, known := next.byPartition[tp]; !known {
			next.partitions[topic]++
		}
		next.byPartition[tp] = locked
		r.current.Store(next)
		return locked, nil
	}
}

// get returns the storage of (topic, partition).
func (r *storageRegistry) get(topic string, partition int32) (*lockedStorage, error) {
	st, ok := r.current.Load().byPartition[topicPartition{topic, partition}]
	if !ok {
		return nil, fmt.Errorf("%w: no storage for %s/%d", ErrNotRunning, topic, partition)
	}
	return st, nil
}

// partitionCount is the number of partitions of topic that have a storage:
// all of them for a lookup table, whose view opens every partition.
func (r *storageRegistry) partitionCount(topic string) int {
	return r.current.Load().partitions[topic]
}

// lockedStorage serialises writes. goka's storage contract is "any number of
// concurrent readers, one writer"; with async write-back the partition
// goroutine (sync callbacks, goka's own SetValue) and workers (async
// write-back, which may write different keys of the same partition at once)
// both write. Reads stay concurrent.
type lockedStorage struct {
	storage.Storage
	writeMu sync.Mutex
	// offset caches the highest stored offset; valid once offsetKnown.
	offset      int64
	offsetKnown bool
}

func (s *lockedStorage) Set(key string, value []byte) error {
	s.lockWrite()
	defer s.writeMu.Unlock()
	return s.Storage.Set(key, value)
}

func (s *lockedStorage) Delete(key string) error {
	s.lockWrite()
	defer s.writeMu.Unlock()
	return s.Storage.Delete(key)
}

// SetOffset only moves the stored offset forward. goka sets it from producer
// acknowledgements; with several writers of one partition the acks of table
// writes can be observed out of order, and the stored offset is where table
// recovery resumes, so it must never move back.
func (s *lockedStorage) SetOffset(offset int64) error {
	s.lockWrite()
	defer s.writeMu.Unlock()
	if !s.offsetKnown {
		current, err := s.Storage.GetOffset(-1)
		if err != nil {
			return err
		}
		s.offset, s.offsetKnown = current, true
	}
	if offset <= s.offset {
		return nil
	}
	if err := s.Storage.SetOffset(offset); err != nil {
		return err
	}
	s.offset = offset
	return nil
}

// lockWrite takes the write lock, first by trying and yielding, and only
// then by queueing in the mutex. Many workers write one partition's storage,
// each for well under a microsecond, but the holder can park inside the
// storage (goka's memory storage waits there for its readers). Waiters
// queued in the mutex then pass it into its starvation mode, in which every
// unlock hands the lock to the oldest waiter, which must first be
// scheduled: a convoy that made each write wait for a scheduling delay. A
// goroutine that yields instead lets the holder run, and whoever runs when
// the lock is free takes it. A holder that keeps the lock longer (a storage
// doing I/O) gets queued waiters after writeLockYields tries, so that they
// do not spin meanwhile.
func (s *lockedStorage) lockWrite() {
	for range writeLockYields {
		if s.writeMu.TryLock() {
			return
		}
		runtime.Gosched()
	}
	s.writeMu.Lock()
}

// writeLockYields bounds lockWrite's tries before it queues.
const writeLockYields = 64
