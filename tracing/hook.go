package tracing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
)

// Hook returns the executor hook that draws the waits, attempts and
// releases of traced records (those whose asyncdsl.Record.Trace is set: a
// *Record) and counts retries, dead letters and releases for every record.
// The goka adapter registers it when it is given a Tracing; register it
// yourself (asyncdsl.WithHook) only when you drive an executor directly.
func (t *Tracing) Hook() asyncdsl.Hook { return hook{t} }

// hook implements asyncdsl's SubmitHook, StartHook, AttemptHook and
// ReleaseHook. Its methods run on the submitting goroutine, on workers and
// on releasing goroutines, concurrently; they only touch spans, which are
// safe for that, and instruments.
type hook struct{ t *Tracing }

// OnSubmit hands the wait for capacity to the record's trace.
func (h hook) OnSubmit(r asyncdsl.Record, waited time.Duration) {
	if r.Trace != nil {
		r.Trace.Submitted(waited)
	}
}

// OnStart hands the waits for the key and for a worker to the record's
// trace.
func (h hook) OnStart(r asyncdsl.Record, waitedForKey, waitedForWorker time.Duration) {
	if r.Trace != nil {
		r.Trace.Started(waitedForKey, waitedForWorker)
	}
}

// OnAttempt counts retries and hands the attempt to the record's trace.
func (h hook) OnAttempt(r asyncdsl.Record, attempt int, took time.Duration, err error) {
	if attempt > 1 {
		h.t.metrics.recordRetry(r.Topic)
	}
	if r.Trace != nil {
		r.Trace.Attempted(attempt, took, err)
	}
}

// OnRelease counts dead letters and skipped records and ends the record's
// trace (Record.End).
func (h hook) OnRelease(r asyncdsl.Record, o asyncdsl.Outcome, heldBack time.Duration) {
	switch o.Status {
	case asyncdsl.DeadLettered:
		var refused *asyncdsl.DeadLetterRefusedError
		reduced := errors.As(o.Err, &refused)
		h.t.metrics.recordDeadLetter(r.Topic, releaseReason(o.Err), reduced)
	case asyncdsl.Skipped:
		h.t.metrics.recordSkipped(r.Topic, releaseReason(o.Err), errorType(o.Err))
	}
	if r.Trace != nil {
		r.Trace.End(o, heldBack)
	}
}

// errorType is the low-cardinality error.type of err: "timeout" for a
// deadline, else the Go type of the cause (below asyncdsl's TaskError).
func errorType(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var te *asyncdsl.TaskError
	if errors.As(err, &te) && te.Err != nil {
		err = te.Err
	}
	return fmt.Sprintf("%T", err)
}

// releaseReason is the riffle.reason of a skipped or dead-lettered record
// (see KeyReason).
func releaseReason(err error) string {
	var refused *asyncdsl.DeadLetterRefusedError
	var write *asyncdsl.WriteRefusedError
	switch {
	case errors.As(err, &refused) && refused.Reduced:
		return "dead_letter_refused"
	case errors.As(err, &write):
		return "refused"
	default:
		return "error"
	}
}
