package riffle

import "strings"

// ConfigError reports what a riffle constructor found wrong with its
// settings: every problem it found, and the error that caused them when
// there is one. Each package's ConfigError (asyncdsl.ConfigError,
// gokaadapter.ConfigError, stores.ConfigError, tracing.ConfigError) is this
// type, so one errors.As with a *ConfigError matches a configuration error
// of any of them; Package says which package reported it. A ConfigError may
// wrap another, as gokaadapter's wraps the executor's.
type ConfigError struct {
	// Package is the name of the package that reported the error
	// ("asyncdsl", "gokaadapter", "stores", "tracing").
	Package string
	// Problems lists the invalid settings, one line each.
	Problems []string
	// Err is the cause, when one error carries it (the executor's own
	// ConfigError, a sentinel such as gokaadapter.ErrBuilderConflict, the
	// failure to create an instrument); nil otherwise.
	Err error
}

// Error is "<package>: invalid configuration", then the problems separated by
// "; ", then the cause, each after ": ".
func (e *ConfigError) Error() string {
	pkg := e.Package
	if pkg == "" {
		pkg = "riffle"
	}
	var b strings.Builder
	b.WriteString(pkg)
	b.WriteString(": invalid configuration")
	if len(e.Problems) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Problems, "; "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }
