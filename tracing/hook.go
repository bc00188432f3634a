package tracing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"go.opentelemetry.io/otel/trace"
)

// Hook returns the executor hook that draws the waits, attempts and
// releases of traced records (those whose asyncdsl.Record.Tag is a
// *Record) and counts retries, dead letters and releases for every record.
// The goka adapter registers it when it is given a Tracing; register it
// yourself (asyncdsl.WithHook) only when you drive an executor directly.
func (t *Tracing) Hook() asyncdsl.Hook { return hook{t} }

// hook implements asyncdsl's SubmitHook, StartHook, AttemptHook and
// ReleaseHook. Its methods run on the submitting goroutine, on workers and
// on releasing goroutines, concurrently; they only touch spans, which are
// safe for that, and instruments.
type hook struct{ t *Tracing }

// OnSubmit draws the wait for capacity (backpressure), if there was one.
func (h hook) OnSubmit(r asyncdsl.Record, waited time.Duration) {
	rec, _ := r.Tag.(*Record)
	if rec == nil || waited <= 0 {
		return
	}
	end := time.Now()
	h.t.waitSpan(rec, "wait for capacity", end.Add(-waited), end)
}

// OnStart draws the wait for the key (behind earlier records of the same
// key) and the wait for a worker (at the head of its key, for a free
// worker), as two consecutive child spans that end when the worker took
// the record.
func (h hook) OnStart(r asyncdsl.Record, waitedForKey, waitedForWorker time.Duration) {
	rec, _ := r.Tag.(*Record)
	if rec == nil {
		return
	}
	end := time.Now()
	ready := end.Add(-waitedForWorker)
	h.t.waitSpan(rec, "wait for key", ready.Add(-waitedForKey), ready)
	h.t.waitSpan(rec, "wait for worker", ready, end)
}

// OnAttempt counts retries and marks failed attempts on the record's span.
func (h hook) OnAttempt(r asyncdsl.Record, attempt int, took time.Duration, err error) {
	if attempt > 1 {
		h.t.metrics.recordRetry(r.Topic)
	}
	rec, _ := r.Tag.(*Record)
	if rec == nil || err == nil || errors.Is(err, context.Canceled) {
		return
	}
	rec.span.AddEvent("attempt failed", trace.WithAttributes(
		KeyAttempt.Int(attempt),
		keyErrorType.String(errorType(err)),
		attributeErrorMessage(err),
	))
}

// OnRelease ends the record's span (Record.End) and counts dead letters
// and skipped records.
func (h hook) OnRelease(r asyncdsl.Record, o asyncdsl.Outcome, heldBack time.Duration) {
	switch o.Status {
	case asyncdsl.DeadLettered:
		var refused *asyncdsl.DeadLetterRefusedError
		reduced := errors.As(o.Err, &refused)
		h.t.metrics.recordDeadLetter(r.Topic, releaseReason(o.Err), reduced)
	case asyncdsl.Skipped:
		h.t.metrics.recordSkipped(r.Topic, releaseReason(o.Err), errorType(o.Err))
	}
	if rec, _ := r.Tag.(*Record); rec != nil {
		rec.End(o, heldBack)
	}
}

// waitSpan records an interval under the record's span.
// Not drawn for an unsampled record: its children would not be recorded
// either.
func (t *Tracing) waitSpan(rec *Record, name string, start, end time.Time) {
	if !rec.span.IsRecording() {
		return
	}
	_, span := t.tracer.Start(rec.ctx, name, trace.WithTimestamp(start))
	span.End(trace.WithTimestamp(end))
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
