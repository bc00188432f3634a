// Command tracing runs a two-group riffle pipeline on the embedded broker and
// exports its traces over OTLP/HTTP, by default to the local Jaeger that
// `make jaeger` starts. One order's inventory lookup fails once and is slow
// on its retry: open its trace (the command prints the query URL) to see
// where its time went. docs/tracing.md explains what the trace shows.
//
//	make jaeger                    # in one terminal
//	go run ./examples/tracing      # in another
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceContext is how the example's producer writes traceparent; the
// adapters use the same W3C format by default.
var traceContext = propagation.TraceContext{}

func main() {
	otlp := flag.String("otlp", "127.0.0.1:4318", "OTLP/HTTP endpoint (host:port) to export traces to")
	query := flag.String("query", "http://127.0.0.1:16686", "Jaeger query base URL, for the printed link")
	orders := flag.Int("orders", 20, "orders to produce")
	slow := flag.Duration("slow", 300*time.Millisecond, "latency of the slow order's retried lookup")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if err := run(ctx, *otlp, *query, *orders, *slow); err != nil {
		fmt.Fprintln(os.Stderr, "tracing example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, query string, orders int, slow time.Duration) error {
	providers, shutdown, err := otlpProviders(ctx, endpoint)
	if err != nil {
		return err
	}
	res, err := runPipeline(ctx, pipelineConfig{
		Orders: orders, SlowOrder: 3, Slow: slow, Latency: 2 * time.Millisecond,
		Provider: providers, Log: os.Stdout,
	})
	if serr := shutdown(context.Background()); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	fmt.Printf("slow order's trace: %s/api/traces/%s\n", query, res.SlowTraceID)
	fmt.Printf("all traces of the enricher: %s/api/traces?service=orders-enricher\n", query)
	return nil
}

// otlpProviders returns a tracer provider per service, all exporting to
// endpoint, and a function that flushes and stops them.
func otlpProviders(ctx context.Context, endpoint string) (func(string) trace.TracerProvider, func(context.Context) error, error) {
	var tps []*sdktrace.TracerProvider
	byService := map[string]*sdktrace.TracerProvider{}
	for _, service := range []string{"orders-producer", "orders-enricher", "orders-auditor"} {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
		if err != nil {
			return nil, nil, err
		}
		tp := sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
		)
		tps = append(tps, tp)
		byService[service] = tp
	}
	shutdown := func(ctx context.Context) error {
		var first error
		for _, tp := range tps {
			if err := tp.Shutdown(ctx); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	return func(service string) trace.TracerProvider { return byService[service] }, shutdown, nil
}
