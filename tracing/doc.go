// Package tracing gives riffle's async records OpenTelemetry spans, metrics
// and an inspection endpoint.
//
// A Tracing is built once with New and handed to the goka adapter
// (gokaadapter.WithTracing). From then on every record an async callback
// processes gets one span of kind consumer, "process <topic>", which
// continues the producer's trace from the record's W3C traceparent header
// (or links to it, see WithParentMode). Under it the executor's hooks add
// the wait for the record's key and the wait for a worker, the adapter adds
// the write-back and one producer span per emitted record (whose headers
// carry traceparent onward), and user code adds one client span per remote
// call with Call. The span ends when the record's offset is released to the
// commit, with an "offset released" event.
//
// The same Tracing records metrics through the OTel metrics API (see
// ObserveExecutor and docs/tracing.md for the names), and Inspect and
// Handler answer "why is my committed offset stuck?" from the executor's
// Stats.
//
// The package uses only the OpenTelemetry API. A program chooses the SDK
// and exporters and passes its providers with WithTracerProvider and
// WithMeterProvider; without them the global providers are used, which do
// nothing unless the program installed some. It relates to its neighbours
// like this: package asyncdsl calls its hooks, package gokaadapter starts a
// Record per consumed record and wraps the write-back, and user code calls
// Call around its remote calls.
package tracing
