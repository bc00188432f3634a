package gokaadapter

import (
	"hash"
	"sync"

	"github.com/lovoo/goka"
)

// producerCapture holds the producer goka built for the processor, so that
// write-back goes through it: the same partitioner (goka's hasher), the same
// batching, and goka closes it after every deferred commit was released.
type producerCapture struct {
	mu struct {
		sync.RWMutex
		producer goka.Producer
	}
}

func (c *producerCapture) wrap(base goka.ProducerBuilder) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		p, err := base(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.mu.producer = p
		return p, nil
	}
}

func (c *producerCapture) get() (goka.Producer, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mu.producer == nil {
		return nil, ErrNotRunning
	}
	return c.mu.producer, nil
}
