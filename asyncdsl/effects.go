package asyncdsl

import (
	"errors"
	"fmt"
)

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
