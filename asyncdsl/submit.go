package asyncdsl

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// errInvalidTask is the cause of Submit's validation errors.
var errInvalidTask = errors.New("asyncdsl: invalid task")

// Submit registers t at the tail of its lane (partition and key) and of its
// assignment's watermark ((topic, partition, Ctx)). It blocks while the lane
// has MaxQueuedPerKey unreleased tasks, the assignment has
// MaxPendingPerPartition, or the executor has MaxPending. It returns
// ctx.Err() if ctx ends first, or t.Ctx.Err() if t.Ctx ends first; in both
// cases t was not registered and its Release will not be called. It returns
// ErrClosed after Close began. Invalid tasks (nil Ctx or Work; a WorkFuncs
// without AttemptFunc or ReleaseFunc, or without DeadLetterFunc under
// DeadLetterOnError) are rejected at once with an error wrapping the reason.
//
// Submit never runs t itself: work runs on the executor's workers. Tasks of
// one assignment must be submitted from one goroutine, in delivery order
// (that order is the release order).
func (e *Executor) Submit(ctx context.Context, t Task) error {
	if err := e.validate(&t); err != nil {
		return err
	}
	if err := t.Ctx.Err(); err != nil {
		return err
	}
	tp := tpKey{topic: t.Topic, partition: t.Partition}
	lk := laneKey{partition: t.Partition, key: t.Key}
	var waitStart time.Time

	e.mu.Lock()
	var (
		a *assignment
		l *lane
	)
	for {
		if e.mu.closed {
			e.mu.Unlock()
			return ErrClosed
		}
		a = e.lookupLocked(tp, t.Ctx) // nil: t starts a new assignment
		l = e.mu.lanes[lk]            // nil: t starts a new lane
		if e.fitsLocked(a, l) {
			break
		}
		ch := e.waitChangeLocked()
		e.mu.Unlock()
		if waitStart.IsZero() {
			waitStart = time.Now()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.Ctx.Done():
			return t.Ctx.Err()
		}
		e.mu.Lock()
	}
	if a == nil {
		a = e.newAssignmentLocked(tp, t.Ctx)
	} else if a.ended() {
		// t.Ctx was cancelled after the check above and its watcher is
		// revoking the assignment: register nothing, as if the wait had
		// seen the cancellation.
		e.mu.Unlock()
		if err := t.Ctx.Err(); err != nil {
			return err
		}
		return context.Canceled
	}

	it := &task{Task: t, asg: a, submitted: e.now()}
	if l == nil {
		l = e.newLaneLocked(lk)
	}
	it.lane = l
	it.lane.count++
	e.mu.pending++
	a.appendLocked(it)
	if a.failedBefore(it.seq) {
		// The assignment failed already: the task is released Failed in
		// its turn, without running.
		it.state = stateQueued // counted as not started by finishLocked
		e.mu.queued++
		e.finishLocked(it, Failed, nil)
		e.releaseLocked(a)
	} else {
		e.enterLaneLocked(it)
	}
	e.mu.Unlock()

	if len(e.submitHooks) > 0 {
		var waited time.Duration
		if !waitStart.IsZero() {
			waited = time.Since(waitStart)
		}
		for _, h := range e.submitHooks {
			h.OnSubmit(t.Record, waited)
		}
	}
	return nil
}

// fitsLocked reports whether one more task fits in the bounds of the
// executor, of assignment a (nil if t starts a new one) and of lane l (nil
// if t starts a new one).
func (e *Executor) fitsLocked(a *assignment, l *lane) bool {
	if e.mu.pending >= e.cfg.maxPending {
		return false
	}
	if a != nil && a.pending >= e.cfg.maxPendingPerPartition {
		return false
	}
	if l != nil && l.count >= e.cfg.maxQueuedPerKey {
		return false
	}
	return true
}

// validate checks what Submit cannot work without.
func (e *Executor) validate(t *Task) error {
	var problem string
	funcs, isFuncs := t.Work.(*WorkFuncs)
	switch {
	case t.Ctx == nil:
		problem = "nil Ctx"
	case t.Work == nil || isFuncs && funcs == nil:
		problem = "nil Work"
	case isFuncs && funcs.AttemptFunc == nil:
		problem = "nil AttemptFunc"
	case isFuncs && funcs.ReleaseFunc == nil:
		problem = "nil ReleaseFunc"
	case isFuncs && funcs.DeadLetterFunc == nil && e.cfg.policy == DeadLetterOnError:
		problem = "nil DeadLetterFunc under the dead-letter policy"
	case !reflect.TypeOf(t.Ctx).Comparable():
		// Assignments are told apart by Ctx identity (==), which would
		// panic on a context of a non-comparable type.
		problem = fmt.Sprintf("Ctx of non-comparable type %T", t.Ctx)
	default:
		return nil
	}
	return fmt.Errorf("%w for record %s: %s", errInvalidTask, t.Coordinates, problem)
}
