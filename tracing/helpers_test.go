package tracing_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/tracing"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is an in-process SDK setup: every span is sampled and kept by
// the recorder, metrics are collected on demand by the reader.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// tracing returns a Tracing that reports to tel.
func (tel *telemetry) tracing(t testing.TB, opts ...tracing.Option) *tracing.Tracing {
	t.Helper()
	tr, err := tracing.New(append([]tracing.Option{tracing.WithTracerProvider(tel.tp), tracing.WithMeterProvider(tel.mp)}, opts...)...)
	if err != nil {
		t.Fatalf("tracing.New: %v", err)
	}
	return tr
}

// ended returns the ended spans named name.
func (tel *telemetry) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// waitEnded polls until n spans named name have ended.
func (tel *telemetry) waitEnded(t testing.TB, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	var got []sdktrace.ReadOnlySpan
	await.Until(t, 30*time.Second, "spans "+name, func() bool {
		got = tel.ended(name)
		return len(got) >= n
	})
	return got
}

// children returns the ended spans whose parent is parent, sorted by start.
func (tel *telemetry) children(parent trace.SpanContext) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.Parent().SpanID() == parent.SpanID() && s.Parent().TraceID() == parent.TraceID() {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	return out
}

// collect reads the metrics.
func (tel *telemetry) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	return rm
}

// metricNamed finds a metric of riffle's scope.
func metricNamed(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sumInt adds the points of an Int64 sum or gauge whose attributes include
// every one of match.
func sumInt(t testing.TB, rm metricdata.ResourceMetrics, name string, match ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := metricNamed(rm, name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	var pts []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		pts = d.DataPoints
	case metricdata.Gauge[int64]:
		pts = d.DataPoints
	default:
		t.Fatalf("metric %s is %T", name, m.Data)
	}
	var n int64
	for _, p := range pts {
		if hasAll(p.Attributes, match) {
			n += p.Value
		}
	}
	return n
}

func hasAll(set attribute.Set, match []attribute.KeyValue) bool {
	for _, kv := range match {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// attr returns the attribute key of a span, and whether it is set.
func attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// wantAttrs fails unless s has every attribute of want.
func wantAttrs(t testing.TB, s sdktrace.ReadOnlySpan, want ...attribute.KeyValue) {
	t.Helper()
	for _, kv := range want {
		got, ok := attr(s, kv.Key)
		if !ok {
			t.Errorf("span %q: no attribute %s (have %v)", s.Name(), kv.Key, s.Attributes())
		} else if got != kv.Value {
			t.Errorf("span %q: %s = %v, want %v", s.Name(), kv.Key, got.String(), kv.Value.String())
		}
	}
}

// event returns the span's event named name.
func event(s sdktrace.ReadOnlySpan, name string) (sdktrace.Event, bool) {
	for _, e := range s.Events() {
		if e.Name == name {
			return e, true
		}
	}
	return sdktrace.Event{}, false
}

type metricdataHistogram = metricdata.Histogram[float64]

func eventAttr(e sdktrace.Event, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range e.Attributes {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

func itoa(p int32) string { return strconv.Itoa(int(p)) }
