package gokaadapter

import (
	"hash"
	"sync/atomic"

	"github.com/lovoo/goka"
)

// producerCapture holds the producer goka built for the processor, so that
// write-back goes through it: the same partitioner (goka's hasher), the same
// batching, and goka closes it after every deferred commit was released.
//
// Every applied record reads it and goka's builder sets it once per
// processor, so it is an atomic pointer, not a field under a lock whose
// reader count would bounce between cores.
type producerCapture struct {
	current atomic.Pointer[capturedProducer]
}

type capturedProducer struct{ goka.Producer }

func (c *producerCapture) wrap(base goka.ProducerBuilder) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		p, err := base(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		c.current.Store(&capturedProducer{p})
		return p, nil
	}
}

func (c *producerCapture) get() (goka.Producer, error) {
	p := c.current.Load()
	if p == nil {
		return nil, ErrNotRunning
	}
	return p.Producer, nil
}
