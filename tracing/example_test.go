package tracing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/tracing"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// exampleT is the tester.T of examples: failures panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }

// runTraced runs cb as the async callback of a group reading "orders" and
// writing "shipments", under goka's tester with tracing tr, consumes the
// given values under key "o1", and stops.
func runTraced(tr *tracing.Tracing, cb goka.ProcessCallback, values ...string) {
	tt := tester.New(exampleT{})
	async, err := gokaadapter.New(
		gokaadapter.WithTracing(tr),
		gokaadapter.WithTester(tt),
		gokaadapter.WithExecutor(asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond})),
	)
	if err != nil {
		panic(err)
	}
	proc, err := async.NewProcessor(nil, goka.DefineGroup("shipping",
		goka.Input("orders", new(codec.String), async.Async(cb)),
		goka.Output("shipments", new(codec.String)),
	))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	for _, v := range values {
		tt.Consume("orders", "o1", v)
	}
	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
}

// printTree prints the ended spans as a tree, children in the order they
// started.
func printTree(spans []sdktrace.ReadOnlySpan) {
	slices.SortFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, s := range spans {
			if s.Parent().SpanID().String() == parent {
				fmt.Printf("%s%s (%s)\n", strings.Repeat("  ", depth), s.Name(), s.SpanKind())
				walk(s.SpanContext().SpanID().String(), depth+1)
			}
		}
	}
	walk("0000000000000000", 0) // the roots
}

// Each record an async callback processes gets a span: the waits for its
// key and for a worker, its remote calls (Call), its write-back with one
// span per emitted record, until its offset is released. Here the spans go
// to an in-memory exporter; a program passes its OTLP one instead.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, err := tracing.New(tracing.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}

	ship := func(ctx goka.Context, msg any) {
		err := tracing.Call(ctx.Context(), "", func(ctx context.Context) error {
			return nil // the call to the carrier's service, with ctx
		}, tracing.HTTP("POST", "https://carrier.example/shipments"))
		if err != nil {
			ctx.Fail(err)
		}
		ctx.Emit("shipments", ctx.Key(), "shipped")
	}
	runTraced(tr, ship, "order")

	printTree(spans.Ended())
	// Output:
	// process orders (consumer)
	//   wait for key (internal)
	//   wait for worker (internal)
	//   POST (client)
	//   write-back (internal)
	//     send shipments (producer)
}

// A remote call that fails is retried by the executor: each attempt's call
// is a span of its own, with the attempt number and the error.
func ExampleCall() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, err := tracing.New(tracing.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}

	reserve := func(ctx goka.Context, msg any) {
		attempt := tracing.Attempt(ctx.Context())
		err := tracing.Call(ctx.Context(), "", func(ctx context.Context) error {
			if attempt == 1 {
				return errors.New("inventory: unavailable")
			}
			return nil
		}, tracing.RPC("grpc", "inventory.Inventory", "Reserve"))
		if err != nil {
			ctx.Fail(err) // retried
		}
	}
	runTraced(tr, reserve, "order")

	for _, s := range spans.Ended() {
		if s.Name() != "inventory.Inventory/Reserve" {
			continue
		}
		var attempt int64
		for _, kv := range s.Attributes() {
			if kv.Key == tracing.KeyAttempt {
				attempt = kv.Value.AsInt64()
			}
		}
		fmt.Printf("%s attempt %d: %s %s\n", s.Name(), attempt, s.Status().Code, s.Status().Description)
	}
	// Output:
	// inventory.Inventory/Reserve attempt 1: Error inventory: unavailable
	// inventory.Inventory/Reserve attempt 2: Unset
}

// Metrics go to the meter provider given with WithMeterProvider: here a
// manual reader collects them on demand.
func ExampleWithMeterProvider() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	tr, err := tracing.New(tracing.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}

	ship := func(ctx goka.Context, msg any) {
		if err := tracing.Call(ctx.Context(), "label", func(context.Context) error { return nil }); err != nil {
			ctx.Fail(err)
		}
		ctx.Emit("shipments", ctx.Key(), "shipped")
	}
	runTraced(tr, ship, "a", "b", "c")

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == tracing.MetricReleased {
					for _, p := range d.DataPoints {
						outcome, _ := p.Attributes.Value(tracing.KeyOutcome)
						fmt.Printf("%s{outcome=%s}: %d\n", m.Name, outcome.AsString(), p.Value)
					}
				}
			case metricdata.Histogram[float64]:
				if m.Name == tracing.MetricCallDuration {
					for _, p := range d.DataPoints {
						name, _ := p.Attributes.Value(tracing.KeyCallName)
						fmt.Printf("%s{%s=%s}: %d calls\n", m.Name, tracing.KeyCallName, name.AsString(), p.Count)
					}
				}
			}
		}
	}
	// Output:
	// riffle.call.duration{riffle.call.name=label}: 3 calls
	// riffle.record.released{outcome=done}: 3
}

// The inspection handler answers "why is my committed offset stuck?". Here
// the record at offset 10 of key "hot" is in a slow call: offset 12, of
// another key, is done but its commit is held back behind offset 10, and
// offset 11 waits for its key. A program mounts the handler on its admin
// server, with the adapter (or the executor) as the source.
func ExampleHandler() {
	e, err := asyncdsl.New(asyncdsl.WithWorkers(4))
	if err != nil {
		panic(err)
	}
	defer e.Close()

	slowCall := make(chan struct{})
	defer close(slowCall) // before Close: the call returns
	submit := func(offset int64, key string, call func(ctx context.Context)) {
		err := e.Submit(context.Background(), asyncdsl.Task{
			Record: asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "orders", Partition: 3, Offset: offset, Key: key}},
			Ctx:    context.Background(),
			Work: &asyncdsl.WorkFuncs{
				AttemptFunc: func(ctx context.Context, _ int) (asyncdsl.Apply, error) {
					call(ctx)
					return nil, nil
				},
				ReleaseFunc: func(asyncdsl.Outcome) {},
			},
		})
		if err != nil {
			panic(err)
		}
	}
	submit(10, "hot", func(ctx context.Context) {
		select {
		case <-slowCall:
		case <-ctx.Done():
		}
	})
	submit(11, "hot", func(context.Context) {})
	submit(12, "cold", func(context.Context) {})
	for deadline := time.Now().Add(30 * time.Second); ; { // until offset 12 is done
		if p := e.Stats().Partitions; len(p) == 1 && p[0].HeldBack == 1 {
			break
		}
		if time.Now().After(deadline) {
			panic("offset 12 was not done in time")
		}
		time.Sleep(time.Millisecond)
	}

	srv := httptest.NewServer(tracing.Handler(e))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?keys=5")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var in tracing.Inspection
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil {
		panic(err)
	}
	for _, p := range in.Partitions {
		fmt.Printf("%s/%d: commit waits for offset %d (key %q), %d offsets held back\n",
			p.Topic, p.Partition, p.WatermarkHead.Offset, p.WatermarkHead.Key, p.CommitLag)
		for _, k := range p.BlockedKeys {
			fmt.Printf("  key %q: %d records, the first (offset %d) %s\n", k.Key, k.Unreleased, k.HeadOffset, k.HeadState)
		}
	}
	// Output:
	// orders/3: commit waits for offset 10 (key "hot"), 3 offsets held back
	//   key "hot": 2 records, the first (offset 10) running
}
