package tracing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkTracedRecord measures what tracing adds per record on the
// executor alone: submit, one attempt with one Call, a write-back with one
// send, release. "off" is the adapter's path with tracing off (a nil
// Tracing); "sampled" records every span with the SDK (exported to a no-op
// exporter) and every metric; "unsampled" uses the SDK with a sampler that
// drops every trace, and records metrics.
func BenchmarkTracedRecord(b *testing.B) {
	for _, mode := range []string{"off", "unsampled", "sampled"} {
		b.Run(mode, func(b *testing.B) {
			var tr *tracing.Tracing
			if mode != "off" {
				sampler := sdktrace.AlwaysSample()
				if mode == "unsampled" {
					sampler = sdktrace.NeverSample()
				}
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler),
					sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter())))
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
				var err error
				if tr, err = tracing.New(tracing.WithTracerProvider(tp), tracing.WithMeterProvider(mp)); err != nil {
					b.Fatal(err)
				}
			}
			benchTraced(b, tr)
		})
	}
}

func benchTraced(b *testing.B, tr *tracing.Tracing) {
	var opts []asyncdsl.Option
	if tr != nil {
		opts = append(opts, asyncdsl.WithHook(tr.Hook()))
	}
	e, err := asyncdsl.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const partitions, keys = 4, 1024
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("key-%d", i)
	}
	var released atomic.Int64
	release := func(asyncdsl.Outcome) { released.Add(1) }
	call := func(context.Context) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range partitions {
		n := b.N / partitions
		if p < b.N%partitions {
			n++
		}
		wg.Go(func() {
			for i := range n {
				r := asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: int32(p), Offset: int64(i), Key: names[(i*7+p)%keys]}}
				rec := tr.StartRecord(tracing.Message{Group: "g", Coordinates: r.Coordinates})
				if rec != nil {
					r.Trace = rec
				}
				err := e.Submit(ctx, asyncdsl.Task{Record: r, Ctx: ctx, Work: &asyncdsl.WorkFuncs{ReleaseFunc: release,
					AttemptFunc: func(actx context.Context, n int) (asyncdsl.Apply, error) {
						actx = rec.AttemptContext(actx, n)
						if err := tracing.Call(actx, "lookup", call); err != nil {
							return nil, err
						}
						return rec.WriteBack(func(done func(error)) {
							_, sent := rec.Send("out", nil)
							if sent != nil {
								sent(nil)
							}
							done(nil)
						}, 1), nil
					}}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := e.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if released.Load() != int64(b.N) {
		b.Fatalf("released %d of %d", released.Load(), b.N)
	}
}
