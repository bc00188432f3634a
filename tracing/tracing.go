package tracing

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of riffle's tracer and meter.
const ScopeName = "github.com/riffle-streams/riffle/tracing"

// Tracing makes the spans and metrics of riffle's async records. Create it
// with New and pass it to gokaadapter.WithTracing. One Tracing may serve
// several adapters; it holds no per-processor state and needs no Close
// (ObserveExecutor registrations are undone by their owner).
type Tracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	parent     ParentMode
	recordKey  bool
	metrics    *instruments
}

// New validates the options and creates the tracer and the metric
// instruments.
func New(opts ...Option) (*Tracing, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	if cfg.propagator == nil {
		cfg.propagator = propagation.TraceContext{}
	}
	if cfg.parent != ContinueTrace && cfg.parent != LinkTrace {
		return nil, &ConfigError{Package: "tracing", Problems: []string{fmt.Sprintf("unknown parent mode %d", int(cfg.parent))}}
	}
	m, err := newInstruments(cfg.meterProvider.Meter(ScopeName))
	if err != nil {
		return nil, &ConfigError{Package: "tracing", Problems: []string{"creating metric instruments"}, Err: err}
	}
	return &Tracing{
		tracer:     cfg.tracerProvider.Tracer(ScopeName),
		propagator: cfg.propagator,
		parent:     cfg.parent,
		recordKey:  cfg.recordKey,
		metrics:    m,
	}, nil
}
