package gokaadapter

import (
	"fmt"
	"hash"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/internal/panics"
)

// producerCapture holds the producer goka built for the processor, so that
// write-back goes through it: the same partitioner (goka's hasher), the same
// batching, and goka closes it after every deferred commit was released. It
// keeps it in the form the emit queues send through (funcEmitter), chosen
// once when goka builds it.
//
// Every applied record reads it and goka's builder sets it once per
// processor, so it is an atomic pointer, not a field under a lock whose
// reader count would bounce between cores.
type producerCapture struct {
	current atomic.Pointer[capturedProducer]
}

type capturedProducer struct{ emit funcEmitter }

func (c *producerCapture) wrap(base goka.ProducerBuilder) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		p, err := base(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		c.current.Store(&capturedProducer{asFuncEmitter(p)})
		return p, nil
	}
}

func (c *producerCapture) get() (funcEmitter, error) {
	p := c.current.Load()
	if p == nil {
		return nil, ErrNotRunning
	}
	return p.emit, nil
}

// funcEmitter is a producer that reports an emit's outcome to a func instead
// of a goka.Promise: kafka.Settings.KgoProducerBuilder's producers do, which
// saves each produce the promise, its finisher and the sarama message that
// goka's promise callbacks read; any other producer is adapted
// (promiseEmitter).
//
// Its contract, which the emit queues rely on: EmitFunc does not panic (a
// closed producer fails the record through done), and calls done exactly
// once, from any goroutine, possibly before EmitFunc returns.
type funcEmitter interface {
	EmitFunc(topic string, key string, value []byte, headers goka.Headers, done func(partition int32, offset int64, err error))
}

// asFuncEmitter returns p as a funcEmitter: itself if it is one, else
// adapted.
func asFuncEmitter(p goka.Producer) funcEmitter {
	if fe, ok := p.(funcEmitter); ok {
		return fe
	}
	return promiseEmitter{p}
}

// promiseEmitter is a goka.Producer (goka's own on sarama, the tester's) in
// the funcEmitter form.
type promiseEmitter struct{ producer goka.Producer }

func (p promiseEmitter) EmitFunc(topic string, key string, value []byte, headers goka.Headers, done func(partition int32, offset int64, err error)) {
	promise, err := p.send(topic, key, value, headers)
	if err != nil {
		done(0, 0, err)
		return
	}
	promise.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		if msg == nil {
			done(0, 0, err)
			return
		}
		done(msg.Partition, msg.Offset, err)
	})
}

// send emits through the producer. A panic of a producer that was closed
// under it (sarama's send on its closed input) is an error of the record,
// not of the process.
func (p promiseEmitter) send(topic string, key string, value []byte, headers goka.Headers) (promise *goka.Promise, err error) {
	defer panics.Catch(func(r any) { promise, err = nil, fmt.Errorf("%w: producer: %v", ErrNotRunning, r) })
	return p.producer.EmitWithHeaders(topic, key, value, headers), nil
}
