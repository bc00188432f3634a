package asyncdsl

import (
	"fmt"

	"github.com/riffle-streams/riffle"
)

// The watermark of an assignment is the list of its unreleased tasks in
// submission order (assignment.wmHead, linked by task.wmNext). A task is
// appended by Submit and marked finished by whoever learns its outcome
// (worker, done callback, watcher). Releasing pops the longest finished
// prefix and calls Release on each task in list order.
//
// Order: releaseLocked is entered with e.mu held, and only one goroutine per
// assignment runs its loop at a time (assignment.releasing). That goroutine
// pops a batch under e.mu, calls Release outside e.mu, and loops until no
// finished prefix is left. A goroutine that finishes a task while another is
// releasing just leaves it for the releaser's next round, which it will see
// because it checks for more under e.mu before clearing releasing. So
// batches are popped, and released, in list order, and a task is released
// exactly once.
//
// Counting: a task stays in pending, its assignment's pending and its lane's
// count until its Release has returned, so Drain returning means every
// Release returned, and bounds only free up after the release.

// appendLocked adds t at the tail of its assignment's watermark.
func (a *assignment) appendLocked(t *task) {
	a.nextSeq++
	t.seq = a.nextSeq
	if a.wmTail == nil {
		a.wmHead = t
	} else {
		a.wmTail.wmNext = t
	}
	a.wmTail = t
	a.pending++
}

// finishLocked records t's outcome, unless it already has one, and takes it
// out of its lane. It reports whether this call finished t. The caller must
// call releaseLocked(t.asg) afterwards (possibly after finishing more).
func (e *Executor) finishLocked(t *task, s Status, err error) bool {
	if t.state == stateFinished {
		return false
	}
	if t.notStarted() {
		e.mu.queued--
	}
	t.state = stateFinished
	t.status, t.err = s, err
	if e.hooked {
		t.finished = e.now()
	}
	e.leaveLaneLocked(t)
	t.landLocked()
	return true
}

// releaseLocked releases the finished prefix of a's watermark, in order. It
// is called with e.mu held and returns with e.mu held, but unlocks it while
// Release and hooks run.
func (e *Executor) releaseLocked(a *assignment) {
	if a.releasing {
		return // the goroutine releasing a will see our finished tasks
	}
	a.releasing = true
	for {
		first := a.wmHead
		var last *task
		for t := first; t != nil && t.state == stateFinished; t = t.wmNext {
			last = t
		}
		if last == nil {
			break
		}
		a.wmHead = last.wmNext
		if a.wmHead == nil {
			a.wmTail = nil
		}
		last.wmNext = nil
		// Settle the outcomes while e.mu is held (they read failedSeq and
		// sawAbandon, which follow list order).
		for t := first; t != nil; t = t.wmNext {
			a.settleLocked(t)
			e.countLocked(t)
		}

		e.mu.Unlock()
		var now int64
		if len(e.releaseHooks) > 0 {
			now = e.now()
		}
		for t := first; t != nil; t = t.wmNext {
			o := Outcome{Status: t.status, Err: t.err, Attempts: int(t.attempts.Load())}
			t.Work.Release(o)
			for _, h := range e.releaseHooks {
				h.OnRelease(t.Record, o, nanos(now-t.finished))
			}
		}
		e.mu.Lock()

		n := 0
		for t := first; t != nil; {
			next := t.wmNext
			t.wmNext = nil
			e.dropLaneCountLocked(t.lane)
			t.lane = nil
			n++
			t = next
		}
		a.pending -= n
		e.mu.pending -= n
		e.broadcastLocked()
	}
	a.releasing = false
}

// settleLocked turns t's finished status into the status it is released
// with. The watermark must never let a committable outcome follow an
// uncommittable one in an assignment, since a commit of offset n+1 also
// commits n:
//   - after a failed task, everything is Failed with ErrPartitionFailed;
//   - after an Abandoned task, what would be committable is Abandoned.
func (a *assignment) settleLocked(t *task) {
	switch {
	case a.failedBefore(t.seq):
		t.status = Failed
		t.err = &partitionFailedError{rec: t.Coordinates}
	case t.status == Abandoned:
		a.sawAbandon = true
		t.err = nil
	case a.sawAbandon && t.status != Failed:
		t.status, t.err = Abandoned, nil
	}
}

// partitionFailedError is the Err of tasks released Failed because an
// earlier task of their assignment failed. It wraps ErrPartitionFailed.
type partitionFailedError struct {
	rec riffle.Coordinates
}

func (e *partitionFailedError) Error() string {
	return fmt.Sprintf("asyncdsl: record %s not processed: %v", e.rec, ErrPartitionFailed)
}

func (e *partitionFailedError) Unwrap() error { return ErrPartitionFailed }
