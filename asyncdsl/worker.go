package asyncdsl

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
