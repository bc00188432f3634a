package gokaadapter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/tracing"
)

// emitter hands the emits of applied records (state changelog writes,
// emits, loopbacks, dead letters) to the processor's producer (the one goka
// built; see producerCapture), on emitShards goroutines, each with its own
// FIFO queue (emitQueue). A record's input partition picks its
// queue, so the records of one key, which share a partition, are sent in
// the order they were applied; and as many goroutines feed the producer as
// a sync goka processor of that many partitions has (one queue for all did
// no better: docs/benchmarks.md, "The second optimization pass").
type emitter struct {
	shards []*emitQueue
}

// emitShards is the number of emit queues and goroutines.
const emitShards = 4

func newEmitter() *emitter {
	m := &emitter{shards: make([]*emitQueue, emitShards)}
	for i := range m.shards {
		m.shards[i] = newEmitQueue()
	}
	return m
}

// queue returns the queue of the records of partition.
func (m *emitter) queue(partition int32) *emitQueue {
	return m.shards[int(partition)%len(m.shards)]
}

// close closes every queue (see emitQueue.close).
func (m *emitter) close() {
	for _, q := range m.shards {
		q.close()
	}
}

// emitQueue sends the emits of its records on one goroutine, in the order
// the records were applied.
//
// Why: the executor's contract says Apply must not block, and goka's
// producer sends every message on sarama's unbuffered Input channel, read
// by one dispatcher goroutine. Workers that sent there themselves would all
// park on that channel while the producer is busy, a park and a wake per
// message, crowding the run queues that the producer's own goroutines need.
// So Apply only queues the record's effects and returns. With a producer
// that does not block (franz-go's), the queues still pay: one goroutine per
// queue appends to the producer's partition buffers in runs, where the
// workers would contend for them (docs/benchmarks.md has the measurements,
// in "The second optimization pass" and "The third pass").
//
// Order: a record's emits follow its Apply, and a key's next record is
// applied only after the previous Apply returned (its lane), so a FIFO per
// partition keeps the per-key order of emits that sending from the workers
// had. The storage writes themselves stay in Apply, so the key's next record
// reads them at once.
//
// Ownership: the queue is guarded by mu; the goroutine takes the whole
// queue at a time and emits outside mu. Each queued batch holds one share
// of its record's ack counter, finished after its last emit, so the
// record's done waits for the emitter too.
//
// Backpressure: when the producer is the bottleneck (a fast callback), the
// queue would grow until the executor's pending bounds stop the consumer,
// holding thousands of records in memory that the garbage collector scans
// at every cycle. So dispatch, on goka's partition goroutine, waits in
// waitRoom while more than emitBacklog records are queued or being sent,
// as a sync goka callback waits on the producer's input channel. It
// resumes at half that, so that the emitter never runs dry meanwhile.
//
// Revocation: a batch whose assignment's context is cancelled by the time
// the emitter reaches it is dropped, its share finished with errRevoked:
// the record is abandoned (its offset not committed), and its next owner
// processes it again. Dropping rather than sending late keeps a revoked
// owner's changelog writes from landing after the new owner's, and keeps
// emits off a producer that goka may close once the partition's commits
// are released.
type emitQueue struct {
	mu struct {
		sync.Mutex
		queue   []emitBatch
		started bool
		closed  bool
	}
	wake chan struct{} // capacity 1: a send means "the queue may be non-empty"

	// backlog counts records pushed and not yet sent. room is closed when
	// backlog falls to emitBacklog/2; it is created, under mu, by the first
	// waiter, and reset to nil when closed.
	backlog atomic.Int64
	room    chan struct{} // guarded by mu
	stop    chan struct{} // closed by close
	stopped chan struct{} // closed when the goroutine returned
}

// emitBatch is the emits of one applied record.
type emitBatch struct {
	effects    *effects
	producer   funcEmitter
	trace      *tracing.Record
	assignment context.Context
}

// emitBacklog is how many records may wait for the emitter before dispatch
// waits for room. Any number keeps the producer busy, since dispatch
// resumes while half of it is still queued; a small one keeps few records
// in memory.
const emitBacklog = 1024

// errRevoked finishes the emits of a record whose assignment was revoked
// before they were sent. The executor releases such a record as Abandoned.
var errRevoked = fmt.Errorf("%w: partition revoked before the record's writes were sent", context.Canceled)

func newEmitQueue() *emitQueue {
	return &emitQueue{
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// push queues b. The caller has added b's share to its ack counter. After
// close, b is failed at once.
func (m *emitQueue) push(b emitBatch) {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		b.effects.acks.finish(ErrNotRunning)
		return
	}
	m.backlog.Add(1)
	m.mu.queue = append(m.mu.queue, b)
	if !m.mu.started {
		m.mu.started = true
		go m.run()
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default: // a wake is pending already; the goroutine will see b
	}
}

// close stops the goroutine after it emitted what was queued, and fails
// what is pushed later. It waits for the goroutine.
func (m *emitQueue) close() {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		<-m.stopped
		return
	}
	m.mu.closed = true
	started := m.mu.started
	m.mu.Unlock()
	close(m.stop)
	if started {
		<-m.stopped
	} else {
		close(m.stopped)
	}
}

// waitRoom returns once fewer than emitBacklog records wait for the emitter,
// or with ctx's error if ctx ends first.
func (m *emitQueue) waitRoom(ctx context.Context) error {
	for m.backlog.Load() >= emitBacklog {
		m.mu.Lock()
		if m.mu.closed {
			m.mu.Unlock()
			return nil // push fails the record at once
		}
		if m.room == nil {
			m.room = make(chan struct{})
		}
		room := m.room
		m.mu.Unlock()
		// Checked again after registering: a fall through emitBacklog/2
		// that happened before saw no room to close.
		if m.backlog.Load() < emitBacklog {
			return nil
		}
		select {
		case <-room:
		case <-m.stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// signalRoom wakes the dispatches waiting in waitRoom.
func (m *emitQueue) signalRoom() {
	m.mu.Lock()
	if m.room != nil {
		close(m.room)
		m.room = nil
	}
	m.mu.Unlock()
}

func (m *emitQueue) run() {
	defer close(m.stopped)
	var batch []emitBatch
	for {
		select {
		case <-m.wake:
		case <-m.stop:
			// Whatever was pushed before close is emitted below; push
			// fails anything later.
		}
		m.mu.Lock()
		batch, m.mu.queue = m.mu.queue, batch[:0]
		closed := m.mu.closed
		m.mu.Unlock()
		for i := range batch {
			batch[i].emit()
			batch[i] = emitBatch{}
			if m.backlog.Add(-1) == emitBacklog/2 {
				m.signalRoom()
			}
		}
		if closed {
			// The batch was taken under mu after close: push has failed
			// every record since, so nothing is left.
			return
		}
	}
}

// emit sends the record's emits and finishes the batch's share.
func (b *emitBatch) emit() {
	acks := &b.effects.acks
	if b.assignment.Err() != nil {
		acks.finish(errRevoked)
		return
	}
	b.send()
	acks.finish(nil)
}

// send hands every emit of the batch to the producer. Each emit holds a
// share of the record's ack counter, added before the call since the
// producer may report the emit before EmitFunc returns. An emit refused
// for what the record is finishes its share with a refusal (refusal.go).
func (b *emitBatch) send() {
	acks := &b.effects.acks
	for i := range b.effects.ops {
		op := &b.effects.ops[i]
		switch op.kind {
		case effectSet, effectDelete:
			st := op.storage
			acks.add()
			b.producer.EmitFunc(op.topic, op.key, op.value, op.headers, func(_ int32, offset int64, err error) {
				acks.finish(storeOffset(st, offset, produceError(op, err)))
			})
		case effectEmit:
			headers, sent := b.trace.Send(op.topic, op.headers)
			acks.add()
			b.producer.EmitFunc(op.topic, op.key, op.value, goka.Headers(headers), func(_ int32, _ int64, err error) {
				if sent != nil {
					sent(err)
				}
				acks.finish(produceError(op, err))
			})
		}
	}
}
