package gokaadapter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
)

// Misconfigurations are errors from New and NewProcessor, never panics.
func TestMisconfiguration(t *testing.T) {
	t.Run("invalid executor options", func(t *testing.T) {
		a, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithWorkers(0)))
		if err == nil {
			_ = a.Close()
			t.Fatal("New accepted 0 workers")
		}
		var ce *gokaadapter.ConfigError
		var ace *asyncdsl.ConfigError
		if !errors.As(err, &ce) || ce.Package != "gokaadapter" || !errors.As(ce.Err, &ace) || ace.Package != "asyncdsl" {
			t.Fatalf("New: %v (%T), want a *gokaadapter.ConfigError wrapping an *asyncdsl.ConfigError", err, err)
		}
	})

	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	const input = goka.Stream("config-in")
	kafkatest.EnsureTopics(t, s, input)
	noop := func(goka.Context, any) {}

	t.Run("nil graph", func(t *testing.T) {
		a := adapterFor(t, s)
		defer a.Close()
		var ce *gokaadapter.ConfigError
		if _, err := a.NewProcessor(s.Brokers, nil); !errors.As(err, &ce) {
			t.Fatalf("NewProcessor(nil graph): %v, want a *gokaadapter.ConfigError", err)
		}
	})

	t.Run("invalid graph", func(t *testing.T) {
		a := adapterFor(t, s)
		defer a.Close()
		g := goka.DefineGroup("config-invalid", goka.Output("config-out", new(codec.String))) // no input
		var ce *gokaadapter.ConfigError
		if _, err := a.NewProcessor(s.Brokers, g); !errors.As(err, &ce) {
			t.Fatalf("NewProcessor(graph without input): %v, want a *gokaadapter.ConfigError", err)
		}
	})

	t.Run("no wrapped callback", func(t *testing.T) {
		a := adapterFor(t, s)
		defer a.Close()
		g := goka.DefineGroup("config-plain", goka.Input(input, new(codec.String), noop))
		if _, err := a.NewProcessor(s.Brokers, g); !errors.Is(err, gokaadapter.ErrNoAsyncCallback) {
			t.Fatalf("NewProcessor(no wrapped callback): %v, want ErrNoAsyncCallback", err)
		}
	})

	t.Run("adapter reused", func(t *testing.T) {
		a := adapterFor(t, s)
		defer a.Close()
		g := goka.DefineGroup("config-reuse", goka.Input(input, new(codec.String), a.Async(noop)))
		if _, err := a.NewProcessor(s.Brokers, g); err != nil {
			t.Fatalf("first NewProcessor: %v", err)
		}
		if _, err := a.NewProcessor(s.Brokers, g); !errors.Is(err, gokaadapter.ErrAdapterInUse) {
			t.Fatalf("second NewProcessor: %v, want ErrAdapterInUse", err)
		}
	})
}

// An async callback that uses state in a group without goka.Persist is not
// found when the processor is built (the callback's code is opaque): the
// first Value, SetValue or Delete fails the record with ErrStateless, which
// then goes through the error policy. Under the default policy the processor
// stops with that error. (goka itself panics in the callback, which stops
// the processor the same way.)
func TestAsyncStateWithoutPersistFailsAtRuntime(t *testing.T) {
	const (
		group = goka.Group("stateless")
		input = goka.Stream("stateless-in")
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	kafkatest.EnsureTopics(t, s, input)
	a := adapterFor(t, s)
	g := goka.DefineGroup(group,
		goka.Input(input, new(codec.String), a.Async(func(ctx goka.Context, _ any) {
			ctx.SetValue("x") // no goka.Persist in the group
		})),
	)
	proc, err := a.NewProcessor(s.Brokers, g)
	if err != nil {
		t.Fatalf("NewProcessor: %v (the misuse is only found at runtime)", err)
	}
	r := run(t, proc)
	kafkatest.Produce(t, kafkatest.Client(t, s), seqRecord(string(input), "k1", 1))
	err = r.wait(t, 30*time.Second)
	if !errors.Is(err, gokaadapter.ErrStateless) {
		t.Fatalf("Run: %v, want an error wrapping ErrStateless", err)
	}
	if !strings.Contains(err.Error(), string(input)+"/") {
		t.Errorf("Run's error does not name the record: %v", err)
	}
}

// A nil Option is ignored, as in every riffle package.
func TestNewIgnoresNilOptions(t *testing.T) {
	a, err := gokaadapter.New(nil, gokaadapter.WithExecutor(nil, asyncdsl.WithWorkers(2)), nil)
	if err != nil {
		t.Fatalf("New with nil options: %v", err)
	}
	_ = a.Close()
}
