package asyncdsl

import (
	"cmp"
	"slices"
	"time"

	"github.com/samber/lo"
)

// DefaultStatsTopKeys is how many blocked keys Stats lists per partition.
const DefaultStatsTopKeys = 10

// Stats is a snapshot of the executor, for progress displays and
// inspection ("why is my committed offset stuck?").
type Stats struct {
	Pending int // submitted, not yet released
	Running int // attempts or applies in progress on workers
	Queued  int // waiting for their key or for a worker
	// Stuck counts the goroutines the executor gave up on while they ran
	// user code that ignored its context (an attempt past its call timeout,
	// or past the drain deadline of a revocation or Close), and that have
	// not returned yet. Go cannot stop them; they hold memory until the
	// code returns. WithMaxStuck bounds them.
	Stuck int
	// Detached counts the attempts given up on so far (each one left a
	// goroutine stuck), and Discarded the results of those that returned
	// since: discarded unapplied, so a detached attempt never writes.
	Detached   int64
	Discarded  int64
	Counts     Counts
	Partitions []PartitionStats
}

// Counts are totals since the executor was created.
type Counts struct {
	// Skipped counts tasks released Skipped: failed records that the skip
	// policy dropped, and records whose dead letter was refused even in
	// its reduced form (DeadLettersDropped).
	Skipped int64
	// DeadLettered counts tasks released DeadLettered.
	DeadLettered int64
	// Refused counts writes refused for a reason of the record (see
	// Refused) that were handed to the error policy: a record's own writes
	// and its dead letters.
	Refused int64
	// DeadLettersReduced counts DeadLettered tasks whose first dead letter
	// was refused and whose reduced one was written.
	DeadLettersReduced int64
	// DeadLettersDropped counts tasks whose reduced dead letter was refused
	// too: they were released Skipped.
	DeadLettersDropped int64
}

// countLocked adds the released task t to the counts. e.mu must be held.
func (e *Executor) countLocked(t *task) {
	switch t.status {
	case Skipped:
		e.mu.counts.Skipped++
	case DeadLettered:
		e.mu.counts.DeadLettered++
		if t.refused >= refusedDeadLetter {
			e.mu.counts.DeadLettersReduced++
		}
	}
}

// PartitionStats describes one assignment of a (topic, partition). Two
// entries for one (topic, partition) mean that an old assignment is still
// draining while a new one runs.
type PartitionStats struct {
	Topic     string
	Partition int32
	// Pending counts the unreleased tasks of the assignment: Queued (waiting
	// for their key or a worker), Running (attempts, or writes not yet
	// acknowledged) and HeldBack (finished, waiting for an earlier offset of
	// the assignment to finish before they are released).
	Pending  int
	Queued   int
	Running  int
	HeldBack int
	// HeadOffset is the offset the watermark waits on, -1 if none; HeadKey,
	// HeadAge (since its submission) and HeadAttempts describe that task.
	HeadOffset   int64
	HeadKey      string
	HeadAge      time.Duration
	HeadAttempts int
	// TailOffset is the last offset submitted and not released, -1 if none.
	// TailOffset-HeadOffset+1 is how many offsets the watermark holds back
	// from the commit (the commit lag; gaps in offsets count too).
	TailOffset int64
	// LongestKeyQueue is the most unreleased tasks of one key in the
	// partition (across the topics that share its lanes).
	LongestKeyQueue int
	// BlockedKeys lists the keys of the partition with at least one task
	// waiting behind an earlier task of the same key, longest queue first,
	// at most the number asked of StatsTopKeys. Lanes are shared by the
	// topics of a partition, so co-partitioned assignments list the same
	// keys.
	BlockedKeys []KeyStats
	// LastError is the last attempt error seen in the assignment, "" if
	// none. Cancellation is not an error; an attempt that did not return by
	// its call timeout is (a *StuckCallError).
	LastError string
}

// KeyStats describes the lane of one key: its unreleased tasks and the task
// at its head, which the others wait for.
type KeyStats struct {
	Key string
	// Unreleased counts the key's submitted, unreleased tasks, the head
	// included (what WithMaxQueuedPerKey bounds).
	Unreleased int
	// HeadTopic and HeadOffset name the task the key waits on (-1 if every
	// task of the key is finished and only waits for its release); HeadState
	// is "waiting for a worker", "running" or "awaiting ack"; HeadAge is the
	// time since its submission, and HeadAttempts its attempts so far.
	HeadTopic    string
	HeadOffset   int64
	HeadState    string
	HeadAge      time.Duration
	HeadAttempts int
}

// Stats returns a snapshot with at most DefaultStatsTopKeys blocked keys per
// partition. See StatsTopKeys.
func (e *Executor) Stats() Stats { return e.StatsTopKeys(DefaultStatsTopKeys) }

// StatsTopKeys returns a snapshot listing at most topKeys blocked keys per
// partition (none if topKeys <= 0). Partitions are sorted by topic, then
// partition, then age of the assignment. It takes the executor's lock for a
// time proportional to the number of keys and records in flight: fine for a
// progress display or a metrics collection every second, not for every
// record.
func (e *Executor) StatsTopKeys(topKeys int) Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	s := Stats{Pending: e.mu.pending, Running: e.mu.running, Queued: e.mu.queued, Counts: e.mu.counts,
		Stuck: e.mu.stuck, Detached: e.mu.detachedCalls, Discarded: e.mu.discarded}
	longest := make(map[int32]int)
	blocked := make(map[int32][]*lane)
	for k, l := range e.mu.lanes {
		longest[k.partition] = max(longest[k.partition], l.count)
		if topKeys > 0 && l.count > 1 {
			blocked[k.partition] = append(blocked[k.partition], l)
		}
	}
	keys := make(map[int32][]KeyStats, len(blocked))
	for p, ls := range blocked {
		slices.SortFunc(ls, func(x, y *lane) int {
			return cmp.Or(cmp.Compare(y.count, x.count), cmp.Compare(x.key.key, y.key.key))
		})
		top := ls[:min(len(ls), topKeys)]
		keys[p] = lo.Map(top, func(l *lane, _ int) KeyStats { return laneStats(l, now) })
	}

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
			TailOffset:      -1,
			LongestKeyQueue: longest[a.tp.partition],
			BlockedKeys:     keys[a.tp.partition],
		}
		if h := a.wmHead; h != nil {
			p.HeadOffset = h.Offset
			p.HeadKey = h.Key
			p.HeadAge = nanos(now - h.submitted)
			p.HeadAttempts = int(h.attempts.Load())
		}
		if t := a.wmTail; t != nil {
			p.TailOffset = t.Offset
		}
		for t := a.wmHead; t != nil; t = t.wmNext {
			switch t.state {
			case stateQueued, stateReady:
				p.Queued++
			case stateRunning, stateAwaitingAck:
				p.Running++
			default:
				p.HeldBack++
			}
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
	s.Partitions = lo.Map(entries, func(x entry, _ int) PartitionStats { return x.p })
	return s
}

// laneStats describes lane l. e.mu must be held.
func laneStats(l *lane, now int64) KeyStats {
	k := KeyStats{Key: l.key.key, Unreleased: l.count, HeadOffset: -1}
	if h := l.head; h != nil {
		k.HeadTopic = h.Topic
		k.HeadOffset = h.Offset
		k.HeadAge = nanos(now - h.submitted)
		k.HeadAttempts = int(h.attempts.Load())
		switch h.state {
		case stateQueued, stateReady:
			k.HeadState = "waiting for a worker"
		case stateRunning:
			k.HeadState = "running"
		case stateAwaitingAck:
			k.HeadState = "awaiting ack"
		default:
			k.HeadState = "finished"
		}
	}
	return k
}
