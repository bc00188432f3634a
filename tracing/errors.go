package tracing

import "github.com/riffle-streams/riffle"

// ConfigError is riffle.ConfigError, the one type of every riffle
// package's configuration errors: errors.As with it matches theirs too.
// Package is "tracing" in the ones this package reports.
type ConfigError = riffle.ConfigError
