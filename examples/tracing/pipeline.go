package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/tracing"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The example's topology, on the embedded broker:
//
//	producer ──orders──▶ enricher (async: inventory lookup, emits) ──orders-enriched──▶ auditor (async: audit insert)
//
// Every order is written under a producer span whose traceparent the record
// carries; the enricher continues that trace and passes it on to the
// auditor through the emitted record's headers.
const (
	ordersTopic   = goka.Stream("orders")
	enrichedTopic = goka.Stream("orders-enriched")
	enricherGroup = goka.Group("enricher")
	auditorGroup  = goka.Group("auditor")
)

// pipelineConfig sets the example's workload.
type pipelineConfig struct {
	Orders int
	// SlowOrder is the index of the order whose inventory lookup fails on
	// the first attempt and takes Slow on the second.
	SlowOrder int
	Slow      time.Duration
	// Latency is the inventory lookup's latency for the other orders.
	Latency time.Duration
	// Provider returns the tracer provider of a service ("orders-producer",
	// "orders-enricher", "orders-auditor").
	Provider func(service string) trace.TracerProvider
	Log      io.Writer
}

// pipelineResult names the trace of the slow order.
type pipelineResult struct {
	SlowKey     string
	SlowTraceID trace.TraceID
}

var errInventoryUnavailable = errors.New("inventory: unavailable")

// runPipeline runs the topology until every order went through both groups,
// then stops it.
func runPipeline(ctx context.Context, cfg pipelineConfig) (pipelineResult, error) {
	var res pipelineResult
	cluster, err := broker.Start(broker.WithPartitions(2))
	if err != nil {
		return res, err
	}
	defer cluster.Close()
	s := cluster.Settings()
	if err := s.EnsureTopics(ctx, string(ordersTopic), string(enrichedTopic)); err != nil {
		return res, err
	}

	newAdapter := func(service string) (*gokaadapter.Adapter, error) {
		tr, err := tracing.New(tracing.WithTracerProvider(cfg.Provider(service)), tracing.WithRecordKey())
		if err != nil {
			return nil, err
		}
		return gokaadapter.New(
			gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
			gokaadapter.WithProducerBuilder(s.KgoProducerBuilder()),
			gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
			gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
			gokaadapter.WithExecutor(asyncdsl.WithWorkers(8),
				asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: 20 * time.Millisecond})),
			gokaadapter.WithTracing(tr),
		)
	}

	slowKey := "order-" + strconv.Itoa(cfg.SlowOrder)
	res.SlowKey = slowKey
	enricher, err := newAdapter("orders-enricher")
	if err != nil {
		return res, err
	}
	enrich := func(gctx goka.Context, msg any) {
		ctx := gctx.Context()
		attempt := tracing.Attempt(ctx)
		latency := cfg.Latency
		if gctx.Key() == slowKey {
			latency = cfg.Slow
		}
		stock, err := tracing.CallValue(ctx, "", func(ctx context.Context) (int, error) {
			if gctx.Key() == slowKey && attempt == 1 {
				return 0, errInventoryUnavailable
			}
			select { // the remote call's latency
			case <-time.After(latency):
				return 7, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}, tracing.RPC("grpc", "inventory.Inventory", "Lookup"),
			tracing.Attributes(func() []attribute.KeyValue {
				return []attribute.KeyValue{attribute.String("inventory.sku", msg.(string))}
			}))
		if err != nil {
			gctx.Fail(err) // retried with backoff by the executor
		}
		gctx.Emit(enrichedTopic, gctx.Key(), fmt.Sprintf("%s stock=%d", msg, stock))
	}
	enricherProc, err := enricher.NewProcessor(s.Brokers, goka.DefineGroup(enricherGroup,
		goka.Input(ordersTopic, new(codec.String), enricher.Async(enrich)),
		goka.Output(enrichedTopic, new(codec.String)),
	))
	if err != nil {
		return res, err
	}

	auditor, err := newAdapter("orders-auditor")
	if err != nil {
		return res, err
	}
	var audited atomic.Int64
	audit := func(gctx goka.Context, _ any) {
		err := tracing.Call(gctx.Context(), "", func(ctx context.Context) error {
			select {
			case <-time.After(time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, tracing.DB("postgresql", "INSERT", "audit_log"))
		if err != nil {
			gctx.Fail(err)
		}
		audited.Add(1)
	}
	auditorProc, err := auditor.NewProcessor(s.Brokers, goka.DefineGroup(auditorGroup,
		goka.Input(enrichedTopic, new(codec.String), auditor.Async(audit)),
	))
	if err != nil {
		return res, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 2)
	for _, p := range []*gokaadapter.Processor{enricherProc, auditorProc} {
		go func() { errs <- p.Run(runCtx) }()
	}
	wait := func() error { // stops both processors and collects their errors
		stop()
		return errors.Join(<-errs, <-errs)
	}
	for _, p := range []*gokaadapter.Processor{enricherProc, auditorProc} {
		readyCtx, cancel := context.WithTimeout(runCtx, time.Minute)
		err := p.WaitForReadyContext(readyCtx)
		cancel()
		if err != nil {
			return res, errors.Join(err, wait())
		}
	}

	// The producer: one span per order, its context in the record's headers.
	cl, err := kgo.NewClient(s.KgoOptions()...)
	if err != nil {
		return res, errors.Join(err, wait())
	}
	defer cl.Close()
	tracer := cfg.Provider("orders-producer").Tracer("riffle-example")
	for i := range cfg.Orders {
		key := "order-" + strconv.Itoa(i)
		sctx, span := tracer.Start(ctx, "send "+string(ordersTopic), trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", string(ordersTopic))))
		headers := tracing.HeaderCarrier{}
		traceContext.Inject(sctx, headers)
		rec := &kgo.Record{Topic: string(ordersTopic), Key: []byte(key), Value: []byte("sku-" + strconv.Itoa(i%5))}
		for k, v := range headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: v})
		}
		err := cl.ProduceSync(ctx, rec).FirstErr()
		span.End()
		if err != nil {
			return res, errors.Join(err, wait())
		}
		if key == slowKey {
			res.SlowTraceID = span.SpanContext().TraceID()
		}
	}

	// Wait until the auditor saw every order, then until both executors
	// released everything (the last spans end at the release).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for audited.Load() < int64(cfg.Orders) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return res, errors.Join(ctx.Err(), wait())
		}
	}
	for _, a := range []*gokaadapter.Adapter{enricher, auditor} {
		if err := a.Executor().Drain(ctx); err != nil {
			return res, errors.Join(err, wait())
		}
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "processed %d orders; the slow one is %s, trace %s\n", cfg.Orders, slowKey, res.SlowTraceID)
	}
	return res, wait()
}
