package asyncdsl

import (
	"context"
	"sync/atomic"
	"time"
)

// Detaching: Go cannot stop a goroutine, so an attempt whose user code
// ignores its context can only be given up on. The executor does that in two
// cases:
//
//   - the attempt ran past its call deadline plus a grace (the sweeper,
//     sweeper.go): the attempt counts as timed out with a *StuckCallError,
//     and the task carries on (retry with backoff, then the error policy) on
//     a new goroutine that takes over the stuck worker's place;
//   - the attempt's assignment was revoked, or the executor closes, and the
//     drain deadline passed (the watcher, assignment.go): the task is
//     abandoned as before, and the stuck worker's place is freed.
//
// Either way the stuck goroutine is "detached": it no longer belongs to the
// executor. When its user code finally returns, it finds out, discards the
// result (its Apply is never called, so a detached run never writes: it is
// fenced), counts that, and exits without touching the task, its lane, or
// the counts of workers, running tasks and e.wg, all of which the detacher
// settled when it took over.
//
// Who owns the outcome of an attempt is decided once, by a compare-and-swap
// on the worker's phase: the worker moves it from callRunning to
// callReturned when the call returns, a detacher from callRunning to
// callDetached. Exactly one of them succeeds. A worker struct is never
// reused by another goroutine: the takeover gets a new one, so a detached
// worker's phase stays callDetached for good and its late CAS always fails
// (no ABA).
//
// Finding the attempts past their deadline costs nothing per record beyond
// two pointer updates under e.mu, which the worker holds anyway when it
// takes a task and when it reports one: e.mu.calls lists the workers that
// are in (or about to start) an attempt, in the order they entered it.
// Every attempt gets the same call timeout and its deadline is taken under
// e.mu when it enters the list, so the list is ordered by deadline too, and
// the sweeper only ever looks at its head. There is no goroutine, timer or
// channel operation per attempt: a worker leaves the list when it reports
// its task (or when the sweeper meets it at the head after its call
// returned), and its phase is one atomic store and one CAS per attempt.

// Phases of a worker's current call (worker.phase).
const (
	callReturned uint32 = iota // no call in progress (or its call returned)
	callRunning                // in an attempt; its outcome is not decided yet
	callDetached               // given up on; the goroutine is stuck in user code
)

// worker is the state of one worker goroutine that a detacher needs. It is
// allocated when the goroutine starts, never per task.
type worker struct {
	// phase is the call handshake above. The worker stores callRunning under
	// e.mu when it enters a call; the moves out of callRunning are CASes.
	phase atomic.Uint32

	// Guarded by e.mu; set when the worker enters a call.
	prev, next *worker     // e.mu.calls, while inCalls
	inCalls    bool        //
	task       *task       // the task whose attempt the worker runs
	asg        *assignment // task.asg, for the watcher's scan
	attempt    int         // its attempt number
	deadline   time.Time   // the call's deadline (zero without a call timeout)
	ctx        *callCtx    // the call's context, nil without a call timeout
}

// returned ends the worker's call from its own goroutine. It reports false
// if a detacher won: the goroutine must then leave without touching
// anything the executor owns (see detached).
func (w *worker) returned() bool { return w.phase.CompareAndSwap(callRunning, callReturned) }

// callList is the intrusive list of workers in a call, oldest first.
// Guarded by e.mu.
type callList struct{ head, tail *worker }

func (l *callList) push(w *worker) {
	w.inCalls = true
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
}

// remove takes w out of the list if it is in it.
func (l *callList) remove(w *worker) {
	if !w.inCalls {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.inCalls = nil, nil, false
}

// enterCallLocked puts worker w, about to run attempt n of t, at the tail
// of e.mu.calls with the attempt's deadline. For attempt 1 it sets up the
// task's own context (firstCall) here, under the lock, so that the deadline
// the sweeper checks is the one user code sees. e.mu must be held.
func (e *Executor) enterCallLocked(w *worker, t *task, n int, ctx *callCtx) {
	e.mu.calls.remove(w)
	w.task, w.asg, w.attempt, w.ctx = t, t.asg, n, nil
	if e.cfg.callTimeout > 0 {
		w.deadline = time.Now().Add(e.cfg.callTimeout)
		if ctx == nil { // attempt 1
			ctx = &t.firstCall
		}
		ctx.parent, ctx.deadline = t.asg.runCtx, w.deadline
		w.ctx = ctx
	}
	w.phase.Store(callRunning)
	e.mu.calls.push(w)
}

// leaveCallLocked takes w out of e.mu.calls when it reports its task; its
// call returned (or it never entered one, as a takeover).
func (e *Executor) leaveCallLocked(w *worker) {
	e.mu.calls.remove(w)
	w.task, w.asg, w.ctx = nil, nil, nil
}

// enterCall is enterCallLocked for attempts after the first, which the
// worker starts without holding e.mu. It reports false, entering nothing,
// if the assignment ended or an earlier task failed meanwhile: checked
// under e.mu, so that a watcher that scans e.mu.calls for its assignment's
// stuck attempts never misses one that starts after its scan.
func (e *Executor) enterCall(w *worker, t *task, n int) bool {
	var ctx *callCtx
	if e.cfg.callTimeout > 0 {
		ctx = new(callCtx)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.asg.ended() || t.asg.failedBefore(t.seq) {
		return false
	}
	e.enterCallLocked(w, t, n, ctx)
	return true
}

// callContext returns the context of the call w entered.
func (e *Executor) callContextOf(w *worker, a *assignment) context.Context {
	if w.ctx != nil {
		return w.ctx
	}
	return a.runCtx
}

// detachLocked gives up on w's call, whose CAS to callDetached the caller
// won, and removes it from e.mu.calls. The goroutine becomes stuck: it is
// counted until it returns (detached).
func (e *Executor) detachLocked(w *worker) {
	e.mu.calls.remove(w)
	e.mu.detachedCalls++
	e.mu.stuck++
}

// detachCallsLocked detaches the calls of assignment a that are still in
// user code at the drain deadline. Their tasks are then abandoned by the
// watcher; the stuck goroutines give their places back here: one less
// running task, one less worker (a new one may start lazily if work is
// ready), and one less goroutine in e.wg, so that Close does not wait for
// them. e.mu must be held.
func (e *Executor) detachCallsLocked(a *assignment) {
	for w := e.mu.calls.head; w != nil; {
		next := w.next
		if w.asg == a && w.phase.CompareAndSwap(callRunning, callDetached) {
			e.detachLocked(w)
			e.mu.running--
			e.mu.workers--
			e.wg.Done() // the stuck goroutine's share; it will not call Done
		}
		w = next
	}
	if e.mu.ready.n > 0 {
		e.wakeWorkerLocked()
	}
}

// detached is what a goroutine does when its user code returned after it
// was detached: it discards the result and leaves. It holds no count of the
// executor any more (the detacher took them over), so it only updates the
// statistics.
func (e *Executor) detached() {
	e.mu.Lock()
	e.mu.stuck--
	e.mu.discarded++
	e.mu.Unlock()
}
