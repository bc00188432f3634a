package asyncdsl

import (
	"context"
	"time"
)

// The sweeper is one goroutine per executor that gives up on attempts
// running past their call deadline plus a grace (detach.go). It exists only
// with a call timeout, and starts with the first worker (startSweeperLocked)
// rather than in New: an executor that never runs a task costs no goroutine,
// and there is nothing to sweep before a worker exists. It is counted in e.wg
// and stops when Close begins; from then on the watchers bound every stuck
// attempt by the drain deadline instead.
//
// It sleeps on one reused timer until the head of e.mu.calls is due (its
// deadline plus the grace), never on a fixed tick. Entries behind the head
// entered later, with the same timeout, so they are due later: looking at
// the head is enough. When the list is empty it sleeps one timeout plus the
// grace: whatever enters meanwhile is due no earlier than that, so it is
// never late, and an idle executor wakes it once per call timeout.

// detachGrace is how long past its deadline an attempt may take to return
// before the sweeper gives up on it: a tenth of the call timeout, within
// [10ms, 1s]. A callback that watches its context returns within
// microseconds of the deadline; the grace keeps a loaded machine (a GC
// pause, a busy scheduler) from detaching it anyway, which would cost a
// goroutine and count as stuck.
func detachGrace(callTimeout time.Duration) time.Duration {
	return min(max(callTimeout/10, 10*time.Millisecond), time.Second)
}

// startSweeperLocked starts the sweeper if the executor has a call timeout
// and none runs yet. The caller checked that Close has not begun. e.mu must
// be held.
func (e *Executor) startSweeperLocked() {
	if e.cfg.callTimeout <= 0 || e.mu.sweeping {
		return
	}
	e.mu.sweeping = true
	e.wg.Add(1)
	go e.sweep()
}

func (e *Executor) sweep() {
	defer e.wg.Done()
	timer := time.NewTimer(e.cfg.callTimeout + e.cfg.detachGrace)
	defer timer.Stop()
	var ends []*callCtx // reused: the contexts of the calls detached in one round
	for {
		select {
		case <-e.closing:
			return
		case <-timer.C:
		}
		var wait time.Duration
		e.mu.Lock()
		wait, ends = e.sweepLocked(time.Now(), ends[:0])
		e.mu.Unlock()
		// End the detached calls' contexts (with DeadlineExceeded, as
		// their timers would have) outside e.mu: ending one takes its
		// lock and starts its AfterFuncs.
		for i, c := range ends {
			c.end(context.DeadlineExceeded)
			ends[i] = nil
		}
		timer.Reset(wait)
	}
}

// sweepLocked detaches every call that is due at now, starting a takeover
// for each, appends their contexts to ends, and returns how long to sleep
// until the next is due. e.mu must be held.
func (e *Executor) sweepLocked(now time.Time, ends []*callCtx) (time.Duration, []*callCtx) {
	for {
		w := e.mu.calls.head
		if w == nil {
			return e.cfg.callTimeout + e.cfg.detachGrace, ends
		}
		if w.phase.Load() != callRunning {
			// Its call returned; its worker would take it out of the
			// list when it reports the task.
			e.mu.calls.remove(w)
			continue
		}
		if wait := w.deadline.Add(e.cfg.detachGrace).Sub(now); wait > 0 {
			return wait, ends
		}
		if !w.phase.CompareAndSwap(callRunning, callDetached) {
			e.mu.calls.remove(w) // returned just now
			continue
		}
		e.detachLocked(w)
		if w.ctx != nil {
			ends = append(ends, w.ctx)
		}
		err := &StuckCallError{
			Record:  w.task.Record,
			Attempt: w.attempt,
			Timeout: e.cfg.callTimeout,
			Grace:   e.cfg.detachGrace,
			Stuck:   e.mu.stuck,
			Limit:   e.cfg.maxStuck,
		}
		// The takeover inherits the stuck goroutine's place: its share of
		// e.wg (so no wg.Add, which might race with Close's Wait), its
		// count in e.mu.workers, and the task, which stays running and in
		// flight. So workers stay bounded by WithWorkers plus the stuck.
		go e.takeOver(new(worker), w.task, w.attempt, w.deadline.Add(-e.cfg.callTimeout), err)
	}
}

// takeOver continues the task whose attempt n was detached by the sweeper,
// as its stuck worker would have after a timed-out attempt: retry with
// backoff, then the error policy; then it becomes an ordinary worker.
// started is when the detached attempt began, for the attempt hooks.
func (e *Executor) takeOver(w *worker, t *task, n int, started time.Time, err *StuckCallError) {
	e.attempted(t, n, time.Since(started), err)
	var (
		res  result
		stop bool
	)
	if err.overLimit() && !t.asg.ended() {
		// Too many goroutines are stuck in user code: fail the
		// assignment, whatever the policy, so that the processor stops
		// instead of leaking a goroutine per record.
		e.noteError(t.asg, err)
		res, stop = result{status: Failed, fail: true,
			err: &TaskError{Record: t.Record, Attempts: n, Err: err}}, true
	} else {
		res, stop = e.failed(t, n, err)
	}
	if !stop {
		var owned bool
		if res, owned = e.runFrom(w, t, n+1); !owned {
			e.detached()
			return
		}
	}
	e.work(w, t, res)
}
