package asyncdsl

import "time"

// Hook observes the executor. A hook implements any of the small interfaces
// below; the executor calls the ones it implements. Hook methods are called
// from executor and worker goroutines, concurrently, and must not block.
type Hook interface{}

// SubmitHook is told when a task was accepted, after any wait for capacity.
type SubmitHook interface {
	OnSubmit(r Record, waitedForCapacity time.Duration)
}

// StartHook is told when a task got a worker. waitedForKey is the time spent
// behind earlier tasks of the same lane; waitedForWorker the time spent at the
// head of its lane waiting for a free worker.
type StartHook interface {
	OnStart(r Record, waitedForKey, waitedForWorker time.Duration)
}

// AttemptHook is told after each attempt.
type AttemptHook interface {
	OnAttempt(r Record, attempt int, took time.Duration, err error)
}

// ReleaseHook is told when a task is released. heldBack is the time between
// the task finishing and its release: the wait for earlier offsets.
type ReleaseHook interface {
	OnRelease(r Record, o Outcome, heldBack time.Duration)
}
