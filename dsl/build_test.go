package dsl_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

func TestBuildErrors(t *testing.T) {
	pool := dsl.NewPool("p")
	tests := []struct {
		name  string
		build func(b *dsl.Builder)
		want  error
		where string // a substring the message must contain
	}{
		{"nil filter", func(b *dsl.Builder) {
			dsl.From(b, "in", codec.String()).Filter(nil).To("out", codec.String())
		}, dsl.ErrNilFunc, "step 1 (Filter)"},
		{"nil map", func(b *dsl.Builder) {
			dsl.MapValues[string, int64](dsl.From(b, "in", codec.String()), nil)
		}, dsl.ErrNilFunc, "step 1 (MapValues)"},
		{"empty source topic", func(b *dsl.Builder) {
			dsl.From(b, "", codec.String())
		}, dsl.ErrEmptyName, "step 0 (From)"},
		{"empty sink topic", func(b *dsl.Builder) {
			dsl.From(b, "in", codec.String()).To("", codec.String())
		}, dsl.ErrEmptyName, "step 1 (To)"},
		{"missing source codec", func(b *dsl.Builder) {
			dsl.From[string](b, "in", nil)
		}, dsl.ErrMissingCodec, "step 0 (From in)"},
		{"missing sink codec", func(b *dsl.Builder) {
			dsl.From(b, "in", codec.String()).To("out", nil)
		}, dsl.ErrMissingCodec, "step 1 (To out)"},
		{"missing repartition codec", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			dsl.MapValues(in, func(_ string, v string) []byte { return []byte(v) }).
				SelectKey(func(k string, _ []byte) string { return k }).GroupByKey().Count("n")
		}, dsl.ErrMissingCodec, "step 3 (Count n)"},
		{"missing reduce codec", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			dsl.MapValues(in, func(_ string, v string) int { return len(v) }).GroupByKey().Reduce("r", func(a, b int) int { return a + b })
		}, dsl.ErrMissingCodec, "step 2 (Reduce r)"},
		{"topic read twice", func(b *dsl.Builder) {
			dsl.From(b, "in", codec.String())
			dsl.From(b, "in", codec.String())
		}, dsl.ErrNameClash, "already read at step 0"},
		{"table declared twice", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			in.GroupByKey().Count("c")
			in.GroupByKey().Count("c")
		}, dsl.ErrNameClash, "step 2 (Count c)"},
		{"sink writes an internal topic", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			in.GroupByKey().Count("c")
			in.To("app-c-table", codec.String())
		}, dsl.ErrNameClash, "app-c-table"},
		{"async without pool", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			dsl.ProcessValues(in, func(*dsl.ValuesContext[string], string, string) error { return nil }).Async(nil)
		}, dsl.ErrAsync, "step 1 (ProcessValues)"},
		{"async twice", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			p := dsl.ProcessValues(in, func(*dsl.ValuesContext[string], string, string) error { return nil })
			p.Async(pool)
			p.Async(pool)
		}, dsl.ErrAsync, "twice"},
		{"async with invalid options", func(b *dsl.Builder) {
			in := dsl.From(b, "in", codec.String())
			dsl.ProcessValues(in, func(*dsl.ValuesContext[string], string, string) error { return nil }).Async(pool, asyncdsl.WithWorkers(-1))
		}, dsl.ErrAsync, `pool "p"`},
		{"store of two groups", func(b *dsl.Builder) {
			st := dsl.NewStore(b, "s", codec.Int64())
			f := func(*dsl.ValuesContext[string], string, string) error { return nil }
			dsl.ProcessValues(dsl.From(b, "a", codec.String()), f, dsl.WithStore(st))
			dsl.ProcessValues(dsl.From(b, "b", codec.String()), f, dsl.WithStore(st))
		}, dsl.ErrNameClash, "step 3 (ProcessValues s)"},
		{"stream of another builder", func(b *dsl.Builder) {
			other := dsl.NewBuilder("other")
			dsl.Merge(dsl.From(b, "in", codec.String()), dsl.From(other, "x", codec.String()))
		}, dsl.ErrForeignStream, "Merge"},
		{"no source", func(b *dsl.Builder) {}, dsl.ErrEmptyTopology, "reads no topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder("app")
			tc.build(b)
			topo, err := b.Build()
			if err == nil {
				t.Fatalf("Build succeeded:\n%s", topo.Describe())
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %q does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.where) {
				t.Fatalf("error %q does not say %q", err, tc.where)
			}
			var be *dsl.BuildError
			if tc.want != dsl.ErrEmptyTopology && !errors.As(err, &be) {
				t.Fatalf("error %q is not a *BuildError", err)
			}
		})
	}
}

// An out-of-range BuilderOption is a dsl *ConfigError wrapping
// ErrInvalidOption, among the other problems Build reports.
func TestInvalidOptionIsConfigError(t *testing.T) {
	b := dsl.NewBuilder("", dsl.WithErrorPolicy(asyncdsl.ErrorPolicy(9)))
	dsl.From(b, "in", codec.String()).To("out", codec.String())
	_, err := b.Build()
	// Build reports every problem, joined: find the invalid option's.
	var ce *dsl.ConfigError
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if errors.Is(e, dsl.ErrInvalidOption) {
				errors.As(e, &ce)
			}
		}
	}
	if ce == nil || ce.Package != "dsl" {
		t.Fatalf("Build = %v, want a dsl *ConfigError wrapping ErrInvalidOption", err)
	}
	if want := "dsl: invalid option: unknown error policy " + asyncdsl.ErrorPolicy(9).String(); ce.Error() != want {
		t.Errorf("ConfigError = %q, want %q", ce, want)
	}
	if !errors.Is(err, dsl.ErrEmptyName) {
		t.Errorf("Build = %v, want the empty application name too", err)
	}
}

// The builder's own settings (its application name, WithDeadLetterTopic)
// are configuration, reported like every package's: a *ConfigError that
// still matches its sentinel.
func TestEmptyBuilderNamesAreConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    *dsl.Builder
		want string
	}{
		{"application", dsl.NewBuilder(""), "dsl: empty name: application name is empty"},
		{"dead-letter topic", dsl.NewBuilder("app", dsl.WithDeadLetterTopic("")), "dsl: empty name: dead-letter topic is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dsl.From(tt.b, "in", codec.String()).To("out", codec.String())
			_, err := tt.b.Build()
			var ce *dsl.ConfigError
			if !errors.As(err, &ce) || !errors.Is(ce, dsl.ErrEmptyName) {
				t.Fatalf("Build = %v, want a *ConfigError wrapping ErrEmptyName", err)
			}
			if ce.Error() != tt.want {
				t.Errorf("ConfigError = %q, want %q", ce, tt.want)
			}
		})
	}
}

func TestBuildTwice(t *testing.T) {
	b := dsl.NewBuilder("app")
	dsl.From(b, "in", codec.String()).To("out", codec.String())
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(); !errors.Is(err, dsl.ErrBuilt) {
		t.Fatalf("second Build: %v", err)
	}
}

func TestBuildErrorsOfTopologyOptions(t *testing.T) {
	dlq := dsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)
	tests := []struct {
		name  string
		opts  []dsl.BuilderOption
		want  error
		where string
	}{
		{"empty dead-letter topic", []dsl.BuilderOption{dsl.WithDeadLetterTopic("")}, dsl.ErrEmptyName, "dead-letter topic"},
		{"unknown policy", []dsl.BuilderOption{dsl.WithErrorPolicy(asyncdsl.ErrorPolicy(9))}, dsl.ErrInvalidOption, "error policy"},
		{"dead letters to an input", []dsl.BuilderOption{dlq, dsl.WithDeadLetterTopic("in")}, dsl.ErrNameClash, "dead-letter topic"},
		{"dead letters to an output", []dsl.BuilderOption{dlq, dsl.WithDeadLetterTopic("out")}, dsl.ErrNameClash, "dead-letter topic"},
		{"dead letters to a table", []dsl.BuilderOption{dlq, dsl.WithDeadLetterTopic("app-c-table")}, dsl.ErrNameClash, "dead-letter topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder("app", tc.opts...)
			in := dsl.From(b, "in", codec.String())
			in.To("out", codec.String())
			in.GroupByKey().Count("c")
			topo, err := b.Build()
			if err == nil {
				t.Fatalf("Build succeeded:\n%s", topo.Describe())
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.where) {
				t.Fatalf("error %q does not wrap %v and say %q", err, tc.want, tc.where)
			}
		})
	}

	// One dead-letter topic for every group is fine.
	b := dsl.NewBuilder("app", dlq, dsl.WithDeadLetterTopic("app-rejects"))
	in := dsl.From(b, "in", codec.String())
	in.To("out", codec.String())
	in.SelectKey(func(_, v string) string { return v }).GroupByKey().Count("c")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range topo.Groups() {
		if g.DeadLetters != "app-rejects" {
			t.Errorf("group %s dead-letters to %q, want app-rejects", g.Name, g.DeadLetters)
		}
	}
}

// A nil BuilderOption, StepOption or RunOption is ignored, as in every riffle
// package.
func TestNilOptionsIgnored(t *testing.T) {
	b := dsl.NewBuilder("nilopts", nil)
	in := dsl.From(b, "in", codec.String())
	dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], _ string, v string) error {
		c.Forward(v)
		return nil
	}, nil).To("out", codec.String())
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build with nil options: %v", err)
	}
	tt := tester.New(t)
	r, err := topo.Start(context.Background(), nil, dsl.OnTester(tt), nil)
	if err != nil {
		t.Fatalf("Start with nil options: %v", err)
	}
	out := tt.NewQueueTracker("out")
	tt.Consume("in", "k", "v")
	if k, v, ok := out.Next(); !ok || k != "k" || v != "v" {
		t.Errorf("out = %q, %v, %v; want k, v", k, v, ok)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
