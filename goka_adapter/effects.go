package gokaadapter

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

type effectKind int

const (
	effectSet effectKind = iota + 1
	effectDelete
	effectEmit // emits and loopbacks
)

// effect is one buffered write of an attempt, already encoded.
type effect struct {
	kind    effectKind
	topic   string
	key     string
	value   []byte
	headers goka.Headers
	storage *lockedStorage // set by apply for state writes: its offset follows the changelog's acks
}

// effects are the buffered writes of one attempt, in call order.
//
// Ownership: ops is written by the attempt and read by apply, both on the
// same worker goroutine, one after the other. The deferred-commit counter is
// shared with whatever goroutine the user hands a DeferCommit func to, so it
// has its own lock. acks is used from apply on and shared with goka's
// producer callbacks (see ackCounter).
type effects struct {
	ops    []effect
	inline [2]effect // ops' first backing array: a state write and an emit fit

	acks ackCounter

	deferred struct {
		sync.Mutex
		outstanding int
		err         error
		onDone      func(error) // set by apply; called once outstanding is 0
	}
}

func (e *effects) add(op effect) { e.ops = append(e.ops, op) }

// pendingValue returns the attempt's own latest write of key's state.
func (e *effects) pendingValue(key string) (value []byte, found bool) {
	for i := len(e.ops) - 1; i >= 0; i-- {
		op := e.ops[i]
		if op.key != key {
			continue
		}
		switch op.kind {
		case effectSet:
			return op.value, true
		case effectDelete:
			return nil, true
		}
	}
	return nil, false
}

func (e *effects) deferCommit() func(error) {
	e.deferred.Lock()
	e.deferred.outstanding++
	e.deferred.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			e.deferred.Lock()
			e.deferred.outstanding--
			if err != nil && e.deferred.err == nil {
				e.deferred.err = err
			}
			var notify func(error)
			if e.deferred.outstanding == 0 && e.deferred.onDone != nil {
				notify, e.deferred.onDone = e.deferred.onDone, nil
			}
			firstErr := e.deferred.err
			e.deferred.Unlock()
			if notify != nil {
				notify(firstErr)
			}
		})
	}
}

// whenDeferredDone calls fn once every DeferCommit func was called.
func (e *effects) whenDeferredDone(fn func(error)) {
	e.deferred.Lock()
	if e.deferred.outstanding == 0 {
		err := e.deferred.err
		e.deferred.Unlock()
		fn(err)
		return
	}
	e.deferred.onDone = fn
	e.deferred.Unlock()
}

// apply returns the write-back of the attempt, as goka's own context does it:
// a state write goes to the partition's table storage at once (so the next
// record of the key reads it) and to the table topic, whose acknowledged
// offset becomes the storage's offset; emits and loopbacks go to their topics
// through the processor's producer. The sends happen on the adapter's emitter
// (emitter.go), so apply does not block. done is called when all of it is
// acknowledged and every DeferCommit func was called.
//
// With tracing on (trace not nil), every emit and loopback gets a producer
// span, and its headers the span's traceparent, so that the consumers of
// the emitted record continue the trace.
func (e *effects) apply(a *Adapter, partition int32, trace *tracing.Record, assignment context.Context) asyncdsl.Apply {
	return func(done func(error)) {
		acks := &e.acks
		acks.start(done)
		defer acks.finish(nil) // the apply's own share

		if len(e.ops) > 0 {
			producer, err := a.producer.get()
			if err != nil {
				acks.fail(err)
				return
			}
			for i := range e.ops {
				if err := e.writeState(a, partition, &e.ops[i]); err != nil {
					acks.fail(err)
					return
				}
			}
			acks.add()
			a.emitter.queue(partition).push(emitBatch{effects: e, producer: producer, trace: trace, assignment: assignment})
		}
		acks.add()
		e.whenDeferredDone(acks.finishFunc)
	}
}

// writeState applies a state write or delete to the partition's storage and
// remembers the storage for the changelog's ack. Emits have nothing to do
// here.
func (e *effects) writeState(a *Adapter, partition int32, op *effect) error {
	if op.kind != effectSet && op.kind != effectDelete {
		return nil
	}
	st, err := a.storages.get(op.topic, partition)
	if err != nil {
		return err
	}
	op.storage = st
	if op.kind == effectSet {
		return st.Set(op.key, op.value)
	}
	return st.Delete(op.key)
}

// ackCounter calls done once, with the first error, when every share has
// finished. start gives it one share, the caller's. An error that is not a
// refusal (asyncdsl.Refused) replaces a refusal, though: a refusal sends the
// record to its error policy, which may skip it, and that must not hide a
// write of the record that failed for another reason.
//
// Shares are counted with an atomic: finish runs on the producer's
// callback goroutine, once per acknowledged write, and needs no lock unless
// a write failed. The first error is kept under mu; a failing finish stores
// it before its decrement, and the last finish (whose decrement comes after
// every other one) reads it under mu, so it sees it.
type ackCounter struct {
	pending atomic.Int32
	done    func(error)
	// finishFunc is finish as a func value, made once by start so that the
	// producer callbacks of one apply share it.
	finishFunc func(error)

	mu  sync.Mutex
	err error
}

// start sets done and takes the caller's share. It runs before any other
// method, on the goroutine that calls apply.
func (c *ackCounter) start(done func(error)) {
	c.done = done
	c.finishFunc = c.finish
	c.pending.Store(1)
}

func (c *ackCounter) add() { c.pending.Add(1) }

// fail records err without finishing a share.
func (c *ackCounter) fail(err error) {
	c.mu.Lock()
	if c.err == nil || (asyncdsl.IsRefused(c.err) && !asyncdsl.IsRefused(err)) {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *ackCounter) finish(err error) {
	if err != nil {
		c.fail(err)
	}
	if c.pending.Add(-1) != 0 {
		return
	}
	c.mu.Lock()
	firstErr := c.err
	c.mu.Unlock()
	c.done(firstErr)
}

// storeOffset is what goka's own context does when a table write is
// acknowledged: the storage's offset follows the changelog's. An offset of
// 0 is not stored, as goka does not (a producer that reports none).
func storeOffset(st *lockedStorage, offset int64, err error) error {
	if err == nil && offset != 0 {
		return st.SetOffset(offset)
	}
	return err
}
