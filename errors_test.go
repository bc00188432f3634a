package riffle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/riffle-streams/riffle/stores"
	"github.com/riffle-streams/riffle/tracing"
)

// One errors.As with a *riffle.ConfigError matches the configuration error of
// every package, and Package names the package that found the problem.
func TestConfigErrorOfEveryPackage(t *testing.T) {
	tests := []struct {
		pkg   string
		build func() error
	}{
		{"asyncdsl", func() error {
			e, err := asyncdsl.New(asyncdsl.WithWorkers(0))
			if err == nil {
				_ = e.Close()
			}
			return err
		}},
		{"broker", func() error {
			c, err := broker.Start(broker.WithPort(-1))
			if err == nil {
				c.Close()
			}
			return err
		}},
		{"dsl", func() error {
			b := dsl.NewBuilder("app", dsl.WithErrorPolicy(asyncdsl.ErrorPolicy(9)))
			dsl.From(b, "in", codec.String()).To("out", codec.String())
			_, err := b.Build()
			return err
		}},
		{"gokaadapter", func() error {
			a, err := gokaadapter.New(gokaadapter.WithRejoin(gokaadapter.Rejoin{MaxAttempts: -1}))
			if err == nil {
				_ = a.Close()
			}
			return err
		}},
		{"kafka", func() error {
			_, err := kafka.Remote(nil)
			return err
		}},
		{"stores", func() error {
			_, err := stores.NewMemoryWindow(0)
			return err
		}},
		{"tracing", func() error {
			_, err := tracing.New(tracing.WithParentMode(7))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			err := tt.build()
			var ce *riffle.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v (%T), want a *riffle.ConfigError", err, err)
			}
			if ce.Package != tt.pkg {
				t.Errorf("Package = %q, want %q (error: %v)", ce.Package, tt.pkg, err)
			}
		})
	}
}

func TestConfigErrorMessage(t *testing.T) {
	cause := errors.New("the cause")
	tests := []struct {
		name string
		err  *riffle.ConfigError
		want string
	}{
		{"problems", &riffle.ConfigError{Package: "asyncdsl", Problems: []string{"workers must be >= 1", "unknown error policy 9"}},
			"asyncdsl: invalid configuration: workers must be >= 1; unknown error policy 9"},
		{"problem and cause", &riffle.ConfigError{Package: "tracing", Problems: []string{"creating metric instruments"}, Err: cause},
			"tracing: invalid configuration: creating metric instruments: the cause"},
		{"cause only", &riffle.ConfigError{Package: "gokaadapter", Err: cause},
			"gokaadapter: invalid configuration: the cause"},
		{"no package", &riffle.ConfigError{Problems: []string{"p"}},
			"riffle: invalid configuration: p"},
		{"the package's sentinel", &riffle.ConfigError{Package: "kafka", Problems: []string{"no broker addresses", "p"}, Err: kafka.ErrInvalidSettings},
			"kafka: invalid settings: no broker addresses; p"},
		{"another package's error", &riffle.ConfigError{Package: "broker", Problems: []string{"p"}, Err: kafka.ErrInvalidSettings},
			"broker: invalid configuration: p: kafka: invalid settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(&riffle.ConfigError{Package: "x", Err: cause}, cause) {
		t.Error("a ConfigError does not unwrap to its cause")
	}
}

// The gokaadapter's error for bad executor options wraps the executor's own.
func TestConfigErrorWrapsThePackageThatFoundIt(t *testing.T) {
	a, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithCallTimeout(-time.Second)))
	if err == nil {
		_ = a.Close()
		t.Fatal("New accepted a negative call timeout")
	}
	var outer *riffle.ConfigError
	if !errors.As(err, &outer) || outer.Package != "gokaadapter" {
		t.Fatalf("New: %v, want a gokaadapter ConfigError", err)
	}
	var inner *riffle.ConfigError
	if !errors.As(outer.Err, &inner) || inner.Package != "asyncdsl" {
		t.Fatalf("the cause of %v is not the executor's ConfigError", err)
	}
}
