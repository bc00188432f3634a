package riffle

import (
	"cmp"
	"strings"
)

// ConfigError reports what a riffle constructor found wrong with its
// settings: every problem it found, and the error that caused them when
// there is one. Each package's ConfigError (asyncdsl.ConfigError,
// broker.ConfigError, dsl.ConfigError, gokaadapter.ConfigError,
// kafka.ConfigError, stores.ConfigError, tracing.ConfigError) is this type,
// so one errors.As with a *ConfigError matches a configuration error of any
// of them; Package says which package reported it. A ConfigError may wrap
// another, as gokaadapter's wraps the executor's and broker's wraps kafka's.
type ConfigError struct {
	// Package is the name of the package that reported the error
	// ("asyncdsl", "broker", "dsl", "gokaadapter", "kafka", "stores",
	// "tracing").
	Package string
	// Problems lists the invalid settings, one line each.
	Problems []string
	// Err is the cause, when one error carries it: the package's sentinel
	// for this kind of error (kafka.ErrInvalidSettings,
	// broker.ErrInvalidOption, dsl.ErrInvalidOption,
	// gokaadapter.ErrBuilderConflict), the executor's own ConfigError, the
	// failure to create an instrument; nil otherwise.
	Err error
}

// Error is "<package>: invalid configuration", then the problems separated by
// "; ", then the cause, each after ": ". A cause whose message starts with
// "<package>: " is the package's own sentinel, which names the error better
// than "invalid configuration": its message replaces that heading instead of
// repeating the package at the end ("kafka: invalid settings: no broker
// addresses").
func (e *ConfigError) Error() string {
	pkg := cmp.Or(e.Package, "riffle")
	head, cause := pkg+": invalid configuration", ""
	if e.Err != nil {
		cause = e.Err.Error()
		if strings.HasPrefix(cause, pkg+": ") {
			head, cause = cause, ""
		}
	}
	var b strings.Builder
	b.WriteString(head)
	if len(e.Problems) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Problems, "; "))
	}
	if cause != "" {
		b.WriteString(": ")
		b.WriteString(cause)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }
