package asyncdsl

import "context"

// Apply makes the effects of a successful attempt visible and starts their
// durable writes. The executor calls it on the worker, exactly once per task,
// after the attempt succeeded and before the next task of the same lane
// starts, and never after the task's assignment was revoked. It must call done
// exactly once, from any goroutine, when the writes are acknowledged, or with
// the error that made them fail (later calls are ignored); a failed write
// fails the assignment, unless the assignment was revoked by then, in which
// case the task is Abandoned, or the error is marked Refused (the
// destination refused the record itself), in which case the task goes to
// the error policy without retries (skip, or dead-letter: see Refused). It
// must not block: a revocation waits for
// Applies in progress, and a worker in Apply runs nothing else; hand slow
// sends to another goroutine. A nil Apply means "no effects".
type Apply func(done func(error))

// Task is one record's unit of work: the record, its assignment, and the
// Work that runs it.
type Task struct {
	Record

	// Ctx is the record's partition assignment. Every task of one assignment
	// of a (topic, partition) must carry the same Ctx: its cancellation is the
	// revocation signal. Attempt contexts derive from it.
	Ctx context.Context

	// Work runs the record. A submitter that keeps a record's state in a
	// struct of its own passes a pointer to it; WorkFuncs makes a Work of
	// funcs.
	Work Work
}

// Work is what a Task runs.
//
// A pointer to a struct that holds the record's state costs no allocation
// per record beyond that struct (gokaadapter does this); WorkFuncs, for
// submitters without such a struct, costs one.
type Work interface {
	// Attempt runs the work once. attempt counts from 1. It must not apply
	// effects itself: it returns them as an Apply, so that the executor can
	// drop them if the assignment was revoked meanwhile, or if the attempt
	// was given up on because it did not return by its call deadline (plus a
	// grace) or by the drain deadline: then its goroutine is left to finish
	// on its own, and the Apply it finally returns is discarded.
	Attempt(ctx context.Context, attempt int) (Apply, error)

	// DeadLetter, called only under the DeadLetter policy, writes the record
	// to a dead-letter destination with err. Its Apply gates the release
	// like the task's own effects. err is a *TaskError after failed
	// attempts, one wrapping a *WriteRefusedError after the task's writes
	// were refused, and a *DeadLetterRefusedError when the dead letter
	// written before was refused: then DeadLetter should write a reduced one
	// (the record's value left out, say). It runs on a worker, possibly
	// while later records of the same key run.
	//
	// Unlike Attempt, it is not given up on past its deadline: it must
	// prepare the write and return, leaving the slow part to its Apply's
	// done, as Apply does.
	DeadLetter(ctx context.Context, err error) (Apply, error)

	// Release is called exactly once, in delivery order for the task's
	// assignment, with the task's outcome. It must not block for long, and
	// must not call Submit, Drain or Close: it runs with the assignment's
	// release turn held, on whichever goroutine completed the releasable
	// prefix (a worker, the goroutine that called done, the revocation
	// watcher, or Submit's own when the assignment had already failed).
	Release(Outcome)
}

// WorkFuncs is a Work made of funcs: each method calls the func of its name.
// AttemptFunc and ReleaseFunc are required; DeadLetterFunc is required under
// the DeadLetter policy and never called under the others. Submit rejects a
// task whose WorkFuncs lacks a required func.
type WorkFuncs struct {
	AttemptFunc    func(ctx context.Context, attempt int) (Apply, error)
	DeadLetterFunc func(ctx context.Context, err error) (Apply, error)
	ReleaseFunc    func(Outcome)
}

// Attempt calls AttemptFunc.
func (w *WorkFuncs) Attempt(ctx context.Context, attempt int) (Apply, error) {
	return w.AttemptFunc(ctx, attempt)
}

// DeadLetter calls DeadLetterFunc.
func (w *WorkFuncs) DeadLetter(ctx context.Context, err error) (Apply, error) {
	return w.DeadLetterFunc(ctx, err)
}

// Release calls ReleaseFunc.
func (w *WorkFuncs) Release(o Outcome) { w.ReleaseFunc(o) }

// Status says how a task ended.
type Status int

const (
	// Done: the work succeeded and its writes were acknowledged.
	Done Status = iota + 1
	// Skipped: the work failed, and the Skip policy dropped it.
	Skipped
	// DeadLettered: the work failed, and the record was written to the
	// dead-letter destination.
	DeadLettered
	// Abandoned: the assignment was revoked or the executor closed before the
	// task finished. Its effects were not applied or may be partial; it must
	// not be committed. The next owner processes it again.
	Abandoned
	// Failed: the work failed under the Fail policy, or an earlier task of the
	// same assignment did. The processor should stop.
	Failed
)

func (s Status) String() string {
	switch s {
	case Done:
		return "done"
	case Skipped:
		return "skipped"
	case DeadLettered:
		return "dead-lettered"
	case Abandoned:
		return "abandoned"
	case Failed:
		return "failed"
	default:
		return "unknown"
	}
}

// Outcome is what Release receives.
type Outcome struct {
	Status Status
	// Err is the last attempt's error for Skipped, DeadLettered and Failed
	// (wrapped in a *TaskError), and nil otherwise.
	Err error
	// Attempts is how many attempts ran.
	Attempts int
}

// Committable reports whether the record's offset may be committed.
func (o Outcome) Committable() bool {
	return o.Status == Done || o.Status == Skipped || o.Status == DeadLettered
}
