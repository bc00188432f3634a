package gokaadapter

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// commitGate is the one place where the offset marks of the adapter's
// processor pass from goka to sarama's consumer group session. goka's
// committer calls the session's MarkOffset(offset+1) for a record, and
// sarama only ever moves a mark forward: a mark for offset n also commits
// every offset before n. So a mark may reach sarama only when no earlier
// record of its (topic, partition) is unfinished.
//
// riffle's own marks, the deferred commits of async records, keep to that:
// the executor's watermark releases them in delivery order. goka also marks
// on paths riffle does not see (see docs/architecture.md, "Paths to a
// commit"): with its default nil handling (goka.NilIgnore) it marks a
// tombstone at once, without calling a callback, and a callback that stays
// synchronous commits when it returns. Such a mark, arriving while an
// earlier async record of its partition is still running, would commit past
// that record, which a crash or a shutdown then loses. So the gate checks
// every mark against the records riffle holds:
//
//   - dispatch registers each async record's offset as held (hold), on
//     goka's partition goroutine, before it submits the record, so by the
//     time goka delivers the next record of the partition (and may mark
//     it) the earlier one is registered;
//   - a mark for a held offset (its release) removes it, then passes on
//     like any other mark;
//   - a mark passes on at once if no held offset of its partition is lower,
//     otherwise it is deferred until the held offsets below it are
//     released; only the highest deferred mark of a partition is kept,
//     since passing it covers the lower ones. A lower deferred mark that
//     was replaced is not passed when the held offsets below it alone are
//     released; that only delays the commit of the records between, since
//     each held record's release passes its own mark, and the highest
//     deferred one passes with the release of the last held offset below
//     it;
//   - an abandoned or failed record (abandon) is removed from the held
//     offsets, and from then on every mark at or past it is dropped, the
//     deferred one included: such a record must not be committed, and the
//     executor releases every later record of the assignment as abandoned
//     or failed too, so the gate only needs the lowest such offset.
//
// Order: releases arrive in delivery order per partition, so the released
// offset is normally the head of the held offsets, and held offsets form a
// FIFO queue: appended by dispatch, popped by the release. Marks are passed
// to sarama outside the partition's lock, so two marks of a partition may
// reach sarama in either order; that is safe because each was decided safe
// when no lower offset was held, offsets held later are higher (goka
// delivers a partition in offset order, and a record is marked only after
// it was delivered), and sarama keeps the highest mark.
//
// Concurrency: every async record takes its partition's state twice (hold,
// release), on many partitions at once, so the state is per (topic,
// partition), each with its own lock, found through an immutable table
// published by an atomic pointer (copied under mu when a partition is seen
// for the first time); no lock is shared by all partitions. The table is
// indexed by partition number (goka's partitions are 0..n-1), then holds
// the partition's topics, usually one: a lookup costs no hashing.
//
// Lifetime: held offsets, deferred marks and abandoned offsets belong to
// one group generation (one session). Setup of the next generation clears
// them. That is safe because goka's Cleanup of the old generation waits for
// all of its deferred commits (the executor releases every record within
// the drain timeout), and its partition goroutines have returned by then,
// so no old hold or mark arrives after the next Setup. Should one arrive
// all the same (goka stops waiting after 60 s), it carries its generation
// and is dropped: a mark through the session of an ended generation, or
// the abandonment of a record dispatched in it, must neither commit nor
// block anything of the next one; the record is consumed again.
type commitGate struct {
	parts      atomic.Pointer[[][]*gatedPartition] // by partition, then topic
	mu         sync.Mutex                          // serialises writers of parts
	generation atomic.Int32                        // of the current session, counted by Setup
}

func newCommitGate() *commitGate {
	g := &commitGate{}
	g.parts.Store(&[][]*gatedPartition{})
	return g
}

// gatedPartition is the gate's state of one (topic, partition), and the
// partition check of its records (check), so that dispatch finds both with
// one lookup.
type gatedPartition struct {
	topic string

	mu struct {
		sync.Mutex
		// held[head:] are the offsets of the partition's async records
		// that are registered and not yet released, in delivery order.
		held []int64
		head int
		// deferred is the highest mark (the next offset to consume) that
		// waits for a held offset below it; noMark if none.
		deferred int64
		// abandonedFrom is the lowest offset of an abandoned or failed
		// record; noMark if none.
		abandonedFrom int64
	}

	// marked is whether goka marks this topic's records: those of input
	// and loop streams. A visit's records (goka.Visitor) complete through
	// the visit, never a mark, so they are not held.
	marked bool

	check partitionCheck // used by dispatch only: see partitionCheck
}

const noMark = -1

// compactAt is how many released offsets the head of a held queue may pass
// before the live ones are moved to the front of its slice. Compacting only
// when the released part is also at least half of the slice keeps the cost
// per offset constant.
const compactAt = 1024

// lookup returns the state of (topic, partition), or nil if dispatch never
// saw the partition: then riffle holds nothing there, and marks pass.
func (g *commitGate) lookup(topic string, partition int32) *gatedPartition {
	parts := *g.parts.Load()
	if partition < 0 || int(partition) >= len(parts) {
		return nil
	}
	for _, gp := range parts[partition] {
		if gp.topic == topic {
			return gp
		}
	}
	return nil
}

// add publishes gp as the state of (gp.topic, partition), unless the
// partition has one already, and returns the partition's state. Only
// dispatch adds states, when it first sees a partition; marks only look
// them up.
func (g *commitGate) add(partition int32, gp *gatedPartition) *gatedPartition {
	g.mu.Lock()
	defer g.mu.Unlock()
	if existing := g.lookup(gp.topic, partition); existing != nil {
		return existing
	}
	gp.mu.deferred, gp.mu.abandonedFrom = noMark, noMark
	next := slices.Clone(*g.parts.Load())
	if n := int(partition) + 1; n > len(next) {
		next = append(next, make([][]*gatedPartition, n-len(next))...)
	}
	next[partition] = append(slices.Clone(next[partition]), gp)
	g.parts.Store(&next)
	return gp
}

// hold registers the offset of an async record, before it is submitted.
func (gp *gatedPartition) hold(offset int64) {
	gp.mu.Lock()
	gp.mu.held = append(gp.mu.held, offset)
	gp.mu.Unlock()
}

// abandon records that the record at offset, dispatched in generation,
// will not be committed (abandoned, or failed) and releases its hold.
func (g *commitGate) abandon(topic string, partition int32, offset int64, generation int32) {
	if generation != g.generation.Load() {
		return // of an ended session (see Lifetime)
	}
	gp := g.lookup(topic, partition)
	if gp == nil {
		return // not held: dispatch creates the state before any release
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	gp.removeLocked(offset)
	if gp.mu.abandonedFrom == noMark || offset < gp.mu.abandonedFrom {
		gp.mu.abandonedFrom = offset
	}
}

// mark decides about goka's mark next (the offset to consume next: the
// marked record's offset plus one). It returns up to two marks to pass on
// to sarama, noMark for none: next itself, and a deferred mark that next's
// release unblocked.
func (gp *gatedPartition) mark(next int64) (pass, unblocked int64) {
	pass, unblocked = noMark, noMark
	offset := next - 1
	gp.mu.Lock()
	defer gp.mu.Unlock()
	gp.removeLocked(offset)
	low, anyHeld := gp.lowestLocked()
	switch {
	case gp.abandonedLocked(offset):
		// dropped
	case anyHeld && low <= offset:
		gp.mu.deferred = max(gp.mu.deferred, next)
	default:
		pass = next
	}
	if d := gp.mu.deferred; d != noMark {
		switch {
		case gp.abandonedLocked(d - 1):
			gp.mu.deferred = noMark
		case !anyHeld || low > d-1:
			unblocked, gp.mu.deferred = d, noMark
		}
	}
	return pass, unblocked
}

func (gp *gatedPartition) abandonedLocked(offset int64) bool {
	return gp.mu.abandonedFrom != noMark && offset >= gp.mu.abandonedFrom
}

func (gp *gatedPartition) lowestLocked() (int64, bool) {
	if gp.mu.head == len(gp.mu.held) {
		return 0, false
	}
	return gp.mu.held[gp.mu.head], true
}

// removeLocked removes offset from the held offsets, if it is there. It is
// the head unless the release order was broken; then it is searched for.
func (gp *gatedPartition) removeLocked(offset int64) {
	held := gp.mu.held
	h := gp.mu.head
	switch {
	case h == len(held):
		return
	case held[h] == offset:
		gp.mu.head++
	default:
		for i := h + 1; i < len(held); i++ {
			if held[i] == offset {
				gp.mu.held = append(held[:i], held[i+1:]...)
				break
			}
		}
		return
	}
	switch h = gp.mu.head; {
	case h == len(held):
		gp.mu.held, gp.mu.head = held[:0], 0
	case h >= compactAt && 2*h >= len(held):
		n := copy(held, held[h:])
		gp.mu.held, gp.mu.head = held[:n], 0
	}
}

// reset forgets the held offsets, deferred marks and abandoned offsets of
// the previous generation (see the type comment).
func (g *commitGate) reset() {
	for _, topics := range *g.parts.Load() {
		for _, gp := range topics {
			gp.mu.Lock()
			gp.mu.held, gp.mu.head = gp.mu.held[:0], 0
			gp.mu.deferred, gp.mu.abandonedFrom = noMark, noMark
			gp.mu.Unlock()
		}
	}
}

// wrap returns a consumer group builder whose sessions pass marks through
// the gate.
func (g *commitGate) wrap(base goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := base(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return &gatedConsumerGroup{ConsumerGroup: cg, gate: g}, nil
	}
}

type gatedConsumerGroup struct {
	sarama.ConsumerGroup
	gate *commitGate
}

func (c *gatedConsumerGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	return c.ConsumerGroup.Consume(ctx, topics, &gatedHandler{inner: handler, gate: c.gate})
}

// gatedHandler hands goka a gated session in all three handler calls: goka
// keeps the session it gets in Setup to build its committer.
//
// sarama makes one handler call of Setup, then ConsumeClaim per claim, then
// Cleanup per session, on a handler made per Consume call, so generation
// is written by Setup before the other calls read it.
type gatedHandler struct {
	inner      sarama.ConsumerGroupHandler
	gate       *commitGate
	generation int32
}

func (h *gatedHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.generation = h.gate.generation.Add(1)
	h.gate.reset()
	return h.inner.Setup(h.session(s))
}

func (h *gatedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(h.session(s))
}

func (h *gatedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	return h.inner.ConsumeClaim(h.session(s), claim)
}

func (h *gatedHandler) session(s sarama.ConsumerGroupSession) *gatedSession {
	return &gatedSession{ConsumerGroupSession: s, gate: h.gate, generation: h.generation}
}

type gatedSession struct {
	sarama.ConsumerGroupSession
	gate       *commitGate
	generation int32
}

// MarkOffset receives the next offset to consume, as goka passes offset+1.
func (s *gatedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if s.generation != s.gate.generation.Load() {
		return // a late mark of an ended session (see commitGate, Lifetime)
	}
	gp := s.gate.lookup(topic, partition)
	if gp == nil {
		s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
		return
	}
	pass, unblocked := gp.mark(offset)
	if pass != noMark {
		s.ConsumerGroupSession.MarkOffset(topic, partition, pass, metadata)
	}
	if unblocked != noMark {
		s.ConsumerGroupSession.MarkOffset(topic, partition, unblocked, metadata)
	}
}

// MarkMessage is MarkOffset(msg.Offset+1), as in sarama. goka does not call
// it; it is gated all the same.
func (s *gatedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}
