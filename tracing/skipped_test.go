package tracing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
	"go.opentelemetry.io/otel/attribute"
)

// Skipped records are counted, with why: a failed callback, or a write the
// broker refused; a dead letter written reduced is marked on the dead-letter
// counter.
func TestSkippedAndReducedDeadLetterMetrics(t *testing.T) {
	tel := newTelemetry(t)
	tr := tel.tracing(t)
	refused := asyncdsl.Refused(errors.New("MESSAGE_TOO_LARGE"))

	skip := newExecutor(t, tr, asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError))
	submit(t, skip, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Offset: 1, Key: "a"}}, func(context.Context, int) (asyncdsl.Apply, error) {
		return nil, errUnavailable
	})
	submit(t, skip, tr, asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Offset: 2, Key: "b"}}, func(context.Context, int) (asyncdsl.Apply, error) {
		return func(done func(error)) { done(refused) }, nil
	})

	// The dead letter's first write is refused, the reduced one written.
	dl, err := asyncdsl.New(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError), asyncdsl.WithHook(tr.Hook()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dl.Close() })
	writes := 0
	err = dl.Submit(context.Background(), asyncdsl.Task{
		Record: asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "in", Partition: 1, Offset: 3, Key: "c"}}, Ctx: context.Background(),
		Work: &asyncdsl.WorkFuncs{AttemptFunc: func(context.Context, int) (asyncdsl.Apply, error) { return nil, errUnavailable },
			DeadLetterFunc: func(context.Context, error) (asyncdsl.Apply, error) {
				writes++ // the executor calls DeadLetter one at a time
				first := writes == 1
				return func(done func(error)) {
					if first {
						done(refused)
						return
					}
					done(nil)
				}, nil
			},
			ReleaseFunc: func(asyncdsl.Outcome) {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*asyncdsl.Executor{skip, dl} {
		if err := e.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	rm := tel.collect(t)
	if n := sumInt(t, rm, tracing.MetricSkipped, tracing.KeyReason.String("error")); n != 1 {
		t.Errorf("skipped for an error: %d, want 1", n)
	}
	if n := sumInt(t, rm, tracing.MetricSkipped, tracing.KeyReason.String("refused")); n != 1 {
		t.Errorf("skipped for a refused write: %d, want 1", n)
	}
	if n := sumInt(t, rm, tracing.MetricDeadLetters, tracing.KeyReduced.Bool(true), attribute.String("messaging.destination.name", "in")); n != 1 {
		t.Errorf("reduced dead letters: %d, want 1", n)
	}
}
