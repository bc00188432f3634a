package tracing_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// producerHeaders returns the headers of a record written under a
// producer span, and that span's context.
func producerHeaders(tel *telemetry) (map[string][]byte, trace.SpanContext) {
	_, span := tel.tp.Tracer("test").Start(context.Background(), "send in", trace.WithSpanKind(trace.SpanKindProducer))
	defer span.End()
	h := tracing.HeaderCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpan(context.Background(), span), h)
	return h, span.SpanContext()
}

func TestParentMode(t *testing.T) {
	for _, tt := range []struct {
		mode       tracing.ParentMode
		sameTrace  bool
		wantLinked bool
	}{
		{tracing.ContinueTrace, true, false},
		{tracing.LinkTrace, false, true},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			tel := newTelemetry(t)
			tr := tel.tracing(t, tracing.WithParentMode(tt.mode), tracing.WithRecordKey())
			headers, producer := producerHeaders(tel)
			rec := tr.StartRecord(tracing.Message{Group: "g", Coordinates: riffle.Coordinates{Topic: "in", Partition: 3, Offset: 42, Key: "user-7"}, Headers: headers})
			rec.End(asyncdsl.Outcome{Status: asyncdsl.Done, Attempts: 1}, 0)
			s := tel.waitEnded(t, "process in", 1)[0]
			if got := s.SpanContext().TraceID() == producer.TraceID(); got != tt.sameTrace {
				t.Errorf("same trace as the producer: %v, want %v", got, tt.sameTrace)
			}
			if got := s.Parent().SpanID() == producer.SpanID(); got != tt.sameTrace {
				t.Errorf("child of the producer: %v, want %v", got, tt.sameTrace)
			}
			linked := len(s.Links()) == 1 && s.Links()[0].SpanContext.SpanID() == producer.SpanID()
			if linked != tt.wantLinked {
				t.Errorf("links %v, want a link to the producer: %v", s.Links(), tt.wantLinked)
			}
			wantAttrs(t, s, attribute.String("messaging.kafka.message.key", "user-7"),
				attribute.String("messaging.destination.partition.id", "3"))
		})
	}
}

// A record's process span carries its idempotency key, the one its
// callback passes to remote services, when the group is known; without a
// group there is no key, and no attribute.
func TestRecordIdempotencyKey(t *testing.T) {
	for _, tt := range []struct {
		name  string
		group string
		want  string // "" for no attribute
	}{
		{"group", "billing", "orders/3@42#billing"},
		{"no group", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			tr := tel.tracing(t)
			rec := tr.StartRecord(tracing.Message{Group: tt.group, Coordinates: riffle.Coordinates{Topic: "orders", Partition: 3, Offset: 42, Key: "user-7"}})
			rec.End(asyncdsl.Outcome{Status: asyncdsl.Done, Attempts: 1}, 0)
			s := tel.waitEnded(t, "process orders", 1)[0]
			got, ok := attr(s, tracing.KeyIdempotencyKey)
			switch {
			case tt.want == "" && ok:
				t.Errorf("%s = %q without a group, want no attribute", tracing.KeyIdempotencyKey, got.AsString())
			case tt.want != "" && got != attribute.StringValue(tt.want):
				t.Errorf("%s = %q (set: %v), want %q", tracing.KeyIdempotencyKey, got.AsString(), ok, tt.want)
			}
		})
	}
}

func TestInvalidParentMode(t *testing.T) {
	_, err := tracing.New(tracing.WithParentMode(7))
	var ce *tracing.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New with an unknown parent mode: %v, want a *ConfigError", err)
	}
}

// A nil *Tracing and a nil *Record do nothing: the adapter calls them the
// same way whether tracing is on or off.
func TestNilIsOff(t *testing.T) {
	var tr *tracing.Tracing
	rec := tr.StartRecord(tracing.Message{Coordinates: riffle.Coordinates{Topic: "in"}})
	if rec != nil {
		t.Fatal("nil Tracing started a record")
	}
	ctx := context.Background()
	if rec.AttemptContext(ctx, 1) != ctx {
		t.Error("nil Record changed the attempt context")
	}
	h := map[string][]byte{"a": []byte("b")}
	if out, done := rec.Send("out", h); done != nil || len(out) != 1 {
		t.Error("nil Record injected headers")
	}
	var apply asyncdsl.Apply = func(done func(error)) { done(nil) }
	if rec.WriteBack(apply, 1) == nil || rec.DeadLetter(nil) != nil {
		t.Error("nil Record changed the applies")
	}
	rec.End(asyncdsl.Outcome{Status: asyncdsl.Done}, 0)
	if tracing.Attempt(ctx) != 0 {
		t.Error("Attempt outside a record")
	}
	called := false
	err := tracing.Call(ctx, "x", func(context.Context) error { called = true; return errUnavailable })
	if !called || !errors.Is(err, errUnavailable) {
		t.Errorf("Call outside a record: called %v, err %v", called, err)
	}
	v, err := tracing.CallValue(ctx, "x", func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Errorf("CallValue outside a record: %d, %v", v, err)
	}
}

// The conventions of Call: span names, attributes, and attempt numbers.
func TestCallConventions(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	rec := tr.StartRecord(tracing.Message{Group: "g", Coordinates: riffle.Coordinates{Topic: "in"}})
	ctx := rec.AttemptContext(context.Background(), 2)
	if n := tracing.Attempt(ctx); n != 2 {
		t.Fatalf("Attempt %d, want 2", n)
	}
	noop := func(context.Context) error { return nil }
	_ = tracing.Call(ctx, "", noop, tracing.HTTP("get", "https://user:pw@prices.example:8443/v1/items/9"))
	_ = tracing.Call(ctx, "", noop, tracing.DB("postgresql", "SELECT", "items"))
	_, _ = tracing.CallValue(ctx, "fetch profile", func(context.Context) (string, error) { return "", context.DeadlineExceeded })
	rec.End(asyncdsl.Outcome{Status: asyncdsl.Done, Attempts: 2}, 0)

	get := tel.waitEnded(t, "GET", 1)[0]
	wantAttrs(t, get, attribute.String("http.request.method", "GET"), attribute.Int("riffle.attempt", 2),
		attribute.Int("http.request.resend_count", 1), attribute.String("server.address", "prices.example"),
		attribute.Int("server.port", 8443), attribute.String("url.full", "https://prices.example:8443/v1/items/9"))
	if get.SpanKind() != trace.SpanKindClient || get.Parent().SpanID() != rec.SpanContext().SpanID() {
		t.Errorf("GET span kind %s, parent %s", get.SpanKind(), get.Parent().SpanID())
	}
	db := tel.waitEnded(t, "SELECT items", 1)[0]
	wantAttrs(t, db, attribute.String("db.system.name", "postgresql"), attribute.String("db.operation.name", "SELECT"),
		attribute.String("db.collection.name", "items"))
	fetch := tel.waitEnded(t, "fetch profile", 1)[0]
	wantAttrs(t, fetch, attribute.String("error.type", "timeout"))
	if fetch.Status().Code != codes.Error {
		t.Errorf("failed call status %v", fetch.Status())
	}
}

// Headers given to Send are copied, never modified.
func TestSendCopiesHeaders(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	rec := tr.StartRecord(tracing.Message{Coordinates: riffle.Coordinates{Topic: "in"}})
	in := map[string][]byte{"app": []byte("1")}
	out, done := rec.Send("out", in)
	done(nil)
	rec.End(asyncdsl.Outcome{Status: asyncdsl.Done}, 0)
	if len(in) != 1 {
		t.Errorf("Send modified its input: %v", in)
	}
	if string(out["app"]) != "1" || len(out["traceparent"]) == 0 {
		t.Errorf("Send returned %v", out)
	}
}

// A nil Option or CallOption is ignored, as in every riffle package.
func TestNilOptionsIgnored(t *testing.T) {
	tr, err := tracing.New(nil)
	if err != nil || tr == nil {
		t.Fatalf("New(nil) = %v, %v", tr, err)
	}
	called := false
	if err := tracing.Call(context.Background(), "get", func(context.Context) error { called = true; return nil }, nil); err != nil || !called {
		t.Fatalf("Call with a nil option = %v, called %v", err, called)
	}
}

func TestHeaderCarrierKeys(t *testing.T) {
	c := tracing.HeaderCarrier{"traceparent": []byte("x"), "tracestate": nil}
	got := c.Keys()
	slices.Sort(got)
	if want := []string{"traceparent", "tracestate"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	if got := (tracing.HeaderCarrier{}).Keys(); len(got) != 0 {
		t.Errorf("Keys() of an empty carrier = %v", got)
	}
}
