package asyncdsl

import (
	"time"

	"github.com/riffle-streams/riffle"
)

// Record is the consumed record a Task works on, as the executor and its
// hooks see it.
type Record struct {
	riffle.Coordinates

	// Trace is the record's trace, set by the submitter and handed back
	// unchanged to every hook that receives the record; nil unless the
	// submitter sets it. The executor never calls it. It is not part of the
	// record's identity.
	Trace RecordTrace
}

// RecordTrace is the trace of one record, kept on its Record so that a hook
// that draws traces finds it without a lookup: package tracing's *Record is
// one, and its Hook calls these methods from its own of the same events,
// with the same arguments. The executor itself never calls them. Like hook
// methods, they are called from executor and worker goroutines,
// concurrently, and must not block.
type RecordTrace interface {
	// Submitted is called when the record's task was accepted, after
	// waitedForCapacity (see SubmitHook).
	Submitted(waitedForCapacity time.Duration)
	// Started is called when the task got a worker (see StartHook).
	Started(waitedForKey, waitedForWorker time.Duration)
	// Attempted is called after each attempt (see AttemptHook).
	Attempted(attempt int, took time.Duration, err error)
	// End is called when the task was released, and ends the trace (see
	// ReleaseHook).
	End(o Outcome, heldBack time.Duration)
}
