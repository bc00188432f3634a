package tracing

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ParentMode says how a record's span relates to the trace of the producer
// that wrote the record.
type ParentMode int

const (
	// ContinueTrace makes the record's span a child of the span named by
	// the record's traceparent header: producer and consumer share one
	// trace. The default.
	ContinueTrace ParentMode = iota
	// LinkTrace starts a new trace per record and links it to the
	// producer's span: fits when one producer trace would fan out to very
	// many records, or when producer and consumer traces are sampled
	// differently.
	LinkTrace
)

func (m ParentMode) String() string {
	switch m {
	case ContinueTrace:
		return "continue"
	case LinkTrace:
		return "link"
	default:
		return "unknown"
	}
}

// config is the validated configuration of a Tracing.
type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
	parent         ParentMode
	recordKey      bool
}

// Option configures a Tracing. A nil option is ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets where spans go. Default: the global provider
// (otel.GetTracerProvider at New), which does nothing unless the program
// installed one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets where metrics go. Default: the global provider
// (otel.GetMeterProvider at New), which does nothing unless the program
// installed one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithPropagator sets how trace context is read from and written to record
// headers. Default: W3C trace context (traceparent, tracestate) only. The
// global propagator is not used: it is empty unless a program sets it, and
// records would then silently lose their traces.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.propagator = p })
}

// WithParentMode sets whether a record's span continues the producer's
// trace (ContinueTrace, the default) or starts a new trace linked to it
// (LinkTrace).
func WithParentMode(m ParentMode) Option { return optionFunc(func(c *config) { c.parent = m }) }

// WithRecordKey adds the record key to each record's span as
// messaging.kafka.message.key. Off by default: keys often identify people
// or accounts. Record values never appear in spans.
func WithRecordKey() Option { return optionFunc(func(c *config) { c.recordKey = true }) }
