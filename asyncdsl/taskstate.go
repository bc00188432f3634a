package asyncdsl

import (
	"math"
	"sync/atomic"
)

// state is where a task is in its life. Transitions, all under e.mu:
//
//	queued ──► ready ──► running ──► awaitingAck ──► finished ──► (released)
//	   │         │          │             │              ▲
//	   └─────────┴──────────┴─────────────┴──────────────┘
//
// queued and ready tasks are "not started": revocation and assignment failure
// finish them at once. running and awaitingAck tasks are "in flight": a
// revocation waits for them up to the drain timeout, then finishes them as
// Abandoned, and detaches a worker still in an attempt call (detach.go).
// Once finished, a task never changes state again; a late result of an
// abandoned task is discarded because of that. A running task whose attempt
// the sweeper detached stays running: its takeover carries it on.
type state uint8

const (
	stateQueued      state = iota // in its lane behind another task
	stateReady                    // head of its lane, in the ready queue
	stateRunning                  // a worker runs its attempts or Apply
	stateAwaitingAck              // Apply returned; done not called yet
	stateFinished                 // outcome known; waiting for the watermark
)

// ack states of one Apply call, moved by compare-and-swap between the worker
// and the done callback, which may race: whichever moves second finishes the
// task (see worker.finishApplied and task.done).
const (
	ackApplying uint32 = iota // Apply is running, done not called
	ackEarly                  // done was called before Apply returned
	ackWaiting                // Apply returned before done was called
)

// noFailure is assignment.failedSeq while nothing failed.
const noFailure = math.MaxUint64

// task is the executor's record of one submitted Task. It is allocated once
// per Submit and never reused: stale pointers to it (in the ready queue, in
// a done callback held by user code) stay harmless because its state only
// moves forward.
//
// The small fields are grouped so that they share words. firstCall, the
// context of attempt 1 under a call timeout, is part of it so that a record
// that needs one attempt costs one allocation here.
type task struct {
	Task
	asg  *assignment
	lane *lane
	seq  uint64 // position in the assignment, from 1

	// Guarded by e.mu.
	prev, next *task // lane list (only while inLane)
	wmNext     *task // watermark list of asg, submission order
	inLane     bool
	inFlight   bool // counted in asg.inFlight
	state      state
	refused    refusalPhase // which write was refused last (refused.go); 0 if none
	doneOnce   atomic.Bool  // not guarded: atomic, part of the Apply handshake below
	status     Status       // set when finished
	err        error        // set when finished

	// Timestamps (e.now()): submitted always, the others only if hooks need
	// them. submitted is written before the task is published.
	submitted, readied, finished int64

	// Written by the worker, read by Stats.
	attempts atomic.Int32

	// The Apply handshake (worker.go). okStatus/okErr are what done(nil)
	// finishes with; the worker writes them before calling Apply. writeErr
	// is written by the first done call before it moves ack.
	ack      atomic.Uint32
	okStatus Status
	okErr    error
	writeErr error

	firstCall callCtx // written by the worker that runs attempt 1
}

// notStarted reports whether no worker has taken the task yet.
func (t *task) notStarted() bool { return t.state == stateQueued || t.state == stateReady }
