package asyncdsl

import (
	"cmp"
	"slices"
	"time"
)

// Stats is a snapshot of the executor, for progress displays and
// inspection ("why is my committed offset stuck?").
type Stats struct {
	Pending    int // submitted, not yet released
	Running    int // attempts or applies in progress on workers
	Queued     int // waiting for their key or for a worker
	Partitions []PartitionStats
}

// PartitionStats describes one assignment of a (topic, partition). Two
// entries for one (topic, partition) mean that an old assignment is still
// draining while a new one runs.
type PartitionStats struct {
	Topic     string
	Partition int32
	// Pending counts the unreleased tasks of the assignment.
	Pending int
	// HeadOffset is the offset the watermark waits on, -1 if none; HeadKey,
	// HeadAge (since its submission) and HeadAttempts describe that task.
	HeadOffset   int64
	HeadKey      string
	HeadAge      time.Duration
	HeadAttempts int
	// LongestKeyQueue is the most unreleased tasks of one key in the
	// partition (across the topics that share its lanes).
	LongestKeyQueue int
	// LastError is the last attempt error seen in the assignment, "" if
	// none. Cancellation is not an error.
	LastError string
}

// Stats returns a snapshot. Partitions are sorted by topic, then partition,
// then age of the assignment. It takes the executor's lock for a time
// proportional to the number of keys in flight: fine for a progress display
// every second, not for every record.
func (e *Executor) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Pending: e.mu.pending, Running: e.mu.running, Queued: e.mu.queued}
	longest := make(map[int32]int)
	for k, l := range e.mu.lanes {
		longest[k.partition] = max(longest[k.partition], l.count)
	}
	now := e.now()
	type entry struct {
		p       PartitionStats
		created int64
	}
	entries := make([]entry, 0, len(e.mu.all))
	for a := range e.mu.all {
		p := PartitionStats{
			Topic:           a.tp.topic,
			Partition:       a.tp.partition,
			Pending:         a.pending,
			HeadOffset:      -1,
			LongestKeyQueue: longest[a.tp.partition],
		}
		if h := a.wmHead; h != nil {
			p.HeadOffset = h.Offset
			p.HeadKey = h.Key
			p.HeadAge = nanos(now - h.submitted)
			p.HeadAttempts = int(h.attempts.Load())
		}
		if a.lastErr != nil {
			p.LastError = a.lastErr.Error()
		}
		entries = append(entries, entry{p, a.createdTime})
	}
	slices.SortFunc(entries, func(x, y entry) int {
		return cmp.Or(
			cmp.Compare(x.p.Topic, y.p.Topic),
			cmp.Compare(x.p.Partition, y.p.Partition),
			cmp.Compare(x.created, y.created),
		)
	})
	s.Partitions = make([]PartitionStats, len(entries))
	for i := range entries {
		s.Partitions[i] = entries[i].p
	}
	return s
}
