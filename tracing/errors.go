package tracing

import "fmt"

// ConfigError reports an invalid setting found by New, or a failure to
// create an instrument.
type ConfigError struct {
	Problem string
	Err     error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("tracing: invalid configuration: %s: %v", e.Problem, e.Err)
	}
	return "tracing: invalid configuration: " + e.Problem
}

func (e *ConfigError) Unwrap() error { return e.Err }
