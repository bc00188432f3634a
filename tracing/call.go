package tracing

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Call runs fn, one remote call made while processing a record, in a
// client span under the record's span. ctx must be the context the record's
// callback got (goka.Context.Context() in an async callback): it tells Call
// the record and the executor's attempt number, which every call span
// carries as riffle.attempt, so that the calls of a retried record appear
// once per attempt. The call's duration is recorded in the
// riffle.call.duration histogram.
//
// name names the span; "" derives it from the convention option (RPC:
// "service/method", HTTP: the method, DB: "operation collection"). fn gets
// a context carrying the call span, for client instrumentation that
// propagates it (for example an HTTP transport that injects traceparent).
//
// Outside a traced record (tracing off, or ctx of another origin) Call just
// returns fn(ctx): it costs nothing when tracing is off.
func Call(ctx context.Context, name string, fn func(context.Context) error, opts ...CallOption) error {
	s := scopeFrom(ctx)
	if s == nil {
		return fn(ctx)
	}
	ctx, span, start, cc := s.startCall(ctx, name, opts)
	err := fn(ctx)
	s.endCall(span, start, cc, err)
	return err
}

// CallValue is Call for a call that returns a value.
func CallValue[T any](ctx context.Context, name string, fn func(context.Context) (T, error), opts ...CallOption) (T, error) {
	s := scopeFrom(ctx)
	if s == nil {
		return fn(ctx)
	}
	ctx, span, start, cc := s.startCall(ctx, name, opts)
	v, err := fn(ctx)
	s.endCall(span, start, cc, err)
	return v, err
}

func (s *attemptScope) startCall(ctx context.Context, name string, opts []CallOption) (context.Context, trace.Span, time.Time, *callConfig) {
	cc := &callConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyCall(cc)
		}
	}
	if name == "" {
		name = cc.defaultName
	}
	if name == "" {
		name = "call"
	}
	cc.name = name
	attrs := make([]attribute.KeyValue, 0, 1+len(cc.attrs))
	attrs = append(attrs, KeyAttempt.Int(s.attempt))
	attrs = append(attrs, cc.attrs...)
	if cc.http && s.attempt > 1 {
		attrs = append(attrs, keyHTTPResendCount.Int(s.attempt-1))
	}
	start := time.Now()
	ctx, span := s.rec.t.tracer.Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start),
		trace.WithAttributes(attrs...))
	if cc.dynamic != nil && span.IsRecording() {
		for _, f := range cc.dynamic {
			span.SetAttributes(f()...)
		}
	}
	return ctx, span, start, cc
}

func (s *attemptScope) endCall(span trace.Span, start time.Time, cc *callConfig, err error) {
	end := time.Now()
	var errType string
	if err != nil {
		errType = errorType(err)
		span.RecordError(err, trace.WithTimestamp(end))
		span.SetAttributes(keyErrorType.String(errType))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(end))
	s.rec.t.metrics.recordCall(cc.name, errType, end.Sub(start))
}

// callConfig collects the CallOptions of one call.
type callConfig struct {
	name        string
	defaultName string
	http        bool
	attrs       []attribute.KeyValue
	dynamic     []func() []attribute.KeyValue
}

// CallOption describes a remote call for Call. A nil option is ignored.
type CallOption interface{ applyCall(*callConfig) }

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

// Attributes adds the attributes fn returns to the call's span. fn runs
// only if the span is recorded (sampled), so it may be costly.
func Attributes(fn func() []attribute.KeyValue) CallOption {
	return callOptionFunc(func(c *callConfig) { c.dynamic = append(c.dynamic, fn) })
}

// RPC marks the call as a remote procedure call (rpc.system, rpc.service,
// rpc.method); the default span name is "service/method".
func RPC(system, service, method string) CallOption {
	return callOptionFunc(func(c *callConfig) {
		c.defaultName = service + "/" + method
		c.attrs = append(c.attrs, keyRPCSystem.String(system), keyRPCService.String(service), keyRPCMethod.String(method))
	})
}

// HTTP marks the call as an HTTP client request (http.request.method,
// url.full without credentials, server.address and server.port; retried
// attempts add http.request.resend_count); the default span name is the
// method.
func HTTP(method, rawURL string) CallOption {
	return callOptionFunc(func(c *callConfig) {
		method = strings.ToUpper(method)
		c.defaultName = method
		c.http = true
		c.attrs = append(c.attrs, keyHTTPMethod.String(method))
		if u, err := url.Parse(rawURL); err == nil {
			u.User = nil
			c.attrs = append(c.attrs, keyURLFull.String(u.String()), keyServerAddress.String(u.Hostname()))
			if p, err := strconv.Atoi(u.Port()); err == nil {
				c.attrs = append(c.attrs, keyServerPort.Int(p))
			}
		}
	})
}

// DB marks the call as a database operation (db.system.name,
// db.operation.name, db.collection.name); the default span name is
// "operation collection".
func DB(system, operation, collection string) CallOption {
	return callOptionFunc(func(c *callConfig) {
		c.defaultName = strings.TrimSpace(operation + " " + collection)
		c.attrs = append(c.attrs, keyDBSystem.String(system), keyDBOperation.String(operation))
		if collection != "" {
			c.attrs = append(c.attrs, keyDBCollection.String(collection))
		}
	})
}
