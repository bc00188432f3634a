package asyncdsl

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// tpKey names a (topic, partition).
type tpKey struct {
	topic     string
	partition int32
}

// assignment is one ownership period of a (topic, partition): the tasks
// submitted with one Ctx. It owns the watermark of those tasks (watermark.go)
// and one watcher goroutine that revokes it.
//
// Two assignments of one (topic, partition) may coexist: the old one
// draining after its Ctx was cancelled, the new one accepting tasks. They
// share lanes (lanes are keyed by partition and key), so a new task of key K
// waits until the old assignment's task of K has left the lane.
type assignment struct {
	e   *Executor // for the done callbacks of its tasks
	tp  tpKey
	ctx context.Context // the Ctx of its tasks; identity of the assignment

	// runCtx is the parent of every attempt and dead-letter context. It
	// derives from ctx and is also cancelled by the watcher when the
	// executor closes, so attempts see both revocation and Close.
	runCtx context.Context
	cancel context.CancelFunc

	// gate orders Applies against revocation. A worker read-holds it around
	// one Apply call, after checking that runCtx is not cancelled (ended).
	// The watcher cancels runCtx, then takes and drops the write lock: once
	// it holds it, every Apply that started before the cancellation has
	// returned, and any read-holder after it sees the cancellation and
	// applies nothing. (Apply must therefore not block: revocation waits
	// for it without a deadline.)
	gate sync.RWMutex

	// failedSeq is the seq of the first task that failed under the Fail
	// policy (or whose writes failed), noFailure before. Tasks with a
	// larger seq are not started, not applied, and released Failed with
	// ErrPartitionFailed. Lowered under e.mu, read atomically by workers.
	failedSeq atomic.Uint64

	// Guarded by e.mu.
	nextSeq     uint64
	wmHead      *task // oldest unreleased task not being released
	wmTail      *task
	pending     int           // unreleased tasks, including a batch being released
	inFlight    int           // tasks a worker took and that are not finished
	releasing   bool          // a goroutine is in releaseLocked for this assignment
	sawAbandon  bool          // an Abandoned task was released
	drained     chan struct{} // set by the watcher; closed when inFlight drops to 0
	lastErr     error         // last attempt error, for Stats
	createdTime int64         // e.now() at creation, to order Stats
}

// lookupLocked returns the assignment of tp with Ctx ctx, or nil if there is
// none yet. The comparison cannot panic: the Ctx of every assignment is of a
// comparable type (Submit checks), so equal dynamic types are comparable.
func (e *Executor) lookupLocked(tp tpKey, ctx context.Context) *assignment {
	if a := e.mu.current[tp]; a != nil && a.ctx == ctx {
		return a // the common case
	}
	// An older assignment of tp that tasks come back to. goka does not do
	// this, but keeping one watermark per Ctx keeps the release order right
	// if a caller does.
	for a := range e.mu.all {
		if a.tp == tp && a.ctx == ctx && !a.ended() {
			e.mu.current[tp] = a
			return a
		}
	}
	return nil
}

// newAssignmentLocked starts the assignment of tp with Ctx ctx and its
// watcher. The caller checked that the executor is not closed.
func (e *Executor) newAssignmentLocked(tp tpKey, ctx context.Context) *assignment {
	a := &assignment{e: e, tp: tp, ctx: ctx, createdTime: e.now()}
	a.runCtx, a.cancel = context.WithCancel(ctx)
	a.failedSeq.Store(noFailure)
	// A previous assignment of tp, if any, keeps running until its own
	// watcher revokes it; it just stops receiving tasks.
	e.mu.current[tp] = a
	e.mu.all[a] = struct{}{}
	e.wg.Add(1)
	go e.watch(a)
	return a
}

// watch waits for the assignment's end (its Ctx cancelled, or Close) and
// then revokes it:
//
//  1. cancel runCtx: running attempts and backoff waits see cancellation,
//     and no Apply starts any more (workers check ended under the gate);
//  2. take the gate's write lock: wait for Applies in progress;
//  3. abandon every task not started yet (leaving their lanes hands them to
//     tasks of other assignments) and release what can be released;
//  4. wait until no task is in flight, or the drain deadline: in-flight
//     tasks that finish meanwhile (a write acknowledged) are released
//     normally if they form a prefix;
//  5. abandon whatever is still in flight: its lane is handed on, and a
//     worker still in an attempt call is detached (detach.go): it no
//     longer counts as a worker, a running task or in e.wg, so neither new
//     work nor Close waits for it, and its result is discarded when its
//     user code returns; then release everything, in order.
//
// Release order within the assignment holds because every release goes
// through releaseLocked, which one goroutine at a time runs per assignment.
func (e *Executor) watch(a *assignment) {
	defer e.wg.Done()
	select {
	case <-a.ctx.Done():
	case <-e.closing:
	}
	deadline := time.NewTimer(e.cfg.drainTimeout)
	defer deadline.Stop()

	a.cancel()
	a.gate.Lock()
	//lint:ignore SA2001 the empty critical section is a barrier (see gate)
	a.gate.Unlock()

	e.mu.Lock()
	if e.mu.current[a.tp] == a {
		delete(e.mu.current, a.tp)
	}
	for t := a.wmHead; t != nil; t = t.wmNext {
		if t.notStarted() {
			e.finishLocked(t, Abandoned, nil)
		}
	}
	e.releaseLocked(a)
	if a.inFlight > 0 {
		a.drained = make(chan struct{})
		drained := a.drained
		e.mu.Unlock()
		select {
		case <-drained:
		case <-deadline.C:
		}
		e.mu.Lock()
		e.detachCallsLocked(a)
		for t := a.wmHead; t != nil; t = t.wmNext {
			e.finishLocked(t, Abandoned, nil) // no-op for finished tasks
		}
		e.releaseLocked(a)
	}
	delete(e.mu.all, a)
	e.mu.Unlock()
}

// landLocked takes t out of its assignment's in-flight count, if takeLocked
// counted it there, and wakes the watcher waiting for the count to drain
// (watch) when it reaches zero. e.mu must be held.
func (t *task) landLocked() {
	if !t.inFlight {
		return
	}
	t.inFlight = false
	a := t.asg
	a.inFlight--
	if a.inFlight == 0 && a.drained != nil {
		close(a.drained)
		a.drained = nil
	}
}

// failLocked records that the task with seq failed: every later task of the
// assignment is released Failed. Tasks not started yet are finished now;
// running ones are stopped at their next check (before an attempt, before
// Apply) and finished Failed then.
func (e *Executor) failLocked(a *assignment, seq uint64) {
	if seq >= a.failedSeq.Load() {
		return
	}
	a.failedSeq.Store(seq)
	for t := a.wmHead; t != nil; t = t.wmNext {
		if t.seq > seq && t.notStarted() {
			e.finishLocked(t, Failed, nil)
		}
	}
}

// ended reports whether the assignment was revoked or the executor closes.
// It is true from the moment its Ctx is cancelled, before the watcher runs,
// and before runCtx is: a context reports its error before it cancels the
// contexts derived from it, and a writer that checks Ctx (the adapter's emit
// queues) may fail a write in that window as part of the revocation, which
// must then abandon the task, not fail it (writeResult). Both are atomic
// loads for the standard library's contexts.
func (a *assignment) ended() bool { return a.ctx.Err() != nil || a.runCtx.Err() != nil }

// failedBefore reports whether an earlier task of the assignment failed.
func (a *assignment) failedBefore(seq uint64) bool { return a.failedSeq.Load() < seq }
