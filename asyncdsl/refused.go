package asyncdsl

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// A write that its destination refused for a reason of the record itself
// (an Apply's done called with an error marked Refused: too large, invalid)
// is not a failure of the assignment: writing it again cannot succeed, and
// the records after it are not affected. So it goes to the error policy
// like a failed attempt, without retries (a retry would run the callback
// again and re-apply its state for a write that fails the same way):
//
//   - FailOnError: the task fails, and its assignment with it, as any
//     failed write does (writeResult).
//   - SkipOnError: the task is released Skipped with a *WriteRefusedError.
//   - DeadLetterOnError: the task goes back to a worker, which writes its
//     dead letter (DeadLetter, then Apply, as after failed attempts). If the
//     dead letter is refused, DeadLetter is called once more with a
//     *DeadLetterRefusedError, to write a reduced one (again, up to
//     reducedDeadLetterTries times, if it is refused); if that is refused
//     every time, the task is released Skipped: a record that cannot be
//     dead-lettered must not stop the processor, since it would stop it
//     again after every restart.
//
// The refusal arrives in done, on whatever goroutine the writer reports on
// (a producer's), usually after the task left its lane: the key's next
// record may be running. Dead letters need a worker (DeadLetter is user
// code and may be slow; Apply must run under the assignment's gate), so the
// task is pushed on the ready queue again, as a "dead-lettering" task
// (state ready, refusal set), and the worker that takes it runs runRefused
// instead of its attempts. Meanwhile it stays unfinished in its
// assignment's watermark, so no later offset is committed before the dead
// letter is acknowledged (or the task is skipped, or abandoned).
//
// Out of lane order: the dead letter is written while later records of the
// key run. That is harmless: a dead letter writes only to the dead-letter
// destination, never to the key's state, and its content is the record as
// it was consumed plus its error, which no later record changes. Only the
// order of one key's dead letters among themselves may differ from the
// input's; their headers carry the original offsets.
//
// Exactly one release: a requeued task is "not started" again (ready), so
// whatever ends it is one of the usual paths, each under e.mu and each
// through finishLocked, which finishes a task once: a revocation or an
// earlier failure finishes it at once (watch, failLocked, takeLocked), or
// a worker takes it and its dead letter's done finishes it (reportLocked,
// acked). It is not counted in its assignment's inFlight while it waits,
// so a revocation abandons it at once rather than waiting for a worker.

// refusalPhase says which write of a requeued task was refused, and so what
// its worker writes (task.refused; 0 while no write was refused).
type refusalPhase uint8

const (
	// refusedWrite: the record's own writes were refused; the worker
	// writes its dead letter.
	refusedWrite refusalPhase = iota + 1
	// refusedDeadLetter: its dead letter was refused; the worker writes a
	// reduced one. refusedDeadLetter+n: the reduced one was refused n times
	// and is written again (see reducedDeadLetterTries).
	refusedDeadLetter
)

// reducedDeadLetterTries is how many times a reduced dead letter is written
// before the record is skipped. A reduced dead letter is small (no value),
// so a refusal of it most likely did not come from its own size: a broker
// checks max.message.bytes against a whole batch, and the producer may
// have batched it with a larger record (another record's full dead letter,
// itself about to be refused). Written again, it most likely travels in
// another batch; the reliability suite (scenario 8) dropped reduced dead
// letters this way under load when they were written once.
const reducedDeadLetterTries = 3

// refusalAck is the done callback of one dead letter written after a
// refusal: task.done's contract with a first-call guard of its own. Each
// dead letter gets a new one, so that its done is a func value no earlier
// Apply was given: a repeated or late done call of an earlier write stops
// at that write's guard and cannot be taken for the dead letter's
// acknowledgement.
type refusalAck struct {
	t    *task
	once atomic.Bool
}

func (r *refusalAck) done(err error) {
	if !r.once.CompareAndSwap(false, true) {
		return
	}
	r.t.acked(err)
}

// refusedLocked hands t to the error policy if its write error is a
// refusal, and reports whether it did: then t was requeued for a dead
// letter, or finished (Skipped) and released. It leaves everything else to
// writeResult: no error, a write error that is not a refusal, the Fail
// policy, a revoked assignment (the refusal is part of the revocation, or
// does not matter any more: the next owner processes the record again),
// and an earlier failure of the assignment. e.mu must be held, and t's
// Apply must have returned (ack moved) and done been called.
func (e *Executor) refusedLocked(t *task) bool {
	a := t.asg
	if t.writeErr == nil || t.state == stateFinished || !IsRefused(t.writeErr) {
		return false
	}
	if a.ended() || a.failedBefore(t.seq) {
		return false
	}
	e.mu.counts.Refused++
	a.lastErr = t.writeErr // for Stats: why the partition's commit may wait
	attempts := int(t.attempts.Load())
	switch e.cfg.policy {
	case SkipOnError:
		err := &TaskError{Record: t.Record, Attempts: attempts, Err: &WriteRefusedError{Err: t.writeErr}}
		e.finishLocked(t, Skipped, err)
		e.releaseLocked(a)
		return true
	case DeadLetterOnError:
		switch {
		case t.okStatus != DeadLettered:
			// t.okStatus is Done: the record's own writes were refused.
			cause := &TaskError{Record: t.Record, Attempts: attempts, Err: &WriteRefusedError{Err: t.writeErr}}
			e.requeueLocked(t, refusedWrite, cause)
		case t.refused < refusedDeadLetter:
			// Its dead letter was refused: after failed attempts
			// (exhausted) or after a refused write. t.okErr is the
			// *TaskError it was dead-lettered with.
			err := &TaskError{Record: t.Record, Attempts: attempts,
				Err: &DeadLetterRefusedError{Cause: taskCause(t.okErr), Refusal: t.writeErr}}
			e.requeueLocked(t, refusedDeadLetter, err)
		default:
			cause := taskCause(t.okErr)
			var prev *DeadLetterRefusedError
			if errors.As(t.okErr, &prev) {
				cause = prev.Cause
			}
			if t.refused < refusedDeadLetter+reducedDeadLetterTries-1 {
				// The reduced dead letter was refused: write it again
				// (see reducedDeadLetterTries).
				err := &TaskError{Record: t.Record, Attempts: attempts,
					Err: &DeadLetterRefusedError{Cause: cause, Refusal: t.writeErr}}
				e.requeueLocked(t, t.refused+1, err)
				break
			}
			// Refused every time. Skipped, not Failed: the record would
			// stop the processor again after every restart.
			e.mu.counts.DeadLettersDropped++
			err := &TaskError{Record: t.Record, Attempts: attempts,
				Err: &DeadLetterRefusedError{Cause: cause, Refusal: t.writeErr, Reduced: true}}
			e.finishLocked(t, Skipped, err)
			e.releaseLocked(a)
		}
		return true
	default:
		return false
	}
}

// requeueLocked puts t, whose write was refused, on the ready queue for a
// worker to dead-letter it with cause (runRefused). cause becomes what the
// dead letter's done(nil) finishes t with. e.mu must be held.
func (e *Executor) requeueLocked(t *task, phase refusalPhase, cause error) {
	// done may come while the worker is still in Apply (the ack handshake's
	// early case): then the task has not handed its lane on yet.
	e.leaveLaneLocked(t)
	// Not started again, as far as a revocation is concerned: it is
	// abandoned at once, not waited for (see above).
	t.landLocked()
	t.refused = phase
	t.okStatus, t.okErr = DeadLettered, cause
	e.mu.queued++ // takeLocked counts it out, as any ready task
	e.readyLocked(t)
}

// runRefused writes the dead letter of a requeued task, on the worker that
// took it. It holds no lock; it reads what requeueLocked wrote, since the
// worker took the task under e.mu after that. Its result goes to
// reportLocked as the result of run does.
func (e *Executor) runRefused(t *task) result {
	a := t.asg
	cause := t.okErr
	ctx := e.callContext(a)
	apply, err := callDeadLetter(ctx, t.Work, cause)
	endCall(ctx)
	if err != nil {
		if a.runCtx.Err() != nil {
			return result{status: Abandoned}
		}
		return result{
			status: Failed,
			err: &TaskError{Record: t.Record, Attempts: int(t.attempts.Load()),
				Err: fmt.Errorf("dead letter failed: %w (after: %w)", err, cause)},
			fail: true,
		}
	}
	// A new Apply handshake. Nothing else touches ack and writeErr now: the
	// earlier done call ran under e.mu (or moved ack before reportLocked
	// did) before the task was requeued, later calls of it stop at its
	// first-call guard, and this worker took the task under e.mu after
	// that.
	t.ack.Store(ackApplying)
	t.writeErr = nil
	ack := &refusalAck{t: t}
	return e.applyWith(t, apply, DeadLettered, cause, ack.done)
}

// taskCause is the error a *TaskError wraps, or err itself.
func taskCause(err error) error {
	var te *TaskError
	if errors.As(err, &te) {
		return te.Err
	}
	return err
}
