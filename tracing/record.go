package tracing

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Message describes a consumed record, as an integration (the goka adapter)
// knows it when the record is dispatched.
type Message struct {
	Group string
	riffle.Coordinates
	// Headers are read for the producer's trace context; not kept.
	Headers map[string][]byte
}

// Record is the trace of one consumed record, from its dispatch to the
// release of its offset. The integration that dispatches records starts it
// with StartRecord and stores it in asyncdsl.Record.Trace, where the
// executor's hooks (Hook) find it: it is an asyncdsl.RecordTrace.
//
// Every method is safe on a nil *Record and then does nothing, so an
// integration can call them whether tracing is on or off.
//
// Concurrency: the span is safe for concurrent use. write is set by the
// worker that runs one of the record's Applies, before it runs: its
// write-back or dead letter, and, if the broker refused that for what the
// record is, a dead letter (and a reduced one) after it, each started by the
// executor only after the previous one's done was called, so never two at
// once. Send reads it, on that worker or on a goroutine that Apply handed
// the sends to, which the hand-over orders after the write. Everything
// else is immutable after StartRecord.
type Record struct {
	t     *Tracing
	msg   Message
	start time.Time
	ctx   context.Context // carries span
	span  trace.Span
	write trace.Span // the write-back or dead-letter span, once its Apply started
}

// *Record is the trace the executor's hooks find on asyncdsl.Record.
var _ asyncdsl.RecordTrace = (*Record)(nil)

// StartRecord starts the span of a consumed record: "process <topic>", kind
// consumer, with the messaging attributes and, when m.Group is set, the
// record's idempotency key (KeyIdempotencyKey), as a child of (or linked
// to) the producer's span named by the record's headers. It returns nil if
// t is nil.
func (t *Tracing) StartRecord(m Message) *Record {
	if t == nil {
		return nil
	}
	r := &Record{t: t, msg: m, start: time.Now()}
	attrs := []attribute.KeyValue{
		keyMessagingSystem.String("kafka"),
		keyMessagingOperationType.String("process"),
		keyMessagingOperationName.String("process"),
		keyDestinationName.String(m.Topic),
		keyConsumerGroup.String(m.Group),
		keyPartitionID.String(strconv.Itoa(int(m.Partition))),
		keyKafkaOffset.Int64(m.Offset),
	}
	if t.recordKey {
		attrs = append(attrs, keyKafkaMessageKey.String(m.Key))
	}
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(r.start),
	}
	parent := context.Background()
	if len(m.Headers) > 0 {
		remote := t.propagator.Extract(context.Background(), HeaderCarrier(m.Headers))
		if sc := trace.SpanContextFromContext(remote); sc.IsValid() {
			if t.parent == LinkTrace {
				opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: sc}))
			} else {
				parent = remote
			}
		}
	}
	opts = append(opts, trace.WithAttributes(attrs...))
	r.ctx, r.span = t.tracer.Start(parent, "process "+m.Topic, opts...)
	// The idempotency key is built only for a span that records it: an
	// unsampled record pays no allocation for it. Samplers therefore do not
	// see it among the start attributes. Without a group there is no key.
	if m.Group != "" && r.span.IsRecording() {
		r.span.SetAttributes(KeyIdempotencyKey.String(m.IdempotencyKey(m.Group)))
	}
	return r
}

// SpanContext returns the record's span context (invalid if r is nil).
func (r *Record) SpanContext() trace.SpanContext {
	if r == nil {
		return trace.SpanContext{}
	}
	return r.span.SpanContext()
}

// attemptScope is what an attempt's context carries for Call and Attempt.
type attemptScope struct {
	rec     *Record
	attempt int
}

type scopeKey struct{}

// attemptContext is ctx with one attempt's scope; one allocation.
type attemptContext struct {
	context.Context
	scope attemptScope
}

func (c *attemptContext) Value(key any) any {
	if key == (scopeKey{}) {
		return &c.scope
	}
	return c.Context.Value(key)
}

// AttemptContext returns the context user code runs with in the given
// attempt (from 1): ctx (the executor's attempt context, with its deadline
// and cancellation) carrying the record's span, so that spans user code
// starts are children of it, and the attempt number, for Call and Attempt.
// It returns ctx unchanged if r is nil.
func (r *Record) AttemptContext(ctx context.Context, attempt int) context.Context {
	if r == nil {
		return ctx
	}
	return &attemptContext{
		Context: trace.ContextWithSpan(ctx, r.span),
		scope:   attemptScope{rec: r, attempt: attempt},
	}
}

// Attempt returns the executor's attempt number (from 1) of the record
// being processed in ctx, or 0 if ctx is not an attempt context of a traced
// record.
func Attempt(ctx context.Context) int {
	if s := scopeFrom(ctx); s != nil {
		return s.attempt
	}
	return 0
}

func scopeFrom(ctx context.Context) *attemptScope {
	s, _ := ctx.Value(scopeKey{}).(*attemptScope)
	return s
}

// WriteBack wraps apply, the write-back of a successful attempt with the
// given number of writes, in a "write-back" span that lasts from the call
// of apply until done is called (every write acknowledged). Records
// emitted meanwhile get their trace context through Send. It returns apply
// unchanged if r is nil or apply is nil.
func (r *Record) WriteBack(apply asyncdsl.Apply, writes int) asyncdsl.Apply {
	return r.wrapApply("write-back", apply, writes)
}

// DeadLetter wraps the Apply that writes the record to the dead-letter
// topic in a "dead letter" span, as WriteBack does.
func (r *Record) DeadLetter(apply asyncdsl.Apply) asyncdsl.Apply {
	return r.wrapApply("dead letter", apply, 1)
}

func (r *Record) wrapApply(name string, apply asyncdsl.Apply, writes int) asyncdsl.Apply {
	if r == nil || apply == nil || !r.span.IsRecording() {
		return apply
	}
	return func(done func(error)) {
		_, span := r.t.tracer.Start(r.ctx, name, trace.WithAttributes(KeyWrites.Int(writes)))
		r.write = span
		apply(func(err error) {
			endSpan(span, err)
			done(err)
		})
	}
}

// Send starts a producer span "send <topic>" under the running write-back
// and returns a copy of headers with the span's trace context injected,
// and the function to call with the produce's result. headers is never
// modified. If r is nil it returns headers and a nil function; if r is not
// sampled, a copy of headers with the record's own (unsampled) context and
// a nil function.
func (r *Record) Send(topic string, headers map[string][]byte) (map[string][]byte, func(error)) {
	if r == nil {
		return headers, nil
	}
	out := make(map[string][]byte, len(headers)+2)
	for k, v := range headers {
		out[k] = v
	}
	if !r.span.IsRecording() {
		// Unsampled: pass the record's own context on, so that the
		// downstream consumer makes the same (unsampled) decision.
		r.t.propagator.Inject(r.ctx, HeaderCarrier(out))
		return out, nil
	}
	parent := r.ctx
	if r.write != nil {
		parent = trace.ContextWithSpan(parent, r.write)
	}
	ctx, span := r.t.tracer.Start(parent, "send "+topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			keyMessagingSystem.String("kafka"),
			keyMessagingOperationType.String("send"),
			keyMessagingOperationName.String("send"),
			keyDestinationName.String(topic),
		))
	r.t.propagator.Inject(ctx, HeaderCarrier(out))
	return out, func(err error) { endSpan(span, err) }
}

// Submitted draws the record's wait for capacity (backpressure), if there
// was one, as a child span "wait for capacity" that ends now. The hook
// calls it (asyncdsl.RecordTrace).
func (r *Record) Submitted(waited time.Duration) {
	if r == nil || waited <= 0 {
		return
	}
	end := time.Now()
	r.waitSpan("wait for capacity", end.Add(-waited), end)
}

// Started draws the wait for the key (behind earlier records of the same
// key) and the wait for a worker (at the head of its key, for a free
// worker), as two consecutive child spans that end now, when the worker
// took the record. The hook calls it (asyncdsl.RecordTrace).
func (r *Record) Started(waitedForKey, waitedForWorker time.Duration) {
	if r == nil {
		return
	}
	end := time.Now()
	ready := end.Add(-waitedForWorker)
	r.waitSpan("wait for key", ready.Add(-waitedForKey), ready)
	r.waitSpan("wait for worker", ready, end)
}

// Attempted marks a failed attempt on the record's span, as an event
// "attempt failed"; a cancelled one is not a failure. The hook calls it
// (asyncdsl.RecordTrace).
func (r *Record) Attempted(attempt int, _ time.Duration, err error) {
	if r == nil || err == nil || errors.Is(err, context.Canceled) {
		return
	}
	r.span.AddEvent("attempt failed", trace.WithAttributes(
		KeyAttempt.Int(attempt),
		keyErrorType.String(errorType(err)),
		attributeErrorMessage(err),
	))
}

// waitSpan records an interval under the record's span.
// Not drawn for an unsampled record: its children would not be recorded
// either.
func (r *Record) waitSpan(name string, start, end time.Time) {
	if !r.span.IsRecording() {
		return
	}
	_, span := r.t.tracer.Start(r.ctx, name, trace.WithTimestamp(start))
	span.End(trace.WithTimestamp(end))
}

// End ends the record's span when its offset was released with outcome o,
// heldBack after the record finished. The hook calls it; an integration
// calls it itself only for a record the executor never accepted.
func (r *Record) End(o asyncdsl.Outcome, heldBack time.Duration) {
	if r == nil {
		return
	}
	now := time.Now()
	outcome := o.Status.String()
	r.span.AddEvent("offset released", trace.WithTimestamp(now), trace.WithAttributes(
		KeyOutcome.String(outcome),
		KeyHeldBackMs.Float64(float64(heldBack)/float64(time.Millisecond)),
	))
	r.span.SetAttributes(KeyOutcome.String(outcome), KeyAttempts.Int(o.Attempts))
	switch o.Status {
	case asyncdsl.Failed, asyncdsl.Skipped, asyncdsl.DeadLettered:
		if o.Err != nil {
			r.span.SetAttributes(keyErrorType.String(errorType(o.Err)))
			r.span.SetStatus(codes.Error, o.Err.Error())
		} else {
			r.span.SetStatus(codes.Error, outcome)
		}
	}
	r.span.End(trace.WithTimestamp(now))
	r.t.metrics.recordReleased(r.msg.Topic, r.msg.Group, o.Status, now.Sub(r.start))
}

// endSpan ends span with err's status.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetAttributes(keyErrorType.String(errorType(err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
