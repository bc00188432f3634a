package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/tracing"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

var errUnavailable = errors.New("inventory unavailable")

// One record's trace, end to end on the embedded broker: the record carries
// a producer's traceparent; its callback's remote call fails on the first
// attempt and is slow on the second; it emits one record. A second record
// of the same key waits for it. The span tree, the attributes, the
// propagation to the emitted record and the metrics are checked.
func TestRecordTraceEndToEnd(t *testing.T) {
	const (
		group  = goka.Group("traced")
		input  = goka.Stream("traced-in")
		output = goka.Stream("traced-out")
		slow   = 60 * time.Millisecond
	)
	tel := newTelemetry(t)
	tr := tel.tracing(t)

	s := clustertest.Start(t, broker.WithPartitions(2)).Settings()
	kafkatest.EnsureTopics(t, s, input, output)
	a, err := gokaadapter.New(
		gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(s.ProducerBuilder()),
		gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
		gokaadapter.WithExecutor(asyncdsl.WithWorkers(4), asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 5 * time.Millisecond})),
		gokaadapter.WithTracing(tr),
	)
	if err != nil {
		t.Fatal(err)
	}
	cb := func(ctx goka.Context, msg any) {
		if msg.(string) == "retry" {
			attempt := tracing.Attempt(ctx.Context())
			err := tracing.Call(ctx.Context(), "", func(cctx context.Context) error {
				if attempt == 1 {
					return errUnavailable
				}
				select { // the injected latency of the remote call
				case <-time.After(slow):
					return nil
				case <-cctx.Done():
					return cctx.Err()
				}
			}, tracing.RPC("grpc", "inventory.Inventory", "Lookup"),
				tracing.Attributes(func() []attribute.KeyValue { return []attribute.KeyValue{attribute.String("inventory.sku", "sku-1")} }))
			if err != nil {
				ctx.Fail(err)
			}
		}
		ctx.Emit(output, ctx.Key(), msg.(string)+"-enriched")
	}
	g := goka.DefineGroup(group, goka.Input(input, new(codec.String), a.Async(cb)), goka.Output(output, new(codec.String)))
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("processor: %v", err)
		}
	})
	readyCtx, readyCancel := context.WithTimeout(ctx, 60*time.Second)
	defer readyCancel()
	if err := proc.WaitForReadyContext(readyCtx); err != nil {
		t.Fatal(err)
	}

	// The producer's span, whose context the first record carries.
	_, producer := tel.tp.Tracer("test").Start(context.Background(), "send traced-in", trace.WithSpanKind(trace.SpanKindProducer))
	headers := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpan(context.Background(), producer), headers)
	producer.End()
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ConsumeTopics(string(output)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	first := &kgo.Record{Topic: string(input), Key: []byte("k1"), Value: []byte("retry"),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(headers.Get("traceparent"))}}}
	second := &kgo.Record{Topic: string(input), Key: []byte("k1"), Value: []byte("plain")}
	if err := cl.ProduceSync(pctx, first, second).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var outs []*kgo.Record
	for len(outs) < 2 {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("got %d of 2 output records", len(outs))
		}
		outs = append(outs, fs.Records()...)
	}

	processes := tel.waitEnded(t, "process traced-in", 2)
	var rec, next = processes[0], processes[1]
	if v, _ := attr(rec, "messaging.kafka.offset"); v.AsInt64() != first.Offset {
		rec, next = next, rec
	}

	// The record's span continues the producer's trace.
	if rec.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("kind %s, want consumer", rec.SpanKind())
	}
	if rec.Parent().SpanID() != producer.SpanContext().SpanID() || rec.SpanContext().TraceID() != producer.SpanContext().TraceID() {
		t.Errorf("record span parent %s/%s, want the producer %s/%s", rec.Parent().TraceID(), rec.Parent().SpanID(),
			producer.SpanContext().TraceID(), producer.SpanContext().SpanID())
	}
	wantAttrs(t, rec,
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", string(input)),
		attribute.String("messaging.consumer.group.name", string(group)),
		attribute.String("messaging.destination.partition.id", itoa(first.Partition)),
		attribute.Int64("messaging.kafka.offset", first.Offset),
		attribute.String("riffle.outcome", "done"),
		attribute.Int("riffle.attempts", 2),
		attribute.String("riffle.idempotency_key", fmt.Sprintf("%s/%d@%d#%s", input, first.Partition, first.Offset, group)),
	)
	if _, ok := attr(rec, "messaging.kafka.message.key"); ok {
		t.Error("the key is on the span although WithRecordKey was not given")
	}
	for _, kv := range rec.Attributes() {
		if kv.Value.String() == "retry" {
			t.Errorf("record value in span attribute %s", kv.Key)
		}
	}
	if e, ok := event(rec, "attempt failed"); !ok {
		t.Error("no attempt failed event")
	} else if v, _ := eventAttr(e, tracing.KeyAttempt); v.AsInt64() != 1 {
		t.Errorf("attempt failed event for attempt %d, want 1", v.AsInt64())
	}
	if e, ok := event(rec, "offset released"); !ok {
		t.Error("no offset released event")
	} else if v, _ := eventAttr(e, tracing.KeyOutcome); v.AsString() != "done" {
		t.Errorf("released as %q", v.AsString())
	}

	// Its children: the waits, one client span per call attempt, the
	// write-back with one producer span per emit.
	kids := tel.children(rec.SpanContext())
	var names []string
	for _, k := range kids {
		names = append(names, k.Name())
	}
	want := []string{"wait for key", "wait for worker", "inventory.Inventory/Lookup", "inventory.Inventory/Lookup", "write-back"}
	if !equal(names, want) {
		t.Fatalf("children of the record span: %q, want %q", names, want)
	}
	for i, call := range kids[2:4] {
		if call.SpanKind() != trace.SpanKindClient {
			t.Errorf("call kind %s", call.SpanKind())
		}
		wantAttrs(t, call, attribute.Int("riffle.attempt", i+1), attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", "inventory.Inventory"), attribute.String("rpc.method", "Lookup"),
			attribute.String("inventory.sku", "sku-1"))
	}
	if kids[2].Status().Code != codes.Error {
		t.Errorf("first call status %v, want error", kids[2].Status())
	}
	if kids[3].Status().Code == codes.Error {
		t.Errorf("second call status %v", kids[3].Status())
	}
	if d := kids[3].EndTime().Sub(kids[3].StartTime()); d < slow {
		t.Errorf("slow call took %s, want at least %s", d, slow)
	}
	writeBack := kids[4]
	wantAttrs(t, writeBack, attribute.Int("riffle.writes", 1))
	sends := tel.children(writeBack.SpanContext())
	if len(sends) != 1 || sends[0].Name() != "send "+string(output) || sends[0].SpanKind() != trace.SpanKindProducer {
		t.Fatalf("children of the write-back: %v", sends)
	}
	for _, k := range kids {
		if k.StartTime().Before(rec.StartTime()) || k.EndTime().After(rec.EndTime()) {
			t.Errorf("child %q [%s, %s] outside the record span [%s, %s]", k.Name(), k.StartTime(), k.EndTime(), rec.StartTime(), rec.EndTime())
		}
	}

	// The emitted record carries the send span's context onward.
	var out *kgo.Record
	for _, o := range outs {
		if string(o.Value) == "retry-enriched" {
			out = o
		}
	}
	if out == nil {
		t.Fatalf("no output for the first record: %v", outs)
	}
	carrier := propagation.MapCarrier{}
	for _, h := range out.Headers {
		carrier[h.Key] = string(h.Value)
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if sc.TraceID() != producer.SpanContext().TraceID() || sc.SpanID() != sends[0].SpanContext().SpanID() {
		t.Errorf("emitted record's traceparent %q, want trace %s span %s", carrier.Get("traceparent"),
			producer.SpanContext().TraceID(), sends[0].SpanContext().SpanID())
	}

	// The second record has no traceparent: a new trace. It waited for its
	// key while the first one ran.
	if next.Parent().IsValid() {
		t.Errorf("second record's span has parent %s", next.Parent().SpanID())
	}
	nextKids := tel.children(next.SpanContext())
	if len(nextKids) == 0 || nextKids[0].Name() != "wait for key" {
		t.Fatalf("children of the second record: %v", nextKids)
	}
	if d := nextKids[0].EndTime().Sub(nextKids[0].StartTime()); d < slow {
		t.Errorf("second record waited %s for its key, want at least %s", d, slow)
	}

	// Metrics.
	rm := tel.collect(t)
	m, ok := metricNamed(rm, tracing.MetricCallDuration)
	if !ok {
		t.Fatal("no call duration metric")
	}
	var calls uint64
	var maxSeconds float64
	for _, p := range m.Data.(metricdataHistogram).DataPoints {
		calls += p.Count
		if mx, ok := p.Max.Value(); ok {
			maxSeconds = max(maxSeconds, mx)
		}
	}
	if calls != 2 || maxSeconds < slow.Seconds() {
		t.Errorf("call duration: %d calls, max %gs; want 2 and at least %gs", calls, maxSeconds, slow.Seconds())
	}
	if n := sumInt(t, rm, tracing.MetricRetries); n != 1 {
		t.Errorf("retries %d, want 1", n)
	}
	if n := sumInt(t, rm, tracing.MetricReleased, attribute.String("riffle.outcome", "done")); n != 2 {
		t.Errorf("released %d, want 2", n)
	}
	if n := sumInt(t, rm, tracing.MetricInFlight, attribute.String("messaging.consumer.group.name", string(group))); n != 0 {
		t.Errorf("in flight %d after everything was released", n)
	}
}
