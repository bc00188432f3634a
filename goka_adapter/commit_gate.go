package gokaadapter

import (
	"context"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// commitGate drops the offset marks of abandoned records.
//
// Why: goka commits a record by calling the consumer group session's
// MarkOffset(offset+1) when its deferred commit is called, and sarama only
// ever moves a mark forward. Calling the deferred commit with an error would
// stop the processor, and not calling it makes goka wait 60 s on revocation.
// So abandoned work calls the deferred commit without error, and this gate,
// sitting between goka and sarama's session, swallows the mark.
//
// Order: the executor releases a partition's records in delivery order, and
// once one record of an assignment is abandoned every later one is abandoned
// too. So the gate only needs the lowest abandoned offset per (topic,
// partition): marks at or past it are dropped.
//
// Lifetime: abandoned offsets belong to one group generation. Setup of the
// next generation resets them. That is safe because goka's Cleanup of the old
// generation waits for all of its deferred commits, so no old mark can arrive
// after the next Setup.
type commitGate struct {
	mu struct {
		sync.Mutex
		abandonedFrom map[topicPartition]int64
	}
}

func newCommitGate() *commitGate {
	g := &commitGate{}
	g.mu.abandonedFrom = make(map[topicPartition]int64)
	return g
}

// abandon records that offset of (topic, partition) must not be committed.
func (g *commitGate) abandon(topic string, partition int32, offset int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tp := topicPartition{topic, partition}
	if from, ok := g.mu.abandonedFrom[tp]; !ok || offset < from {
		g.mu.abandonedFrom[tp] = offset
	}
}

// allows reports whether the record at offset may be marked.
func (g *commitGate) allows(topic string, partition int32, offset int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	from, ok := g.mu.abandonedFrom[topicPartition{topic, partition}]
	return !ok || offset < from
}

func (g *commitGate) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.mu.abandonedFrom)
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
type gatedHandler struct {
	inner sarama.ConsumerGroupHandler
	gate  *commitGate
}

func (h *gatedHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.gate.reset()
	return h.inner.Setup(&gatedSession{ConsumerGroupSession: s, gate: h.gate})
}

func (h *gatedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(&gatedSession{ConsumerGroupSession: s, gate: h.gate})
}

func (h *gatedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	return h.inner.ConsumeClaim(&gatedSession{ConsumerGroupSession: s, gate: h.gate}, claim)
}

type gatedSession struct {
	sarama.ConsumerGroupSession
	gate *commitGate
}

// MarkOffset receives the next offset to consume, as goka passes offset+1.
func (s *gatedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if s.gate.allows(topic, partition, offset-1) {
		s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
	}
}

func (s *gatedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	if s.gate.allows(msg.Topic, msg.Partition, msg.Offset) {
		s.ConsumerGroupSession.MarkMessage(msg, metadata)
	}
}
