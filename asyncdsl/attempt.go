package asyncdsl

import (
	"fmt"
	"time"
)

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
