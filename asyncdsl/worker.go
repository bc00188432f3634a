package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Workers are the only goroutines that run Attempt, Apply and DeadLetter. A
// worker takes a ready lane head from e.mu.ready under e.mu, runs it without
// any lock, and reports the result under e.mu in the same critical section
// in which it takes its next task. Workers start lazily (wakeWorkerLocked)
// up to cfg.workers and live until Close, unless they are detached while in
// user code (detach.go): then a takeover goroutine (sweeper.go) or nobody
// (revocation) takes their place.

// result is what running a task produced, reported under e.mu.
type result struct {
	status  Status
	err     error
	fail    bool // the task failed: later tasks of its assignment fail too
	applied bool // Apply was called; the ack handshake decides the outcome
}

// wakeWorkerLocked makes sure a worker will look at the ready queue: it
// signals an idle one, or starts one if fewer than cfg.workers exist, unless
// a worker is already on its way (waking).
//
// At most one worker is on its way at a time. It takes a task and, if more
// are ready, wakes the next one (takeLocked), so a burst of ready tasks
// still gets one worker per task while tasks are slow, but a worker that
// finishes its task quickly takes the next ready one itself: with fast
// tasks a burst no longer wakes (and parks again) a worker per task. No
// ready task waits while a worker idles: whenever ready tasks and an idle
// worker exist, a worker is on its way, or every ready task has been taken
// by the time it arrives.
func (e *Executor) wakeWorkerLocked() {
	if e.mu.waking > 0 {
		return
	}
	if e.mu.idle > 0 {
		e.mu.idle--
		e.mu.waking++
		e.mu.workAvailable.Signal()
		return
	}
	if e.mu.workers < e.cfg.workers && !e.mu.closed {
		e.mu.workers++
		e.mu.waking++
		e.wg.Add(1)
		e.startSweeperLocked()
		go e.work(new(worker), nil, result{})
	}
}

// work is the loop of worker w. If prev is not nil, w takes over a task
// whose attempt was detached and reports res for it first (takeOver);
// otherwise w was started by wakeWorkerLocked, counted in waking.
//
// The goroutine holds one share of e.wg and one count in e.mu.workers,
// given back when it exits, unless it is detached in user code: then the
// detacher took both over, and the goroutine, once its call returns, leaves
// through detached without touching them.
func (e *Executor) work(w *worker, prev *task, res result) {
	e.mu.Lock()
	woken := prev == nil
	for {
		if prev != nil {
			e.leaveCallLocked(w)
			e.reportLocked(prev, res)
			prev = nil
		}
		t := e.takeLocked(w, woken)
		woken = false
		if t == nil {
			e.mu.Unlock()
			e.wg.Done()
			return
		}
		e.mu.Unlock()
		if t.refused != 0 {
			// A dead letter after a refused write (refused.go): adapter
			// code that does not block, so w entered no call
			// (takeLocked) and no detacher looks at it.
			res = e.runRefused(t)
		} else {
			e.started(t)
			var owned bool
			if res, owned = e.runFrom(w, t, 1); !owned {
				e.detached()
				return
			}
		}
		e.mu.Lock()
		prev = t
	}
}

// takeLocked returns the next ready task, marked running, waiting for one if
// needed, with worker w entered in the task's first call (enterCallLocked)
// unless it is a refused task waiting for its dead letter (refused.go).
// woken says that the worker is the one on its way (counted in waking). It
// returns nil once the executor is closing: tasks left in the queue belong
// to assignments whose watchers abandon them.
func (e *Executor) takeLocked(w *worker, woken bool) *task {
	for {
		if e.mu.closed {
			return nil
		}
		t := e.mu.ready.pop()
		if t == nil {
			if woken { // somebody else took what it was woken for
				woken = false
				e.mu.waking--
			}
			e.mu.idle++
			e.mu.workAvailable.Wait()
			woken = true // Signal (counted in waking) or Close's Broadcast
			continue
		}
		if t.state != stateReady {
			continue // finished while it waited (revoked or failed)
		}
		a := t.asg
		if a.ended() || a.failedBefore(t.seq) {
			s := Abandoned
			if a.failedBefore(t.seq) {
				s = Failed
			}
			e.finishLocked(t, s, nil)
			e.releaseLocked(a)
			continue
		}
		if woken {
			woken = false
			e.mu.waking--
		}
		if e.mu.ready.n > 0 {
			e.wakeWorkerLocked() // the rest of a burst: the next worker
		}
		t.state = stateRunning
		t.inFlight = true
		a.inFlight++
		e.mu.queued--
		e.mu.running++
		if t.refused == 0 {
			e.enterCallLocked(w, t, 1, nil)
		}
		return t
	}
}

// started tells the StartHooks.
func (e *Executor) started(t *task) {
	if len(e.startHooks) == 0 {
		return
	}
	now := e.now()
	for _, h := range e.startHooks {
		h.OnStart(t.Record, nanos(t.readied-t.submitted), nanos(now-t.readied))
	}
}

// runFrom executes t's attempts from attempt n on, the error policy and
// Apply, on worker w, which has entered the call of attempt n if n is 1 (see
// takeLocked). It holds no lock. owned is false if w was detached in user
// code (detach.go): the result belongs to the detacher, and the caller must
// leave at once.
func (e *Executor) runFrom(w *worker, t *task, n int) (res result, owned bool) {
	a := t.asg
	for ; ; n++ {
		if n > 1 && !e.enterCall(w, t, n) {
			return e.notRun(t), true
		}
		if a.ended() || a.failedBefore(t.seq) {
			// w entered the call (takeLocked), so a detacher may have
			// won it, even if no user code runs.
			return e.notRun(t), w.returned()
		}
		t.attempts.Store(int32(n))
		ctx := e.callContextOf(w, a)
		var start int64
		if len(e.attemptHooks) > 0 {
			start = e.now()
		}
		apply, err := callAttempt(ctx, t.Work, n)
		if !w.returned() {
			return result{}, false // fenced: apply is never called
		}
		endCall(ctx)
		if len(e.attemptHooks) > 0 {
			e.attempted(t, n, nanos(e.now()-start), err)
		}
		if err == nil {
			return e.applyEffects(t, apply, Done, nil), true
		}
		if res, stop := e.failed(t, n, err); stop {
			return res, true
		}
	}
}

// notRun is the result of a task whose next attempt does not start because
// its assignment ended (Abandoned) or an earlier task failed (Failed).
func (e *Executor) notRun(t *task) result {
	if t.asg.ended() {
		return result{status: Abandoned}
	}
	return result{status: Failed}
}

// failed handles the error of attempt n: stop reports whether the task is
// over, with result res (abandoned, or the error policy's); otherwise the
// backoff has elapsed and the next attempt may start.
func (e *Executor) failed(t *task, n int, err error) (res result, stop bool) {
	a := t.asg
	// Cancellation of the assignment (revocation or Close) is not an
	// error: no policy, no LastError. A call timeout while the assignment
	// is alive is an error, and retryable.
	if a.runCtx.Err() != nil {
		return result{status: Abandoned}, true
	}
	e.noteError(a, err)
	if n >= e.cfg.retry.MaxAttempts || !retryable(err) {
		return e.exhausted(t, n, err), true
	}
	if !e.sleep(a, e.backoff(n)) {
		return result{status: Abandoned}, true
	}
	return result{}, false
}

// attempted tells the AttemptHooks about attempt n of t, which took took.
func (e *Executor) attempted(t *task, n int, took time.Duration, err error) {
	for _, h := range e.attemptHooks {
		h.OnAttempt(t.Record, n, took, err)
	}
}

// callContext is the context of one attempt or dead-letter call: the
// assignment's runCtx (cancelled by revocation and Close) with the call
// timeout, as context.WithTimeout would make it but cheaper (callctx.go).
// Pass it to endCall when the call returns.
func (e *Executor) callContext(a *assignment) context.Context {
	if e.cfg.callTimeout > 0 {
		return newCallCtx(a.runCtx, e.cfg.callTimeout)
	}
	return a.runCtx
}

// endCall cancels the context of a call that returned, as the CancelFunc
// of context.WithTimeout would.
func endCall(ctx context.Context) {
	if c, ok := ctx.(*callCtx); ok {
		c.cancel()
	}
}

// noteError records the last attempt error of the assignment for Stats.
func (e *Executor) noteError(a *assignment, err error) {
	e.mu.Lock()
	a.lastErr = err
	e.mu.Unlock()
}

// exhausted applies the error policy to a task whose attempts are over.
func (e *Executor) exhausted(t *task, attempts int, err error) result {
	taskErr := &TaskError{Record: t.Record, Attempts: attempts, Err: err}
	switch e.cfg.policy {
	case SkipOnError:
		return result{status: Skipped, err: taskErr}
	case DeadLetterOnError:
		ctx := e.callContext(t.asg)
		apply, dlErr := callDeadLetter(ctx, t.Work, taskErr)
		endCall(ctx)
		if dlErr != nil {
			if t.asg.runCtx.Err() != nil {
				return result{status: Abandoned}
			}
			return result{
				status: Failed,
				err: &TaskError{Record: t.Record, Attempts: attempts,
					Err: fmt.Errorf("dead letter failed: %w (after: %w)", dlErr, err)},
				fail: true,
			}
		}
		return e.applyEffects(t, apply, DeadLettered, taskErr)
	default:
		return result{status: Failed, err: taskErr, fail: true}
	}
}

// applyEffects calls apply unless the assignment was revoked or an earlier
// task failed. The gate's read lock makes the check and the call atomic with
// respect to revocation (see assignment.gate). If done(nil) arrives, the
// task finishes with status s and error err.
func (e *Executor) applyEffects(t *task, apply Apply, s Status, err error) result {
	return e.applyWith(t, apply, s, err, t.done)
}

// applyWith is applyEffects with done as the Apply's done callback.
func (e *Executor) applyWith(t *task, apply Apply, s Status, err error, done func(error)) result {
	a := t.asg
	if apply == nil {
		if a.ended() {
			return result{status: Abandoned}
		}
		return result{status: s, err: err}
	}
	a.gate.RLock()
	if a.ended() {
		a.gate.RUnlock()
		return result{status: Abandoned}
	}
	if a.failedBefore(t.seq) {
		a.gate.RUnlock()
		return result{status: Failed}
	}
	t.okStatus, t.okErr = s, err
	p := callApply(apply, done)
	a.gate.RUnlock()
	if p != nil {
		// A panicking Apply may have applied part of its effects: treat it
		// like a failed write. Ignored if done was called already.
		done(p)
	}
	return result{applied: true}
}

// reportLocked records the result of running t, hands its lane on, and
// releases what became releasable. A task finished meanwhile (detached by a
// revocation) keeps its outcome: the late result is discarded.
func (e *Executor) reportLocked(t *task, res result) {
	e.mu.running--
	a := t.asg
	if res.applied {
		if t.ack.CompareAndSwap(ackApplying, ackWaiting) {
			// Apply returned before done: the lane moves on now, the
			// task finishes when done is called (task.done).
			if t.state == stateRunning {
				t.state = stateAwaitingAck
			}
			e.leaveLaneLocked(t)
			return
		}
		if e.refusedLocked(t) { // refused.go: handed to the error policy
			return
		}
		res = t.writeResult()
	}
	if t.state == stateFinished {
		e.leaveLaneLocked(t) // normally done already by whoever finished it
		return
	}
	if res.fail {
		e.failLocked(a, t.seq)
	}
	e.finishLocked(t, res.status, res.err)
	e.releaseLocked(a)
}

// done is the callback handed to Apply. The first call wins. If Apply is
// still running, it only records the error (the worker finishes the task
// after Apply returns, in reportLocked); otherwise it finishes the task.
func (t *task) done(err error) {
	if !t.doneOnce.CompareAndSwap(false, true) {
		return
	}
	t.acked(err)
}

// acked is the body of a first done call: of the task's own Apply, or of a
// dead letter written after a refusal (refusalAck.done).
func (t *task) acked(err error) {
	t.writeErr = err
	if t.ack.CompareAndSwap(ackApplying, ackEarly) {
		return
	}
	// ack is ackWaiting: reportLocked has run (it moved ack under e.mu).
	e := t.asg.e
	e.mu.Lock()
	if t.state != stateFinished && !e.refusedLocked(t) {
		res := t.writeResult()
		if res.fail {
			e.failLocked(t.asg, t.seq)
		}
		e.finishLocked(t, res.status, res.err)
		e.releaseLocked(t.asg)
	}
	e.mu.Unlock()
}

// writeResult is the result of an applied task once done was called. A
// failed write fails the assignment whatever the policy: a write that did
// not happen is not a user error that skipping could hide; only a write
// refused for a reason of the record itself (Refused) goes to the policy,
// and refusedLocked takes those before writeResult is asked. Once the
// assignment was revoked, though, a failed write is part of the revocation
// (the writer may drop the writes of a revoked assignment): the task is
// Abandoned, and its next owner processes it again.
func (t *task) writeResult() result {
	if t.writeErr == nil {
		return result{status: t.okStatus, err: t.okErr}
	}
	if t.asg.ended() {
		return result{status: Abandoned}
	}
	err := fmt.Errorf("write failed: %w", t.writeErr)
	var cause *TaskError
	if errors.As(t.okErr, &cause) { // the dead letter's write failed
		err = fmt.Errorf("dead letter write failed: %w (after: %w)", t.writeErr, cause.Err)
	}
	return result{
		status: Failed,
		err:    &TaskError{Record: t.Record, Attempts: int(t.attempts.Load()), Err: err},
		fail:   true,
	}
}

func nanos(d int64) time.Duration { return time.Duration(d) }
